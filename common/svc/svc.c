/* svc.c — the process glue shared by the two services: command line, configuration, log
 * level, health/metrics endpoints, bounded stop. See svc.h (the PostgreSQL part is svc_pg.c). */
#include "svc.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <uuid/uuid.h>

int svc_args(const svc_info_t *info, int argc, char **argv, int *command)
{
    *command = -1;
    for (int i = 1; i < argc; i++) {
        int found = -1;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            info->usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", info->name, info->version);
            return 0;
        }
        for (int k = 0; info->commands != NULL && info->commands[k] != NULL; k++)
            if (strcmp(argv[i], info->commands[k]) == 0)
                found = k;
        if (found >= 0) {
            *command = found;
            continue;
        }
        fprintf(stderr, "%s: unknown argument '%s'\n", info->name, argv[i]);
        info->usage(stderr);
        return SVC_EXIT_USAGE;
    }
    return SVC_CONTINUE;
}

int svc_start(const svc_info_t *info, int argc, char **argv, int env_only_ok, clog_t *log, int *command,
              cfgcli_t **cfg)
{
    int rc = svc_args(info, argc, argv, command);
    *cfg = NULL;
    if (rc != SVC_CONTINUE)
        return rc;
    if (httpd_block_signals() != 0) {
        fprintf(stderr, "%s: cannot block SIGTERM/SIGINT\n", info->name);
        return SVC_EXIT_SOFTWARE;
    }
    clog_init(log, info->name, getenv("LOG_LEVEL"), stderr);
    *cfg = svc_config(info->name, env_only_ok, log, &rc);
    if (*cfg == NULL)
        return rc;
    svc_log_level(log, info->name, *cfg);
    return SVC_CONTINUE;
}

/* After a restart in place: the image that restarted had applied config-generation
 * CQ_RESTART_MIN_GENERATION; a replica of config-server that does not serve it yet (a
 * rolling update) must not hand this image the older configuration, which would restart it
 * once more when the newer one arrives. Fetches again, twice a second for up to 30 s, until
 * the generation is reached; then goes on with what it has (a warning). `c` is stolen; the
 * result is owned (c itself, or a newer fetch). */
static cfgcli_t *svc_config_catch_up(cfgcli_t *c, const cfgcli_opts_t *o, const clog_t *log)
{
    const char *want_s = getenv("CQ_RESTART_MIN_GENERATION");
    long long want = want_s != NULL ? atoll(want_s) : -1, got = svc_config_generation(c);
    if (c == NULL || want < 0 || got < 0 || got >= want)
        return c;
    clog_info(log,
              "configuration: config-generation %lld, but the restart was for %lld: waiting for the config"
              " server to serve it",
              got, want);
    cfgcli_opts_t once = *o;
    once.attempts = 1;
    for (int i = 0; i < 60 && got < want; i++) {
        char err[1024];
        svc_sleep_ms(500);
        cfgcli_t *n = cfgcli_fetch(&once, NULL, err, sizeof err);
        if (n == NULL)
            continue;
        if (svc_config_generation(n) > got) {
            cfgcli_free(c);
            c = n;
            got = svc_config_generation(c);
        } else {
            cfgcli_free(n);
        }
    }
    if (got < want)
        clog_warn(
            log,
            "configuration: still config-generation %lld after 30 s (the restart was for %lld): going on",
            got, want);
    return c;
}

cfgcli_t *svc_config(const char *app, int env_only_ok, const clog_t *log, int *exit_code)
{
    cfgcli_opts_t o;
    char err[1024] = "";
    cfgcli_t *c = NULL;
    const char *url = getenv("CONFIG_SERVER_URL");
    if (cfgcli_opts_from_env(&o, app, err, sizeof err) != 0) {
        clog_error(log, "configuration: %s", err);
        *exit_code = CFGCLI_EXIT_CONFIG;
        return NULL;
    }
    if (env_only_ok && url != NULL && strcmp(url, "none") == 0) {
        char doc[256];
        int n = snprintf(doc, sizeof doc, "{\"name\":\"%s\",\"propertySources\":[]}", app);
        c = cfgcli_from_json(&o, doc, (size_t)n, "env", err, sizeof err);
    } else {
        c = cfgcli_fetch(&o, log, err, sizeof err);
        c = svc_config_catch_up(c, &o, log);
    }
    if (c == NULL) {
        clog_error(log, "configuration: %s", err);
        *exit_code = CFGCLI_EXIT_UNAVAILABLE;
    }
    return c;
}

