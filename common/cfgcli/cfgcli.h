/* cfgcli.h — the config client: what every service calls first in main().
 *
 * Fetches the service's configuration from the config-server (Spring Cloud Config API,
 * docs/design.md §3) and exposes it as flat keys ("kafka-config.bootstrap-servers") with typed
 * getters. Compatible with Spring's client where that matters:
 *   - GET {url}/{app}/{profiles}[/{label}] → JSON Environment; earlier propertySources win.
 *   - CONFIG_SERVER_URL may be a comma list: every round tries each URL in order (failover).
 *   - Bounded retry: `attempts` rounds, exponential backoff with jitter between rounds.
 *     A 4xx answer (unknown app, bad auth, bad label) is final: no retry, no cache.
 *   - Env overrides with relaxed binding (see cfgcli_env_name): KAFKA_CONFIG_BOOTSTRAP_SERVERS
 *     overrides kafka-config.bootstrap-servers, also for keys absent from the server.
 *   - ${NAME:default} placeholders are resolved (against the merged config, then the env).
 *   - Inline URL credentials (http://user:pw@host) never appear in messages or logs.
 *   - Optional last-known-good cache file: written atomically after every successful fetch,
 *     used (with a warning in the log) when no server answers.
 * Every value remembers where it came from (property source name, "env:VAR", "cache:…",
 * "default"), and every getter error names the key and that origin.
 *
 * Typical use in main():
 *     cfgcli_opts_t o; char err[1024];
 *     if (cfgcli_opts_from_env(&o, "customer-service", err, sizeof err)) { …exit 78… }
 *     cfgcli_t *cfg = cfgcli_fetch(&o, &log, err, sizeof err);
 *     if (!cfg) { clog_error(&log, "%s", err); return CFGCLI_EXIT_UNAVAILABLE; }
 *     int port; if (cfgcli_get_int(cfg, "server.port", 8184, &port, err, sizeof err)) ...
 *     cfgcli_free(cfg);
 * A cfgcli_t is immutable after fetch and may be read from several threads.
 */
#ifndef CQ_CFGCLI_H
#define CQ_CFGCLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "clog.h"
#include "cqexit.h"

/* Exit code for "could not obtain a valid configuration" (sysexits EX_CONFIG): no config
 * server answered and no usable cache, the server refused (4xx), or a value is invalid. */
#define CFGCLI_EXIT_UNAVAILABLE CQ_EXIT_CONFIG
#define CFGCLI_EXIT_CONFIG CQ_EXIT_CONFIG

/* Defaults (documented in config-repo/README.md too). */
#define CFGCLI_DEFAULT_URL "http://127.0.0.1:8888"
#define CFGCLI_DEFAULT_PROFILES "default"
#define CFGCLI_DEFAULT_ATTEMPTS 6
#define CFGCLI_DEFAULT_INITIAL_BACKOFF_MS 500
#define CFGCLI_DEFAULT_MAX_BACKOFF_MS 8000
#define CFGCLI_DEFAULT_MULTIPLIER 2.0
#define CFGCLI_DEFAULT_JITTER 0.2
#define CFGCLI_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define CFGCLI_DEFAULT_REQUEST_TIMEOUT_MS 10000
/* The watcher (below): a conditional GET every 10 s against a server that offers no watch
 * (a Spring Cloud Config Server, whose git backend fetches on every request); long polls of
 * at most 30 s (the server may cap them lower) against one that does. */
#define CFGCLI_DEFAULT_WATCH_INTERVAL_MS 10000
#define CFGCLI_DEFAULT_WATCH_WAIT_S 30

typedef enum {
    CFGCLI_FORMAT_JSON = 0, /* GET {url}/{app}/{profiles}[/{label}]: the JSON Environment */
    CFGCLI_FORMAT_YAML = 1, /* GET {url}[/{label}]/{app}-{profiles}.yml: one merged document */
} cfgcli_format_t;

