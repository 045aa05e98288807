/* svc.h — the process glue customer-service and order-service share around their own
 * wiring (so it exists once): the command line (--help, --version, commands), the
 * configuration fetch with the fail-fast exit codes, the log level, the health and metrics
 * endpoints with the request-metrics hook, and a bounded stop (signal wait + a watchdog on the
 * teardown). The PostgreSQL part (conninfo from the datasource.* keys, the start-up
 * migration, the pool's readiness check) is svc_pg.h.
 *
 * Typical main (both services' main.c):
 *   if ((rc = svc_start(&info, argc, argv, 0, &log, &cmd, &cfg)) != SVC_CONTINUE) return rc;
 *   … read the settings (the service's config.c) …
 *   if (svc_migrate(conninfo, name, migrations, 10, &log) != 0)
 *       return svc_stop_requested(&log) ? 0 : SVC_EXIT_UNAVAILABLE;
 *   … build the adapters, wire the ports; svc_stop_requested(&log) between slow steps …
 *   srv = svc_http_start(&opts, &health_and_metrics, service_routes, ctx);
 *   svc_stop_t *st = svc_wait_stop(&log, 10000, "draining HTTP");
 *   … ordered teardown …
 *   svc_stop_done(st);
 * Nothing here keeps global state; everything is thread-safe after start-up.
 */
#ifndef CQ_SVC_H
#define CQ_SVC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfgcli.h"
#include "clog.h"
#include "cqexit.h"
#include "embed.h"
#include "httpd.h"
#include "httpd_metrics.h"
#include "metrics.h"
#include "otel.h"
#include "svc_live.h"

#define SVC_CONTINUE (-1)                        /* svc_args: go on starting */
#define SVC_EXIT_USAGE CQ_EXIT_USAGE             /* 2: bad command line */
#define SVC_EXIT_UNAVAILABLE CQ_EXIT_UNAVAILABLE /* 69: a dependency (database…) unusable at start */
#define SVC_EXIT_SOFTWARE CQ_EXIT_SOFTWARE       /* 70: any other start-up or run failure */
/* 75: the teardown overran its deadline (or a second signal came); whatever was still being
 * flushed was abandoned */
#define SVC_EXIT_STOP_TIMEOUT CQ_EXIT_STOP_TIMEOUT

typedef struct svc_info {
    const char *name;            /* program name, e.g. "order-service" */
    const char *version;         /* printed by --version */
    void (*usage)(FILE *out);    /* prints the help text */
    const char *const *commands; /* NULL-terminated accepted positional words, or NULL */
} svc_info_t;

/* Parses argv. --help/-h: usage(stdout), returns 0. --version: "<name> <version>", 0. A
 * word of info->commands: *command = its index (the last one wins; -1 when none). Anything
 * else: a message and usage(stderr), returns SVC_EXIT_USAGE. Otherwise SVC_CONTINUE. */
int svc_args(const svc_info_t *info, int argc, char **argv, int *command);

/* The start both services share, in this order: svc_args; httpd_block_signals (before any
 * thread exists, so SIGTERM/SIGINT wait for sigwait); `log` initialised for info->name with
 * LOG_LEVEL; svc_config(info->name, env_only_ok); svc_log_level. Returns SVC_CONTINUE with
 * *command (svc_args) and *cfg (owned, cfgcli_free) set, or the exit code to return (0
 * after --help/--version) with *cfg NULL, after saying why. */
int svc_start(const svc_info_t *info, int argc, char **argv, int env_only_ok, clog_t *log, int *command,
              cfgcli_t **cfg);

/* The configuration of `app` from config-server (cfgcli_opts_from_env + cfgcli_fetch).
 * With `env_only_ok`, CONFIG_SERVER_URL=none gives an empty server document (keys from env
 * vars only). NULL after logging why, with *exit_code = CFGCLI_EXIT_CONFIG (bad client
 * settings) or CFGCLI_EXIT_UNAVAILABLE. Owned result (cfgcli_free). */
