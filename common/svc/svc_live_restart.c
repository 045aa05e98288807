/* svc_live_restart.c — a restart in place (see svc_live.h): the old image, after its whole
 * teardown, re-executes the same program with the listening socket left open (the only
 * descriptor above 2 that survives the exec) and tells the new image about it in the
 * environment; the new image adopts it when its address and port are still the configured
 * ones. Connections that arrive in between wait in the socket's backlog: none is refused.
 */
#include "svc_live.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cqexit.h"

extern char **environ;

#define SVC_LIVE_SELF "/proc/self/exe"

/* Marks every descriptor from 3 up close-on-exec (close_range, else /proc/self/fd). */
static void cloexec_all(void)
{
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    for (int fd = 3; fd < 65536; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
    }
}

int svc_live_reexec(svc_live_t *l, char **argv, int listen_fd, const char *host, int port, const clog_t *log)
{
    char fdv[48], lis[320], cnt[48], why[1100], gen[64];
    const char *reason = l != NULL ? svc_live_pending(l) : NULL;
    size_t n = 0, k = 0;
    while (environ[n] != NULL)
        n++;
    char **envp = calloc(n + 6, sizeof *envp);
    if (envp == NULL) {
        clog_error(log, "restart in place: out of memory");
        return CQ_EXIT_SOFTWARE;
    }
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "CQ_RESTART", 10) != 0)
            envp[k++] = environ[i];
    snprintf(cnt, sizeof cnt, "CQ_RESTARTS=%d", (l != NULL ? svc_live_restarts(l) : 0) + 1);
    envp[k++] = cnt;
    snprintf(why, sizeof why, "CQ_RESTART_REASON=%s", reason != NULL ? reason : "requested");
    envp[k++] = why;
    long long g = l != NULL ? svc_live_pending_generation(l) : -1;
    if (g >= 0) { /* the new image waits for a config-server that serves at least this */
        snprintf(gen, sizeof gen, "CQ_RESTART_MIN_GENERATION=%lld", g);
        envp[k++] = gen;
    }
    if (listen_fd >= 0) {
        snprintf(fdv, sizeof fdv, "CQ_RESTART_LISTEN_FD=%d", listen_fd);
        snprintf(lis, sizeof lis, "CQ_RESTART_LISTEN=%s:%d", host != NULL ? host : "0.0.0.0", port);
        envp[k++] = fdv;
        envp[k++] = lis;
    }
    envp[k] = NULL;
    cloexec_all();
    if (listen_fd >= 0 && fcntl(listen_fd, F_SETFD, 0) != 0)
        clog_warn(log, "restart in place: the listening socket cannot be kept (%s): clients may be refused",
                  strerror(errno));
    clog_info(log, "restart in place: re-executing %s (restart %d)%s", argv[0],
              (l != NULL ? svc_live_restarts(l) : 0) + 1,
              listen_fd >= 0 ? ", listening socket kept open" : "");
    fflush(stderr);
    execve(SVC_LIVE_SELF, argv, envp);
    clog_error(log, "restart in place: exec %s failed: %s", SVC_LIVE_SELF, strerror(errno));
    free(envp);
    return CQ_EXIT_SOFTWARE;
}

int svc_live_inherited_listener(const char *host, int port, const clog_t *log)
{
    const char *fds = getenv("CQ_RESTART_LISTEN_FD"), *lis = getenv("CQ_RESTART_LISTEN");
    char lhost[256] = "";
    int fd = fds != NULL ? atoi(fds) : -1, lport = -1;
    if (fd <= 2 || fcntl(fd, F_GETFD) < 0)
        return 0;
    const char *colon = lis != NULL ? strrchr(lis, ':') : NULL;
    if (colon != NULL) {
        snprintf(lhost, sizeof lhost, "%.*s", (int)(colon - lis), lis);
        lport = atoi(colon + 1);
    }
    if (host == NULL)
        host = "0.0.0.0";
    if ((port == 0 || port == lport) && strcmp(host, lhost) == 0)
        return fd;
    clog_warn(log,
              "restart in place: the listening address changed (%s:%d → %s:%d); the old socket is closed "
              "(connections waiting on it are refused) and the new one bound",
              lhost, lport, host, port);
    close(fd);
    return 0;
}

const char *svc_live_restart_reason(void)
{
    const char *r = getenv("CQ_RESTART_REASON");
    return r != NULL && *r != '\0' ? r : NULL;
}
