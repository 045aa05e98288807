/* cs_it.h — what the config-server integration tests share: start the real binary
 * ($CQ_BIN_DIR, default the build's bin/) on a copy of the fixture repo on a free
 * 127.0.0.1 port, requests with libcurl (paths sent exactly as given), the server's log,
 * and SIGTERM → exit 0. Failures fail the current cmocka test.
 */
#ifndef CS_IT_H
#define CS_IT_H

#include <stddef.h>
#include <sys/types.h>

#include "dbuf.h"

typedef struct srv {
    pid_t pid;
    int port;
    char dir[256]; /* temp dir holding repo/ */
    char repo[300];
    char log[300]; /* the server's stderr (its JSON-lines log) */
    int tls;       /* started with CONFIG_SERVER_SSL_CERTIFICATE: requests go to https://localhost */
    char ca[300];  /* CONFIG_SERVER_SSL_TRUST_CERTIFICATE: also the CA of the server's certificate */
    char cert[300], key[300]; /* a client certificate requests present ("": none) */
} csit_srv_t;

typedef struct resp {
    long status;
    dbuf_t body;
    dbuf_t hdrs;
} csit_resp_t;

/* GET with the path sent exactly as given (no dot-segment squashing). */
void csit_get(const csit_srv_t *s, const char *path, const char *const *hdrs, csit_resp_t *r);
/* POST `body` with a Content-Type and optional header lines (`auth`: "Authorization: …",
 * several separated by '\n', or NULL). */
void csit_post(const csit_srv_t *s, const char *path, const char *ctype, const char *auth, const char *body,
               csit_resp_t *r);
void csit_resp_free(csit_resp_t *r);
/* The status of GET `path`; fails the test when `needle` (may be NULL) is not in the body. */
long csit_status(const csit_srv_t *s, const char *path, const char *needle);
/* Writes a repo file atomically (temp + rename, as editors and ConfigMaps do). */
void csit_write(const csit_srv_t *s, const char *name, const char *text, size_t len);
/* Starts the server; `extra_env` entries like "CONFIG_SERVER_USER=u", `extra_args`
 * further options (both NULL-terminated, may be NULL); with "--repo-uri" among them the
 * folder copy is not served (the git backend); "--port N" among them replaces the free
 * port picked otherwise; with CONFIG_SERVER_SSL_CERTIFICATE (and _TRUST_CERTIFICATE, the CA
 * of both ends) among the environment, requests go over TLS. Waits for /health. */
void csit_start(csit_srv_t *s, const char *const *extra_env, const char *const *extra_args);
/* SIGTERM, expect exit 0 within 6 s; removes the temp dir. */
void csit_stop(csit_srv_t *s);
/* 1 when the server's log file has a line containing both `a` and `b`. */
int csit_log_has(const csit_srv_t *s, const char *a, const char *b);
/* The credentials-file hash of `pw` made by the binary's hash-password (10,000 iterations,
 * the minimum: fast tests) into out; fails the test otherwise. */
void csit_hash_password(const char *pw, char *out, size_t size);
/* Polls `path` until its body contains `needle`; returns the elapsed ms or -1. */
long long csit_wait_for(const csit_srv_t *s, const char *path, const char *needle, long long limit_ms);

#endif
