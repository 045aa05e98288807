/* metrics_proc.c — process metrics from /proc/self. See metrics_proc.h. */
#include "metrics_proc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int metrics_proc_declare(metrics_t *m, const char *program, const char *version)
{
    char name[128], labels[160], v[96];
    size_t i;
    if (m == NULL)
        return 0;
    snprintf(name, sizeof name, "%s_build_info", program);
    for (i = 0; name[i] != '\0'; i++)
        if (name[i] == '-' || name[i] == '.')
            name[i] = '_';
    if (metrics_declare(m, name, METRICS_GAUGE, "Always 1; the version of the running program.", NULL, 0) ||
        metrics_declare(m, "process_cpu_seconds_total", METRICS_COUNTER, "User and system CPU time spent.",
                        NULL, 0) ||
        metrics_declare(m, "process_resident_memory_bytes", METRICS_GAUGE, "Resident memory size.", NULL,
                        0) ||
        metrics_declare(m, "process_virtual_memory_bytes", METRICS_GAUGE, "Virtual memory size.", NULL, 0) ||
        metrics_declare(m, "process_open_fds", METRICS_GAUGE, "Open file descriptors.", NULL, 0) ||
        metrics_declare(m, "process_max_fds", METRICS_GAUGE, "The limit of open file descriptors.", NULL,
                        0) ||
        metrics_declare(m, "process_start_time_seconds", METRICS_GAUGE,
                        "Start time of the process since the epoch.", NULL, 0) ||
        metrics_declare(m, "process_threads", METRICS_GAUGE, "Threads of the process.", NULL, 0))
        return -1;
    snprintf(labels, sizeof labels, "version=\"%s\"", metrics_label_escape(version, v, sizeof v));
    return metrics_set(m, name, labels, 1);
}

/* Open descriptors: the entries of /proc/self/fd, less the one the listing itself holds. */
static long open_fds(void)
{
    long n = 0;
    struct dirent *e;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

void metrics_proc_update(metrics_t *m)
{
    char buf[1024], *p;
    unsigned long utime = 0, stime = 0, vsize = 0;
    unsigned long long start = 0;
    long threads = 0, rss = 0, tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE), fds;
    double boot = 0;
    struct rlimit rl;
    size_t len;
    FILE *f;
    if (m == NULL || tick <= 0)
        return;
    f = fopen("/proc/self/stat", "r");
    if (f == NULL)
        return;
    len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* after "pid (comm) " — comm may hold spaces and parentheses: the last ')' ends it */
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %ld %*d %llu %lu %ld",
               &utime, &stime, &threads, &start, &vsize, &rss) != 6)
        return;
    f = fopen("/proc/stat", "r");
    if (f != NULL) {
        while (fgets(buf, sizeof buf, f) != NULL)
            if (strncmp(buf, "btime ", 6) == 0) {
                boot = strtod(buf + 6, NULL);
                break;
            }
        fclose(f);
    }
    metrics_raise(m, "process_cpu_seconds_total", NULL, (double)(utime + stime) / (double)tick);
    metrics_set(m, "process_resident_memory_bytes", NULL, (double)rss * (double)page);
    metrics_set(m, "process_virtual_memory_bytes", NULL, (double)vsize);
    metrics_set(m, "process_threads", NULL, (double)threads);
    if (boot > 0)
        metrics_set(m, "process_start_time_seconds", NULL, boot + (double)start / (double)tick);
    fds = open_fds();
    if (fds >= 0)
        metrics_set(m, "process_open_fds", NULL, (double)fds);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        metrics_set(m, "process_max_fds", NULL, (double)rl.rlim_cur);
}
