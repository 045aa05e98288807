/* it_cfgcli_srv.h — for the config client's integration tests: runs a private instance
 * of the REAL config-server ($CQ_BIN_DIR/config-server --repo DIR --port N) on a copy of
 * config-repo/ in a temp dir, on a free port of its own.
 */
#ifndef CQ_IT_CFGCLI_SRV_H
#define CQ_IT_CFGCLI_SRV_H

#include <sys/types.h>

typedef struct itsrv {
    char dir[256];  /* temp dir: repo/ (copy of config-repo), server.log */
    char repo[300]; /* dir/repo */
    int port;
    pid_t pid; /* 0 when not running */
    char url[64];
    char cred_file[320]; /* when set: passed as --credentials-file */
} itsrv_t;

/* Makes the temp dir and copies $CQ_SOURCE_DIR/config-repo/ (the .yml files) into it; picks a port.
 * 0 or -1. */
int itsrv_prepare(itsrv_t *s);
/* Starts the server (not waiting). 0 or -1. */
int itsrv_spawn(itsrv_t *s);
/* Waits until GET /actuator/health answers 200 (up to timeout_ms). 0 or -1. */
int itsrv_wait_ready(const itsrv_t *s, long timeout_ms);
/* SIGTERM, wait (then SIGKILL after 5 s). Its exit code (128 + signal; -1 when killed). */
int itsrv_stop(itsrv_t *s);
/* Stops and removes the temp dir. */
void itsrv_destroy(itsrv_t *s);

#endif