/* Everything cfgcli_fetch needs. Plain value type: copy it freely, nothing to free. */
typedef struct cfgcli_opts {
    char urls[1024];    /* comma list of base URLs, tried in order (failover) */
    char app[128];      /* application name, e.g. "customer-service" */
    char profiles[256]; /* comma list, e.g. "local" or "k8s,debug"; "" → "default" */
    char label[128];    /* "" → the server's default label */
    char user[128];     /* HTTP Basic auth user; "" → no auth */
    char password[256];
    char cache_file[1024];  /* last-known-good cache; "" → no cache */
    char ca_file[1024];     /* PEM CA bundle for https:// servers; "" → the system's */
    char client_cert[1024]; /* PEM client certificate (mTLS); "" → none */
    char client_key[1024];  /* its PEM private key; "" → in client_cert */
    cfgcli_format_t format;
    int attempts;            /* rounds over the URL list, ≥ 1 */
    long initial_backoff_ms; /* delay after the first failed round */
    long max_backoff_ms;     /* cap on any delay */
    double multiplier;       /* delay growth per round, ≥ 1 */
    double jitter;           /* 0..1: each delay is scaled by a random factor in [1-j, 1+j] */
    long connect_timeout_ms; /* per request */
    long request_timeout_ms; /* per request, whole transfer */
    int env_overrides;       /* 1 (default): env vars override keys (relaxed binding) */
    /* Environment used for overrides and placeholders: a NULL-terminated "NAME=value"
     * array, borrowed (must stay valid during cfgcli_fetch/cfgcli_from_json only; the
     * result keeps its own copy). NULL → the process environment. Tests inject one. */
    char *const *envp;
    int watch;              /* 1 (default): the service starts a watcher (cfgcli_watch_start) */
    long watch_interval_ms; /* watcher: poll interval against a server without watches */
    long watch_wait_s;      /* watcher: the wait asked for in a long poll */
} cfgcli_opts_t;

/* Fills `o` with the defaults above for application `app` (borrowed; copied). */
void cfgcli_opts_init(cfgcli_opts_t *o, const char *app);

/* cfgcli_opts_init, then reads the process environment:
 *   CONFIG_SERVER_URL        comma list (default CFGCLI_DEFAULT_URL)
 *   APP_PROFILES, else SPRING_PROFILES_ACTIVE   (default "default")
 *   CONFIG_LABEL, else SPRING_CLOUD_CONFIG_LABEL
 *   CONFIG_SERVER_USER / CONFIG_SERVER_PASSWORD  (Basic auth)
 *   CONFIG_SERVER_CA_FILE    CA bundle that signs an https:// server's certificate
 *   CONFIG_SERVER_CLIENT_CERT / CONFIG_SERVER_CLIENT_KEY  client certificate and key (mTLS)
 *   CONFIG_CACHE_FILE        last-known-good cache path
 *   CONFIG_FETCH_ATTEMPTS, CONFIG_BACKOFF_INITIAL_MS, CONFIG_BACKOFF_MAX_MS,
 *   CONFIG_CONNECT_TIMEOUT_MS, CONFIG_REQUEST_TIMEOUT_MS
 *   CONFIG_FORMAT            "json" (default) or "yaml"
 *   CONFIG_ENV_OVERRIDES     "false"/"0" disables env overrides
 *   CONFIG_WATCH             "false" turns the watcher off (default true)
 *   CONFIG_WATCH_INTERVAL_MS poll interval against a server without watches (10000; ≥ 50)
 *   CONFIG_WATCH_WAIT_S      long-poll wait asked for (30; the server caps it)
 * Returns 0, or -1 with `err` naming the variable whose value is invalid (or too long). */
int cfgcli_opts_from_env(cfgcli_opts_t *o, const char *app, char *err, size_t errlen);

typedef struct cfgcli cfgcli_t;

/* Fetches the configuration (retry, failover, cache fallback as described above).
 * `log` is borrowed and may be NULL. Returns an OWNED result (cfgcli_free), or NULL with a
 * one-line message in `err` naming the URL(s) tried, the number of attempts and the last
 * error, e.g.
 *   "config server unavailable after 6 attempts; last error: http://127.0.0.1:8888/customer-service/local:
 *    Failed to connect to 127.0.0.1 port 8888 …: Couldn't connect to server (no cache file)"
 * or, when a server answered 4xx (final, no retry, no cache):
 *   "config server refused the request: http://…/no-such-app/local: HTTP 404: no no-such-app.yml …"
 * The caller then exits with CFGCLI_EXIT_UNAVAILABLE. */
cfgcli_t *cfgcli_fetch(const cfgcli_opts_t *o, const clog_t *log, char *err, size_t errlen);

