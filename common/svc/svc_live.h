/* svc_live.h — a service's configuration while it runs (issue 17): the applied settings as
 * an immutable, reference-counted snapshot, and what happens to each new configuration the
 * watcher (cfgcli_watch) or POST /actuator/refresh brings.
 *
 * A new configuration is built into the service's whole settings struct with the SAME checks
 * as at start (the service's `build`, i.e. its config.c). Then, by the keys whose values
 * changed (each key has a class in the service's table, svc_key_rule_t):
 *   - invalid (build failed)      → rejected: the service keeps running on what it has; the
 *                                   reason is logged, shown on /health and counted;
 *   - only live or unused keys    → the snapshot is swapped at once (a request that took the
 *                                   old one finishes on it: nobody sees half an edit), the
 *                                   log level follows logging.level.root, and the service's
 *                                   `applied` hook hands workers their new values;
 *   - a restart-class key         → the service's `preflight` (e.g. the new database answers)
 *                                   and then a restart in place: svc_live_wait returns
 *                                   SVC_LIVE_RESTART, main drains, keeps the listening socket
 *                                   (httpd_keep_listener) and calls svc_live_reexec, the new
 *                                   image fetches the configuration again and adopts the socket.
 * The applied version (config-server's `version`), the rejected one with its reason and the
 * restarts are on /health ("config") and /metrics (<prefix>_config_info{version},
 * <prefix>_config_rejected_total, <prefix>_config_restarts).
 *
 * Thread-safety: svc_live_acquire/release from any thread (a mutex for the pointer, an atomic
 * count); offers (watcher, refresh) are serialised.
 */
#ifndef CQ_SVC_LIVE_H
#define CQ_SVC_LIVE_H

#include <stddef.h>

#include <jansson.h>

#include "cfgcli.h"
#include "clog.h"
#include "metrics.h"

/* What a change to a key needs. */
typedef enum {
    SVC_KEY_UNUSED = 0,  /* the service does not read it: nothing to do */
    SVC_KEY_LIVE = 1,    /* applied by swapping the snapshot */
    SVC_KEY_RESTART = 2, /* needs new connections, sockets or threads: restart in place */
} svc_key_class_t;

/* One row of a service's key table: `key` is a flat key ("outbox.batch-size") or a prefix
 * ending in ".*" ("datasource.*"); the longest match wins; unmatched keys are unused. */
typedef struct svc_key_rule {
    const char *key;
    svc_key_class_t cls;
} svc_key_rule_t;

/* The class of `key` by `rules` (n rows). */
svc_key_class_t svc_key_class(const svc_key_rule_t *rules, size_t n, const char *key);

/* The service's side. `self` is the service's context. */
typedef struct svc_live_ops {
    /* The whole settings struct from `cfg` (borrowed; it lives as long as the settings, so
     * they may point into it), with the same checks as at start: owned, or NULL + err. */
    void *(*build)(void *self, const cfgcli_t *cfg, char *err, size_t errlen);
    void (*free)(void *self, void *settings);
    /* Optional: before a restart in place, checks that the new restart-class settings can
     * work (a database that answers, a broker that is reachable): 0, or -1 + err (rejected). */
    int (*preflight)(void *self, const void *settings, char *err, size_t errlen);
    /* Optional: after a live swap (serialised), hands the new settings to worker threads. */
    void (*applied)(void *self, const void *settings);
} svc_live_ops_t;

typedef struct svc_live_opts {
    const char *app;             /* "customer-service" */
    const char *metric_prefix;   /* "customer" → customer_config_info … */
    const svc_key_rule_t *rules; /* borrowed, static */
    size_t n_rules;
    svc_live_ops_t ops;
    void *self;
    clog_t *log;        /* borrowed; its level follows logging.level.root (unless LOG_LEVEL) */
    metrics_t *metrics; /* borrowed, may be NULL */
} svc_live_opts_t;

typedef struct svc_live svc_live_t;

/* An applied configuration. Immutable while held. */
typedef struct svc_snap {
    const cfgcli_t *cfg;
    const void *settings; /* the service's struct (built by ops.build) */
} svc_snap_t;

/* Starts from the configuration the service started with: `cfg` and `settings` (built from
 * it by ops.build) are STOLEN (also on failure). Reads the restart count the previous image
 * left (CQ_RESTARTS). Owned, or NULL + err. */
svc_live_t *svc_live_new(const svc_live_opts_t *o, cfgcli_t *cfg, void *settings, char *err, size_t errlen);

/* Starts the watcher (unless CONFIG_WATCH=false or CONFIG_SERVER_URL=none). 0 or -1 + err. */
int svc_live_watch(svc_live_t *l, char *err, size_t errlen);

/* Stops the watcher and frees (the current snapshot is released; snapshots still held are
 * freed by their last release). NULL-safe. */
void svc_live_free(svc_live_t *l);

/* The current snapshot, held until svc_live_release. Never NULL. */
const svc_snap_t *svc_live_acquire(svc_live_t *l);
void svc_live_release(svc_live_t *l, const svc_snap_t *s);