cfgcli_t *svc_config(const char *app, int env_only_ok, const clog_t *log, int *exit_code);

/* Re-initialises `log` (to stderr) with LOG_LEVEL from the environment when set, otherwise
 * svc_log_level_name(cfg); logs a warning when the old scalar logging.level was used.
 * `cfg` may be NULL. */
void svc_log_level(clog_t *log, const char *app, const cfgcli_t *cfg);

/* ---- clock and id adapters' bodies ---- */

/* Milliseconds since the epoch (CLOCK_REALTIME) / on CLOCK_MONOTONIC. */
int64_t svc_wall_ms(void);
int64_t svc_mono_ms(void);
/* Sleeps `ms` milliseconds (a signal may end it early). */
void svc_sleep_ms(long ms);
/* A random (v4) UUID, lower case, into out[37]. */
void svc_uuid(char out[37]);

/* ---- health and metrics endpoints ---- */

/* What a readiness component's up() returns. SVC_CATCHING_UP: serving, but behind what it
 * has to show (a projection re-applying commits a database crash lost) — shown as
 * "CATCHING_UP", it does not fail readiness. */
#define SVC_DOWN 0
#define SVC_UP 1
#define SVC_CATCHING_UP 2

/* One health component: up(self) returns SVC_UP, SVC_DOWN or SVC_CATCHING_UP. Called on
 * HTTP threads. An `informational` component is shown (its own status DOWN when it is) but
 * never fails readiness: the service serves without it (customer-service's outbox keeps
 * taking writes while Kafka is away). */
typedef struct svc_check {
    const char *name;
    int (*up)(void *self);
    void *self;
    int informational;
} svc_check_t;

typedef struct svc_http {
    metrics_t *metrics;        /* borrowed, may be NULL (/metrics answers empty) */
    const svc_check_t *checks; /* borrowed, n_checks entries; the readiness components */
    size_t n_checks;
    svc_live_t *live;            /* borrowed, may be NULL: /health's "config", /actuator/refresh */
    const char *admin_token;     /* borrowed; NULL/"" → /actuator/refresh answers 403 */
    const char *admin_token_env; /* the env var that sets it, for that 403's message */
} svc_http_t;

/* Registers (before httpd_start; `h` borrowed, must outlive the server):
 *   GET /health/liveness                    200 {"status":"UP"}
 *   GET /health/readiness, /health,
 *       /actuator/health                    200 or 503
 * {"status":"UP|DOWN","components":{name:"UP|DOWN|CATCHING_UP",…}} GET /metrics Prometheus text POST
 * /actuator/refresh                  (with h->live) re-reads the configuration now: 200 ["changed.key", …] as
 * Spring's refresh, 422/409/503 problem (svc_live_refresh); needs the admin token (svc_admin_check) With
 * h->live the readiness document carries "config" (svc_live_health). Any other /health/… is a 404 problem.
 * Returns 0 or -1. */
int svc_http_register(httpd_t *s, const svc_http_t *h);

/* The listener settings both services share, from `cfg` (Spring Boot's names):
 *   server.ssl.enabled              true when server.ssl.certificate is set; false = plain HTTP
 *   server.ssl.certificate          PEM certificate (chain) file
 *   server.ssl.certificate-private-key   PEM private key file
 *   server.ssl.trust-certificate    PEM CA file for client certificates
 *   server.ssl.client-auth          none (default), want, need
 *   server.ssl.reload-interval-ms   how often the files are checked for a rotation (5000)
 *   server.max-connections          open connections at once (default 10000, httpd.h)
 * into o->tls and o->max_connections (strings borrowed from cfg). 0, or -1 with err
 * naming the key. */
int svc_http_opts(const cfgcli_t *cfg, httpd_opts_t *o, char *err, size_t errlen);