void svc_log_level(clog_t *log, const char *app, const cfgcli_t *cfg)
{
    const char *deprecated = NULL;
    const char *lvl = getenv("LOG_LEVEL");
    if (lvl == NULL || *lvl == '\0')
        lvl = svc_log_level_name(cfg, &deprecated);
    clog_init(log, app, lvl, stderr);
    if (deprecated != NULL)
        clog_warn(log,
                  "config key 'logging.level' (from %s) is deprecated: use 'logging.level.root' (env "
                  "LOGGING_LEVEL_ROOT), as Spring Boot spells it",
                  deprecated);
}

/* ---- clocks, ids ---- */

static int64_t svc_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t svc_wall_ms(void)
{
    return svc_clock_ms(CLOCK_REALTIME);
}

int64_t svc_mono_ms(void)
{
    return svc_clock_ms(CLOCK_MONOTONIC);
}

void svc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void svc_uuid(char out[37])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

/* ---- health and metrics ---- */

int svc_send_liveness(h2o_req_t *req)
{
    return httpd_send_json(req, 200, json_pack("{s:s}", "status", "UP"));
}

int svc_send_readiness(h2o_req_t *req, const svc_check_t *checks, size_t n)
{
    return svc_send_readiness_cfg(req, checks, n, NULL);
}

int svc_send_readiness_cfg(h2o_req_t *req, const svc_check_t *checks, size_t n, svc_live_t *live)
{
    int all = 1;
    json_t *comp = json_object();
    for (size_t i = 0; comp != NULL && i < n; i++) {
        int st = checks[i].up(checks[i].self);
        int up = st == SVC_UP || st == SVC_CATCHING_UP;
        if (!checks[i].informational)
            all = all && up;
        /* Spring Boot actuator's shape: components.<name>.status */
        json_object_set_new(comp, checks[i].name,
                            json_pack("{s:s}", "status",
                                      st == SVC_CATCHING_UP ? "CATCHING_UP"
                                      : up                  ? "UP"
                                                            : "DOWN"));
    }
    return httpd_send_json(req, all ? 200 : 503,
                           json_pack("{s:s,s:o*,s:o*}", "status", all ? "UP" : "DOWN", "components", comp,
                                     "config", live != NULL ? svc_live_health(live) : NULL));
}

static int svc_health(void *ctx, h2o_req_t *req)
{
    const svc_http_t *h = ctx;
    const char *path = httpd_path(req);
    if (strcmp(path, "/health/liveness") == 0)
        return svc_send_liveness(req);
    if (strcmp(path, "/health/readiness") == 0 || strcmp(path, "/health") == 0 ||
        strcmp(path, "/actuator/health") == 0)
        return svc_send_readiness_cfg(req, h->checks, h->n_checks, h->live);
    return httpd_send_problem(req, 404, "Not Found", "no such health check: %s", path);
}

int svc_admin_authorized(const char *authorization, const char *token)
{
    unsigned char dec[512];
    const char *cred = NULL;
    size_t clen = 0;
    size_t tlen;
    if (authorization == NULL || token == NULL || token[0] == '\0')
        return 0;
    tlen = strlen(token);
    if (strncasecmp(authorization, "Bearer ", 7) == 0) {
        cred = authorization + 7;
        clen = strlen(cred);
    } else if (strncasecmp(authorization, "Basic ", 6) == 0) {
        const char *b64 = authorization + 6;
        size_t bl = strlen(b64);
        if (bl == 0 || bl % 4 != 0 || bl / 4 * 3 >= sizeof dec)
            return 0;
        int n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)bl);
        if (n < 0)
            return 0;
        while (n > 0 && bl > 0 && b64[bl - 1] == '=') { /* DecodeBlock counts padding */
            n--;
            bl--;
        }
        dec[n] = '\0';
        char *colon = memchr(dec, ':', (size_t)n);
        if (colon == NULL)
            return 0;
        cred = colon + 1;
        clen = (size_t)n - (size_t)(colon + 1 - (char *)dec);
    } else {
        return 0;
    }
    if (clen != tlen)
        return 0;
    return CRYPTO_memcmp(cred, token, tlen) == 0;
}

