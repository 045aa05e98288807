/* it_cfgcli_srv.c — starts and stops a private config-server for the config client's
 * integration tests (see it_cfgcli_srv.h). Every address is local: 127.0.0.1 and a port
 * found free at run time.
 */
#include "it_cfgcli_srv.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ts.h"

static int copy_file(const char *from, const char *to)
{
    int rc = -1;
    FILE *in = fopen(from, "rb"), *out = NULL;
    char buf[8192];
    size_t n;
    if (in == NULL || (out = fopen(to, "wb")) == NULL)
        goto cleanup;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            goto cleanup;
    rc = ferror(in) ? -1 : 0;
cleanup:
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

int itsrv_prepare(itsrv_t *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/it_cfgcli.XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    snprintf(s->repo, sizeof s->repo, "%s/repo", s->dir);
    if (mkdir(s->repo, 0700) != 0)
        return -1;
    char src[512];
    snprintf(src, sizeof src, "%s/config-repo", ts_env("CQ_SOURCE_DIR", "."));
    DIR *d = opendir(src);
    if (d == NULL)
        return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".yml") != 0)
            continue;
        char f[800], t[800];
        snprintf(f, sizeof f, "%s/%s", src, e->d_name);
        snprintf(t, sizeof t, "%s/%s", s->repo, e->d_name);
        if (copy_file(f, t) != 0)
            rc = -1;
    }
    closedir(d);
    s->port = ts_free_port();
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    return s->port > 0 ? rc : -1;
}

int itsrv_spawn(itsrv_t *s)
{
    char bin[512], port[16], log[400];
    const char *args[] = {"--repo",     s->repo, "--port", port, "--host", "127.0.0.1", "--credentials-file",
                          s->cred_file, NULL};
    snprintf(bin, sizeof bin, "%s/config-server", ts_env("CQ_BIN_DIR", "./bin"));
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    if (s->cred_file[0] == '\0')
        args[6] = NULL;
    s->pid = ts_spawn_bin(bin, args, NULL, NULL, log, log, 1);
    return s->pid > 0 ? 0 : -1;
}

int itsrv_wait_ready(const itsrv_t *s, long timeout_ms)
{
    return ts_wait_status(s->port, "/actuator/health", 200, timeout_ms, s->pid) == 200 ? 0 : -1;
}

int itsrv_stop(itsrv_t *s)
{
    int rc = ts_term(s->pid, 5000);
    s->pid = 0;
    return rc;
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                rm_tree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

void itsrv_destroy(itsrv_t *s)
{
    if (s->pid > 0)
        itsrv_stop(s);
    if (s->dir[0] && getenv("CQ_KEEP_TMP") == NULL)
        rm_tree(s->dir);
}