/* The span exporter of `app` (common/otel/otel.h) when `tracing.otlp-endpoint` is set — else
 * the env var OTEL_EXPORTER_OTLP_ENDPOINT, as OpenTelemetry SDKs read it; "" or "none" = no
 * export: *out NULL, and the services still continue or start traces for their log lines.
 * 0 (logging where spans go), or -1 with err naming the key (not an http(s) URL). */
int svc_tracing(const cfgcli_t *c, const char *app, const clog_t *log, otel_t **out, char *err,
                size_t errlen);

/* Registers a service's own routes on `s` (before httpd_start); `ctx` is the service's. */
typedef int (*svc_routes_fn)(httpd_t *s, void *ctx);

/* A service's HTTP server: httpd_new(o) with the request-metrics hook (httpd_metrics_observe into
 * h->metrics, whose HTTP metrics it declares), `routes(s, ctx)`, svc_http_register(h), and
 * httpd_start (a taken port fails here). After a restart in place it adopts the listening
 * socket the previous image handed over (svc_live_inherited_listener). `h` and `ctx` are borrowed and must
 * outlive the server. The started server (httpd_free) or NULL after logging why into o->log. */
httpd_t *svc_http_start(const httpd_opts_t *o, const svc_http_t *h, svc_routes_fn routes, void *ctx);

/* The pieces of the above, for a service that registers its own routes (call from a
 * handler): 200 {"status":"UP"}; the readiness document of `n` checks (200 when all are
 * up or catching up, else 503); the Prometheus text of `m` (NULL → empty 200). Each returns 0. */
int svc_send_liveness(h2o_req_t *req);
int svc_send_readiness(h2o_req_t *req, const svc_check_t *checks, size_t n);
/* The same with the "config" object of `live` (NULL: none). */
int svc_send_readiness_cfg(h2o_req_t *req, const svc_check_t *checks, size_t n, svc_live_t *live);

/* 1 when `authorization` (the header value, may be NULL) carries `token` as a Bearer token
 * or as the password of Basic credentials. Constant-time comparison. */
int svc_admin_authorized(const char *authorization, const char *token);
/* An admin endpoint's gate: 0 when the request carries `token`; otherwise answers 403 (no
 * token configured: the endpoint is disabled, `token_env` names how to set it) or 401 with
 * WWW-Authenticate Bearer realm=`realm`, and returns -1. */
int svc_admin_check(h2o_req_t *req, const char *token, const char *token_env, const char *realm);
/* GET /metrics, HTTP request metrics and the process metrics: common/http/httpd_metrics.h. */

/* ---- stop ---- */

typedef struct svc_stop svc_stop_t;

/* 1 when SIGTERM or SIGINT is pending (blocked and not yet waited for): lets a slow
 * start-up give up between its steps. Does not consume the signal. */
int svc_stop_pending(void);

/* Ends a start-up that a SIGTERM/SIGINT interrupted (checked between the slow steps): when
 * one is pending, logs "signal during start-up: exiting" and returns 1; otherwise 0. */
int svc_stop_requested(const clog_t *log);

/* Waits for SIGTERM/SIGINT (blocked by httpd_block_signals), logs "signal N: <what>" and
 * arms a watchdog: when svc_stop_done is not called within `deadline_ms`, or a second
 * SIGTERM/SIGINT arrives, it logs why and ends the process with SVC_EXIT_STOP_TIMEOUT.
 * Returns the owned watchdog (NULL only when its thread could not start: the teardown is
 * then unguarded). *sig (may be NULL) receives the signal number. */
svc_stop_t *svc_wait_stop(const clog_t *log, int deadline_ms, const char *what, int *sig);

/* Arms the same watchdog without waiting for a signal (a failed start-up's teardown). */
svc_stop_t *svc_stop_guard(const clog_t *log, int deadline_ms);

/* Disarms and frees the watchdog. NULL-safe. */
void svc_stop_done(svc_stop_t *st);

#endif