int svc_admin_check(h2o_req_t *req, const char *token, const char *token_env, const char *realm)
{
    char hdr[160];
    if (token == NULL || token[0] == '\0') {
        httpd_send_problem(req, 403, "Forbidden", "this admin endpoint is disabled (set %s)", token_env);
        return -1;
    }
    if (!svc_admin_authorized(httpd_header(req, "authorization"), token)) {
        snprintf(hdr, sizeof hdr, "Bearer realm=\"%s\"", realm);
        httpd_add_header(req, "www-authenticate", hdr);
        httpd_send_problem(req, 401, "Unauthorized", "a valid admin token is required (Bearer or Basic)");
        return -1;
    }
    return 0;
}

/* POST /actuator/refresh: Spring Boot's refresh endpoint (the admin token's). */
static int svc_refresh_h(void *ctx, h2o_req_t *req)
{
    const svc_http_t *h = ctx;
    json_t *body = NULL;
    if (svc_admin_check(req, h->admin_token, h->admin_token_env, "actuator") != 0)
        return 0;
    int status = svc_live_refresh(h->live, &body);
    if (status == 200)
        return httpd_send_json(req, 200, body);
    httpd_send_problem(req, status, json_string_value(json_object_get(body, "title")), "%s",
                       json_string_value(json_object_get(body, "detail")));
    json_decref(body);
    return 0;
}

static int svc_metrics_h(void *ctx, h2o_req_t *req)
{
    return httpd_send_metrics(req, ((const svc_http_t *)ctx)->metrics);
}

int svc_http_register(httpd_t *s, const svc_http_t *h)
{
    void *ctx = (void *)h; /* the handlers only read it */
    if (httpd_route(s, "GET", "/health/liveness", "/health/liveness", svc_health, ctx) ||
        httpd_route(s, "GET", "/health/readiness", "/health/readiness", svc_health, ctx) ||
        httpd_route(s, "GET", "/health", "/health", svc_health, ctx) ||
        httpd_route(s, "GET", "/actuator/health", "/health", svc_health, ctx) ||
        httpd_route(s, "GET", "/metrics", "/metrics", svc_metrics_h, ctx))
        return -1;
    if (h->live != NULL &&
        httpd_route(s, "POST", "/actuator/refresh", "/actuator/refresh", svc_refresh_h, ctx))
        return -1;
    return 0;
}

int svc_http_opts(const cfgcli_t *cfg, httpd_opts_t *o, char *err, size_t errlen)
{
    int enabled, reload;
    const char *cert = cfgcli_get_str(cfg, "server.ssl.certificate", "");
    const char *auth = cfgcli_get_str(cfg, "server.ssl.client-auth", "none");
    o->tls = (httpd_tls_opts_t){0};
    if (cfgcli_get_int_range(cfg, "server.max-connections", 0, 0, 1000000, &o->max_connections, err,
                             errlen) ||
        cfgcli_get_bool(cfg, "server.ssl.enabled", cert[0] != '\0', &enabled, err, errlen) ||
        cfgcli_get_int_range(cfg, "server.ssl.reload-interval-ms", 5000, 100, 3600000, &reload, err, errlen))
        return -1;
    if (!enabled)
        return 0;
    if (cert[0] == '\0') {
        snprintf(err, errlen,
                 "config key 'server.ssl.enabled' is true but 'server.ssl.certificate' is not set");
        return -1;
    }
    o->tls.cert_file = cert;
    o->tls.key_file = cfgcli_get_str(cfg, "server.ssl.certificate-private-key", "");
    o->tls.client_ca_file = cfgcli_get_str(cfg, "server.ssl.trust-certificate", "");
    o->tls.reload_interval_ms = reload;
    if (o->tls.key_file[0] == '\0') {
        snprintf(err, errlen,
                 "config key 'server.ssl.certificate-private-key' is needed with 'server.ssl.certificate'");
        return -1;
    }
    if (httpd_client_auth_parse(auth, &o->tls.client_auth) != 0) {
        snprintf(err, errlen, "config key 'server.ssl.client-auth' = '%s' is not none, want or need", auth);
        return -1;
    }
    if (o->tls.client_auth != HTTPD_CLIENT_AUTH_NONE && o->tls.client_ca_file[0] == '\0') {
        snprintf(err, errlen,
                 "config key 'server.ssl.client-auth' = '%s' needs 'server.ssl.trust-certificate'", auth);
        return -1;
    }
    return 0;
}