/* Builds a result from a JSON Environment document (`json`, `len` bytes, borrowed) as if it
 * had been fetched from `origin` (borrowed, e.g. the URL; used in source names), applying
 * env overrides and placeholders per `o`. For tests and tools. Owned result or NULL+err. */
cfgcli_t *cfgcli_from_json(const cfgcli_opts_t *o, const char *json, size_t len, const char *origin,
                           char *err, size_t errlen);

/* An empty result (no keys); with cfgcli_set, services' unit tests build fake configs.
 * Env is NOT consulted by results made this way. Owned; NULL on out-of-memory. */
cfgcli_t *cfgcli_new(void);
/* Sets `key` to `value` with origin `source` (all borrowed, copied). 0 or -1 (OOM). */
int cfgcli_set(cfgcli_t *c, const char *key, const char *value, const char *source);

/* NULL-safe. */
void cfgcli_free(cfgcli_t *c);

/* ---- getters ---------------------------------------------------------------------------
 * All values are kept as text (JSON numbers/booleans converted to their text form).
 * A key set to an empty string counts as present ("" is a value); getters that need a
 * number treat "" as absent and use the default. Typed getters return 0 and store the value
 * (or the default when the key is absent) in *out, or -1 with `err` like
 *   "config key 'server.port' = 'abc' (from env:SERVER_PORT) is not an integer"
 *   "config key 'datasource.host' contains unresolved placeholder ${DB_HOST} (from …)"
 * and *out untouched. */

/* Borrowed value (valid until cfgcli_free), or `dflt` when absent. */
const char *cfgcli_get_str(const cfgcli_t *c, const char *key, const char *dflt);
/* Like get_str but the key must be present and non-empty: 0 or -1 + err naming the key and
 * the env var that would also have set it. *out is borrowed. */
int cfgcli_require_str(const cfgcli_t *c, const char *key, const char **out, char *err, size_t errlen);
int cfgcli_get_int(const cfgcli_t *c, const char *key, int dflt, int *out, char *err, size_t errlen);
/* get_int with an inclusive range check (ports: 1..65535). */
int cfgcli_get_int_range(const cfgcli_t *c, const char *key, int dflt, int min, int max, int *out, char *err,
                         size_t errlen);
int cfgcli_get_long(const cfgcli_t *c, const char *key, long long dflt, long long *out, char *err,
                    size_t errlen);
int cfgcli_get_double(const cfgcli_t *c, const char *key, double dflt, double *out, char *err, size_t errlen);
/* true/false, yes/no, on/off, 1/0 (case-insensitive). */
int cfgcli_get_bool(const cfgcli_t *c, const char *key, int dflt, int *out, char *err, size_t errlen);
/* A duration in milliseconds: "250" (ms), "250ms", "5s", "2m", "1h" (Spring Duration style). */
int cfgcli_get_ms(const cfgcli_t *c, const char *key, long dflt, long *out, char *err, size_t errlen);

/* Where the key's value came from: "configserver:" + the propertySource name (as Spring's
 * client names them, e.g. "configserver:file:config-repo/application-local.yml"), "env:VAR",
 * "cache:" + the propertySource name, or what cfgcli_set was given. NULL when the key is absent. Borrowed. */
const char *cfgcli_source_of(const cfgcli_t *c, const char *key);
/* 1 when the key is present. */
int cfgcli_has(const cfgcli_t *c, const char *key);

/* Calls fn for every key starting with `prefix` ("" = all), in key order; `rest` is the key
 * after the prefix (e.g. prefix "kafka-producer-config.properties." → rest "enable.idempotence").
 * Stops early and returns fn's value when fn returns non-zero; 0 otherwise. All borrowed. */
typedef int (*cfgcli_iter_fn)(void *ud, const char *key, const char *rest, const char *value,
                              const char *source);
int cfgcli_foreach_prefix(const cfgcli_t *c, const char *prefix, cfgcli_iter_fn fn, void *ud);
/* Number of keys. */
size_t cfgcli_count(const cfgcli_t *c);

/* ---- about the fetch ---- */
/* The URL that answered (borrowed; "" for cfgcli_new results). */
const char *cfgcli_origin(const cfgcli_t *c);
/* The server's `version` field, "" when none. Borrowed. */
const char *cfgcli_version(const cfgcli_t *c);
/* 1 when the result was loaded from the last-known-good cache file. */
int cfgcli_from_cache(const cfgcli_t *c);
/* The ETag the server sent with it ("" when none or not fetched). Borrowed. */
const char *cfgcli_etag(const cfgcli_t *c);
/* The server's X-Config-Watch-Max in seconds (it offers long polls), or -1 when absent. */
long cfgcli_watch_max(const cfgcli_t *c);