/* What an offered configuration did. */
typedef enum {
    SVC_LIVE_UNCHANGED = 0,  /* no key changed (the version may have: it is the applied one now) */
    SVC_LIVE_APPLIED = 1,    /* live keys swapped in */
    SVC_LIVE_RESTARTING = 2, /* restart-class keys: a restart in place is requested */
    SVC_LIVE_REJECTED = 3,   /* invalid: nothing changed; err says why */
    SVC_LIVE_BUSY = 4,       /* a restart is already pending: the new image will fetch anew */
    SVC_LIVE_OLDER = 5,      /* its config-generation is below the applied one (a config-server
                                replica that has not caught up yet): ignored; err says so */
} svc_live_result_t;

/* The configuration's generation: the integer key `config-generation` (the chart sets it to
 * the Helm release revision; any source may, as long as it only grows), or -1 when absent or
 * not an integer. A service never applies a configuration of a lower generation than the
 * one it runs, and after a restart in place waits for at least the generation that caused
 * it (svc_config, CQ_RESTART_MIN_GENERATION), so replicas of config-server that serve an
 * edit at different moments (a rolling update) cannot make it flap between old and new. */
long long svc_config_generation(const cfgcli_t *cfg);

/* Offers a new configuration (STOLEN). *changed (may be NULL) receives the JSON array of
 * the keys whose values differ (added, removed or changed; owned). err gets the reason of a
 * rejection. */
svc_live_result_t svc_live_offer(svc_live_t *l, cfgcli_t *cfg, json_t **changed, char *err, size_t errlen);

/* POST /actuator/refresh's work: fetches the configuration now (one round over the URLs)
 * and offers it. Returns the HTTP status to answer with and *body (owned): 200 and the
 * array of changed keys (as Spring's refresh endpoint), 422 problem when the configuration
 * is rejected, 503 problem when no config server answered. */
int svc_live_refresh(svc_live_t *l, json_t **body);

/* The "config" object of /health: version, appliedAt, origin, restarts (and
 * restartReason), rejected {version, reason, at} with rejectedCount, a pending restart,
 * and the watcher's status. Owned. */
json_t *svc_live_health(svc_live_t *l);

/* The log level the configuration asks for: logging.level.root (Spring Boot's key: its
 * logging.level is a map of logger → level), else the old scalar logging.level, else
 * "info". The old key also wins when it comes from an env var (LOGGING_LEVEL) and root does
 * not (an explicit override beats the repo). When the old key decided, *deprecated (may be
 * NULL) receives where it came from, else NULL. `cfg` may be NULL. Borrowed result. */
const char *svc_log_level_name(const cfgcli_t *cfg, const char **deprecated);

/* Why a restart in place is pending ("configuration version … changes …"), or NULL. */
const char *svc_live_pending(svc_live_t *l);
/* The config-generation of the configuration that requested the pending restart (-1: none). */
long long svc_live_pending_generation(svc_live_t *l);
/* Restarts in place before this image (CQ_RESTARTS). */
int svc_live_restarts(const svc_live_t *l);

/* ---- restart in place (svc_live_restart.c) ---- */

#define SVC_LIVE_STOP 0    /* SIGTERM/SIGINT: stop */
#define SVC_LIVE_RESTART 1 /* a restart-class change: restart in place */

/* Waits for SIGTERM/SIGINT (blocked by httpd_block_signals) or a restart request, and logs
 * which. Returns SVC_LIVE_STOP (*sig = the signal) or SVC_LIVE_RESTART (*sig = 0). */
int svc_live_wait(svc_live_t *l, int *sig);

/* Replaces the process image with the same program and arguments — call it after main's
 * whole teardown (every connection closed, the relay flushed, the projection committed; the
 * watcher was stopped by svc_live_wait): every descriptor but 0-2 and `listen_fd` closes at
 * exec; `listen_fd` (httpd_keep_listener; -1 when none), bound to `host`:`port`, is handed
 * over in CQ_RESTART_LISTEN_FD and CQ_RESTART_LISTEN; CQ_RESTARTS counts up and
 * CQ_RESTART_REASON says which keys changed. Only returns on failure, after logging why:
 * SVC_EXIT_SOFTWARE (70). */
int svc_live_reexec(svc_live_t *l, char **argv, int listen_fd, const char *host, int port, const clog_t *log);

/* In the new image: the listening socket the previous image handed over, when it was bound
 * to `host`:`port` (port 0: any) — the fd to adopt (httpd_opts.adopt_fd); otherwise (a
 * port or address change: it cannot be kept) it is closed, logged, and 0 is returned, as
 * when nothing was handed over (CQ_RESTART_LISTEN_FD and CQ_RESTART_LISTEN are read). */
int svc_live_inherited_listener(const char *host, int port, const clog_t *log);

/* The reason this image was started by a restart in place (CQ_RESTART_REASON), or NULL. */
const char *svc_live_restart_reason(void);

#endif
