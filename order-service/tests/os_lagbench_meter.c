/* os_lagbench_meter.c — os_lagbench's lag meters besides the poll (see os_lagbench.c): the
 * commit-timestamp meter's check, the meter's own cost (its thread's CPU and its PostgreSQL
 * backend's, read from /proc when that backend runs on this host) and the lags file. */
#include "os_lagbench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

int64_t lb_now_rt_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double lb_thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int lb_meter_check(PGconn *pg)
{
    PGresult *res = PQexec(pg, "SHOW track_commit_timestamp");
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "on") == 0;
    if (!ok)
        fprintf(stderr, "os_lagbench: --meter commit-ts needs track_commit_timestamp=on on the "
                        "PostgreSQL server (a restart-class setting)\n");
    PQclear(res);
    return ok ? 0 : -1;
}

double lb_backend_cpu_s(PGconn *pg)
{
    char path[64], comm[32] = "", buf[1024];
    int pid = PQbackendPID(pg);
    double s = -1;
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    if (fgets(comm, sizeof comm, f) == NULL || strncmp(comm, "postgres", 8) != 0) {
        fclose(f); /* not this host's PostgreSQL (a remote server): unknown */
        return -1;
    }
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    if (fgets(buf, sizeof buf, f) != NULL) {
        const char *p = strrchr(buf, ')'); /* fields after the command name: state is 3rd */
        unsigned long long ut = 0, st = 0;
        if (p != NULL &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
            s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    fclose(f);
    return s;
}

int lb_write_lags(const char *path, const int64_t *lags, long n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    for (long i = 0; i < n; i++)
        fprintf(f, "%.3f\n", (double)lags[i] / 1e6);
    return fclose(f) == 0 ? 0 : -1;
}