/* ---- the watcher (cfgcli_watch.c) -------------------------------------------------------
 * A thread that follows the configuration after the start-up fetch and hands every new one
 * to the service:
 *   - against a server that sends X-Config-Watch-Max (this project's config-server) it
 *     long-polls: GET …?wait=<min(watch_wait_s, that max)>s with If-None-Match: <ETag>; the
 *     server holds the request until the resolved environment changes (200, the new one)
 *     or the wait ends (304), and the watcher asks again at once;
 *   - against one that does not (a Spring Cloud Config Server) it sends the same request
 *     without `wait` every watch_interval_ms (a 304, or a 200 with an unchanged document, is
 *     not handed on);
 *   - it fails over along the comma list of URLs (and stays with the one that answers),
 *     uses the client's Basic auth and timeouts, and after a round of failures backs off
 *     as the start-up fetch does (capped at max_backoff_ms), forever; it logs the first
 *     failure of a streak and the recovery, and writes the cache file after each new one;
 *   - cfgcli_watch_stop ends it within milliseconds, even in the middle of a long poll.
 *
 * `fn` runs on the watcher's thread with each new configuration, `cfg` OWNED by the callee
 * (cfgcli_free), or with cfg NULL and `error` saying why the server's answer could not be
 * made into one; the next request waits until fn returns. */
typedef void (*cfgcli_watch_fn)(void *ud, cfgcli_t *cfg, const char *error);
typedef struct cfgcli_watch cfgcli_watch_t;

/* Starts watching `o`'s configuration (copied; o->envp, when set, must outlive the watcher)
 * from `current` (borrowed: its ETag and X-Config-Watch-Max; NULL → start with a plain
 * GET). `log` borrowed, may be NULL. Owned watcher, or NULL with err. */
cfgcli_watch_t *cfgcli_watch_start(const cfgcli_opts_t *o, const cfgcli_t *current, cfgcli_watch_fn fn,
                                   void *ud, const clog_t *log, char *err, size_t errlen);
/* Stops (promptly), joins and frees. NULL-safe. */
void cfgcli_watch_stop(cfgcli_watch_t *w);
/* What the watcher is doing, for /health: {"mode":"long-poll"|"poll","url":…,
 * "lastError":…,"lastErrorAt":<epoch ms>,"failures":<in a row>} (lastError* only after a
 * failure; failures 0 once a server answers again). Owned JSON object, NULL on OOM. */
json_t *cfgcli_watch_status(cfgcli_watch_t *w);

/* All keys as a JSON object {"key":{"value":"…","source":"…"}} (malloc'ed string, caller
 * frees). With mask_secrets, values of keys containing "password", "secret", "token" or
 * "credentials" are replaced by "******". NULL on OOM. For --print-config and debug logs. */
char *cfgcli_dump_json(const cfgcli_t *c, int mask_secrets);

/* ---- pure helpers (exposed for tests and docs) ---- */
/* The env var that overrides `key`: upper-case; '.', '-', '[' and ']' become '_'; runs of
 * '_' collapse into one; no leading/trailing '_'. "kafka-config.bootstrap-servers" →
 * "KAFKA_CONFIG_BOOTSTRAP_SERVERS", "a.list[0].x" → "A_LIST_0_X". Also accepted, second:
 * Spring's canonical form with dashes removed ("KAFKA_CONFIG_BOOTSTRAPSERVERS"), see
 * cfgcli_env_name_spring. Returns the length, or -1 when `cap` is too small. */
int cfgcli_env_name(const char *key, char *buf, size_t cap);
int cfgcli_env_name_spring(const char *key, char *buf, size_t cap);
/* The delay before round `round` + 1 (round ≥ 1 = rounds already failed), in ms:
 * min(max, initial × multiplier^(round-1)) scaled by (1 - jitter + 2 × jitter × rnd / 2^32),
 * then capped at max again. `rnd` is a uniform random 32-bit value. */
long cfgcli_backoff_ms(const cfgcli_opts_t *o, int round, uint32_t rnd);

#endif