httpd_t *svc_http_start(const httpd_opts_t *o, const svc_http_t *h, svc_routes_fn routes, void *ctx)
{
    char err[512] = "";
    httpd_opts_t ho = *o;
    httpd_t *s;
    ho.observe = httpd_metrics_observe;
    ho.observe_ctx = h->metrics;
    if (ho.adopt_fd <= 0) /* a restart in place: the socket of the previous image */
        ho.adopt_fd = svc_live_inherited_listener(ho.host, ho.port, o->log);
    httpd_metrics_declare(h->metrics, o->log != NULL ? o->log->service : "service", CQ_VERSION);
    s = httpd_new(&ho, err, sizeof err);
    if (s == NULL || (routes != NULL && routes(s, ctx) != 0) || svc_http_register(s, h) != 0 ||
        httpd_start(s, err, sizeof err) != 0) {
        clog_error(o->log, "HTTP server: %s", err[0] ? err : "route registration failed");
        httpd_free(s);
        return NULL;
    }
    return s;
}

/* ---- stop ---- */

struct svc_stop {
    const clog_t *log;
    int deadline_ms;
    atomic_int done;
    pthread_t thread;
};

static void svc_stop_sigs(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

int svc_stop_pending(void)
{
    sigset_t p;
    if (sigpending(&p) != 0)
        return 0;
    return sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1;
}

int svc_stop_requested(const clog_t *log)
{
    if (!svc_stop_pending())
        return 0;
    clog_info(log, "signal during start-up: exiting");
    return 1;
}

/* The watchdog: waits in 100 ms slices (also for a second signal) until done or late. */
static void *svc_watchdog(void *arg)
{
    svc_stop_t *st = arg;
    sigset_t set;
    int64_t end = svc_mono_ms() + st->deadline_ms;
    svc_stop_sigs(&set);
    while (!atomic_load(&st->done)) {
        struct timespec slice = {0, 100 * 1000000L};
        int sig = sigtimedwait(&set, NULL, &slice);
        if (atomic_load(&st->done))
            break;
        if (sig > 0) {
            clog_error(st->log, "signal %d during shutdown: exiting now (status %d)", sig,
                       SVC_EXIT_STOP_TIMEOUT);
            _exit(SVC_EXIT_STOP_TIMEOUT);
        }
        if (svc_mono_ms() >= end) {
            clog_error(st->log, "shutdown did not finish within %d ms: exiting (status %d)", st->deadline_ms,
                       SVC_EXIT_STOP_TIMEOUT);
            _exit(SVC_EXIT_STOP_TIMEOUT);
        }
    }
    return NULL;
}

svc_stop_t *svc_stop_guard(const clog_t *log, int deadline_ms)
{
    svc_stop_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->log = log;
    st->deadline_ms = deadline_ms > 0 ? deadline_ms : 10000;
    if (pthread_create(&st->thread, NULL, svc_watchdog, st) != 0) {
        clog_warn(log, "cannot start the shutdown watchdog: %s", strerror(errno));
        free(st);
        return NULL;
    }
    return st;
}

svc_stop_t *svc_wait_stop(const clog_t *log, int deadline_ms, const char *what, int *sig)
{
    int s = httpd_wait_signal();
    if (sig != NULL)
        *sig = s;
    clog_info(log, "signal %d: %s (at most %d ms)", s, what ? what : "stopping",
              deadline_ms > 0 ? deadline_ms : 10000);
    return svc_stop_guard(log, deadline_ms);
}

void svc_stop_done(svc_stop_t *st)
{
    if (st == NULL)
        return;
    atomic_store(&st->done, 1);
    pthread_join(st->thread, NULL);
    free(st);
}

int svc_tracing(const cfgcli_t *c, const char *app, const clog_t *log, otel_t **out, char *err, size_t errlen)
{
    const char *ep = cfgcli_get_str(c, "tracing.otlp-endpoint", NULL);
    char e[512];
    *out = NULL;
    if (ep == NULL)
        ep = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    if (ep == NULL || *ep == '\0' || strcmp(ep, "none") == 0)
        return 0;
    const otel_opts_t o = {.endpoint = ep, .service = app, .log = log};
    *out = otel_new(&o, e, sizeof e);
    if (*out == NULL) {
        snprintf(err, errlen, "tracing.otlp-endpoint: %s", e);
        return -1;
    }
    clog_info(log, "tracing: spans exported over OTLP/HTTP to %s", ep);
    return 0;
}
