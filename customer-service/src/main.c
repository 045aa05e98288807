/* main.c — customer-service: the write side (customer commands → PostgreSQL + outbox →
 * Kafka).
 *
 * The container: fetch the configuration (config-server via cfgcli; read and checked by
 * config.c), connect to PostgreSQL and apply the migrations, build the adapters and wire
 * them into the application's ports, start the HTTP server (a taken port fails the start at
 * once, exit 70) and the outbox relay, then wait for SIGTERM/SIGINT: stop accepting, finish
 * in-flight requests, flush the producer, exit 0 — within 10 s (common/svc/svc.h's watchdog ends
 * an overrunning teardown with exit 75; unpublished outbox rows stay in the outbox for the
 * next relay). A SIGTERM during the start-up is honoured between its steps. While it runs,
 * the configuration is watched (common/svc/svc_live.h): live keys apply at once, a
 * restart-class change drains the same way, keeps the listening socket and re-executes the
 * program, which fetches the configuration again. The glue shared with order-service
 * (arguments, configuration, conninfo, migration, health, metrics, stop) is common/svc/svc.h.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/customer_app.h"
#include "application/customer_ops.h"
#include "cfgcli.h"
#include "clog.h"
#include "config.h"
#include "dataaccess/customer_pgrepo.h"
#include "dataaccess/outbox_pgstore.h"
#include "dataaccess/snapshot_pgstore.h"
#include "evcodec.h"
#include "http/admin_http.h"
#include "http/customer_http.h"
#include "httpd.h"
#include "messaging/customer_event_encoder.h"
#include "messaging/outbox_relay.h"
#include "metrics.h"
#include "pgpool.h"
#include "svc.h"
#include "svc_pg.h"

#define EXIT_DB SVC_EXIT_UNAVAILABLE    /* 69: database or schema registry unreachable, migration failed */
#define EXIT_SOFTWARE SVC_EXIT_SOFTWARE /* 70 */
#define STOP_DEADLINE_MS 10000

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: customer-service [--help] [--version]\n\n"
        "customer-service — the write side of cqrs-ordering: POST/PUT/DELETE/GET /customers,\n"
        "stored in PostgreSQL (schema customer) with a transactional outbox that a relay\n"
        "publishes to Kafka as Avro CustomerAvroModel events (key = customer id).\n\n"
        "Configuration comes from the config-server (application customer-service):\n"
        "  CONFIG_SERVER_URL   comma list of config-server URLs (default %s)\n"
        "  APP_PROFILES        profiles, e.g. local, test, k8s (default \"default\")\n"
        "  CONFIG_LABEL, CONFIG_SERVER_USER/PASSWORD, CONFIG_CACHE_FILE (see config-repo/README.md)\n"
        "  CONFIG_WATCH        false = read the configuration at start only (default: follow it;\n"
        "                      CONFIG_WATCH_WAIT_S, CONFIG_WATCH_INTERVAL_MS: config-repo/README.md)\n"
        "  CUSTOMER_ADMIN_TOKEN  token for POST /actuator/refresh and the operations API (/admin/backfill,\n"
        "                      /admin/checksum; scripts/cqadmin.sh) — Bearer, or Basic with it as the\n"
        "                      password; unset = those endpoints are disabled\n"
        "Every key can be overridden by an env var: server.port ← SERVER_PORT,\n"
        "kafka-config.bootstrap-servers ← KAFKA_CONFIG_BOOTSTRAP_SERVERS, …\n"
        "Keys used: server.port (8184), server.threads (8), server.max-body-bytes (65536),\n"
        "  customer-service.customer-topic-name (customer), kafka-config.*, kafka-producer-config.*,\n"
        "  datasource.* (host, port, user, password, dbname, sslmode, pool-size), outbox.*, "
        "logging.level.root.\n"
        "Configuration changes: live keys (the log level, outbox.* but lock-key) apply at once; the\n"
        "others (server.*, datasource.*, kafka-*, the topic) restart the program in place: it drains,\n"
        "keeps its listening socket and re-executes itself; an invalid configuration is refused and\n"
        "shown on /health (customer-service/README.md, \"Configuration changes\").\n\n"
        "Exit codes: 0 after SIGTERM/SIGINT, %d configuration unavailable/invalid (or a schema the\n"
        "registry finds incompatible with the subject's latest version), %d database\n"
        "(or schema registry) unreachable or migration failed, %d other start-up failure (e.g.\n"
        "the HTTP port is taken), %d the shutdown overran %d s (or a second signal came).\n",
        CFGCLI_DEFAULT_URL, CFGCLI_EXIT_UNAVAILABLE, EXIT_DB, EXIT_SOFTWARE, SVC_EXIT_STOP_TIMEOUT,
        STOP_DEADLINE_MS / 1000);
}

/* ---- ports implemented here (clock, ids) ---- */
static int64_t cs_wall(void *self)
{
    return svc_wall_ms();
}
static const customer_clock_ops_t cs_clock_ops = {cs_wall};

static void cs_uuid(void *self, char out[CUSTOMER_ID_LEN + 1])
{
    svc_uuid(out);
}
static const customer_idgen_ops_t cs_idgen_ops = {cs_uuid};

/* The event codec: the embedded catalog, or schema ids from the registry when
 * kafka-config.schema-registry-url is set (docs/design.md §4): the newest schema is checked
 * against the subject's latest version first (the registry's compatibility level decides;
 * the service does not set it; when it is weaker than BACKWARD the codec checks BACKWARD
 * itself and this warns), an incompatible
 * one stops the start with CFGCLI_EXIT_CONFIG (78), an unreachable registry with EXIT_DB
 * (69). NULL after logging why, with *rc. */
static evcodec_t *cs_codec_new(const cs_config_t *cfg, const clog_t *log, int *rc)
{
    char err[1024] = "", level[256];
    evcodec_t *codec = evcodec_new_default(err, sizeof err);
    if (codec == NULL) {
        clog_error(log, "start-up failed: %s", err);
        *rc = EXIT_SOFTWARE;
        return NULL;
    }
    if (*cfg->registry_url == '\0')
        return codec;
    if (evcodec_registry_level(cfg->registry_url, EVCODEC_SUBJECT_CUSTOMER, cfg->registry_user,
                               cfg->registry_password, 10000, level, sizeof level, err, sizeof err) != 0)
        snprintf(level, sizeof level, "not known (%.200s)", err);
    else if (strncmp(level, "BACKWARD", 8) != 0 && strncmp(level, "FULL", 4) != 0)
        clog_warn(log,
                  "schema registry %s: subject %s has compatibility level %s, weaker than the BACKWARD the "
                  "schemas evolve under: this service checks BACKWARD itself, other producers are not held "
                  "to it by the registry",
                  cfg->registry_url, EVCODEC_SUBJECT_CUSTOMER, level);
    switch (evcodec_use_registry(codec, cfg->registry_url, EVCODEC_SUBJECT_CUSTOMER, cfg->registry_user,
                                 cfg->registry_password, 10000, err, sizeof err)) {
    case 0:
        break;
    case -2: /* the registry refuses the schema: a configuration error, not an outage */
        clog_error(log, "start-up refused: %s", err);
        evcodec_free(codec);
        *rc = CFGCLI_EXIT_CONFIG;
        return NULL;
    default:
        clog_error(log, "%s", err);
        evcodec_free(codec);
        *rc = EXIT_DB;
        return NULL;
    }
    clog_info(log, "schema registry %s: subject %s (compatibility level %s) has id %d", cfg->registry_url,
              EVCODEC_SUBJECT_CUSTOMER, level, (int)evcodec_latest_id(codec, EVCODEC_SUBJECT_CUSTOMER));
    return codec;
}

typedef struct cs_main {
    metrics_t *metrics;
    svc_live_t *live;                /* the configuration in effect */
    _Atomic(outbox_relay_t *) relay; /* while it runs: the live outbox settings go to it */
    int restart;                     /* cs_serve ended for a restart in place */
    int keep_fd;                     /* the listening socket kept for it, or -1 */
    int port;
    char address[256]; /* server.address, copied: the snapshot goes with cs_serve */
    otel_t *otel;      /* the span exporter (tracing.otlp-endpoint), or NULL */
    trc_sink_t tracer; /* its sink (emit NULL without one: traces only mark log lines) */
} cs_main_t;

/* ---- the configuration while running (svc_live) ---- */
static void *cs_live_build(void *self, const cfgcli_t *cfg, char *err, size_t errlen)
{
    return cs_config_new(cfg, err, errlen);
}
static void cs_live_free(void *self, void *settings)
{
    cs_config_free(settings);
}
static int cs_live_preflight(void *self, const void *settings, char *err, size_t errlen)
{
    return cs_config_preflight(settings, err, errlen);
}
static outbox_relay_tuning_t cs_relay_tuning(const cs_config_t *cfg)
{
    return (outbox_relay_tuning_t){.batch_size = cfg->batch_size,
                                   .sweep_ms = cfg->poll_interval_ms,
                                   .lock_poll_ms = cfg->lock_poll_ms,
                                   .retention_ms = cfg->retention_ms,
                                   .flush_ms = cfg->flush_ms,
                                   .cleanup_interval_ms = cfg->sweep_interval_ms,
                                   .backoff_initial_ms = cfg->backoff_initial_ms,
                                   .backoff_max_ms = cfg->backoff_max_ms,
                                   .standby_flush = cfg->standby_flush,
                                   .read_window_ms = cfg->read_window_ms};
}
/* After a live swap: the relay takes the new outbox settings at its next pass. */
static void cs_live_applied(void *self, const void *settings)
{
    outbox_relay_t *relay = atomic_load(&((cs_main_t *)self)->relay);
    if (relay != NULL) {
        outbox_relay_tuning_t t = cs_relay_tuning(settings);
        outbox_relay_tune(relay, &t);
    }
}

/* What the HTTP server's routes are wired to: the customers API and the operations API. */
typedef struct cs_routes {
    customer_http_t *http;
    cs_admin_http_t *admin;
} cs_routes_t;

static int cs_routes(httpd_t *s, void *ctx)
{
    cs_routes_t *r = ctx;
    return customer_http_register(s, r->http) != 0 || cs_admin_http_register(s, r->admin) != 0 ? -1 : 0;
}

/* Serves until SIGTERM/SIGINT (0) or a restart-class change (0, m->restart set, the
 * listening socket in m->keep_fd), or a failed start (exit code). */
static int cs_serve(cs_main_t *m, const evcodec_t *codec, const clog_t *log)
{
    int rc = EXIT_SOFTWARE, sig = 0;
    char err[1024] = "";
    metrics_t *metrics = m->metrics;
    const svc_snap_t *snap = svc_live_acquire(m->live);
    const cs_config_t *cfg = snap->settings;
    pgpool_t *pool = NULL;
    outbox_pgstore_t *ostore = NULL;
    outbox_relay_t *relay = NULL;
    rd_kafka_conf_t *pconf = NULL;
    httpd_t *srv = NULL;
    svc_stop_t *stop = NULL;
    customer_pgrepo_t repo;
    customer_app_t app;
    customer_http_t http;
    snapshot_pgstore_t snapstore;
    cs_ops_t *ops = NULL;
    cs_admin_http_t admin;
    cs_routes_t routes = {&http, &admin};

    pool = pgpool_new(cfg->conninfo, cfg->pool_size, log);
    ostore = outbox_pgstore_new(cfg->conninfo, log);
    if (metrics == NULL || pool == NULL || ostore == NULL) {
        clog_error(log, "start-up failed: out of memory");
        goto cleanup;
    }
    pconf = cs_config_producer_conf(cfg, err, sizeof err);
    if (pconf == NULL) {
        clog_error(log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    const outbox_relay_opts_t ro = {.topic = cfg->topic,
                                    .kafka = &cfg->kafka,
                                    .tracer = m->tracer,
                                    .batch_size = cfg->batch_size,
                                    .sweep_ms = cfg->poll_interval_ms,
                                    .lock_poll_ms = cfg->lock_poll_ms,
                                    .retention_ms = cfg->retention_ms,
                                    .lock_key = cfg->lock_key,
                                    .flush_ms = cfg->flush_ms,
                                    .cleanup_interval_ms = cfg->sweep_interval_ms,
                                    .backoff_initial_ms = cfg->backoff_initial_ms,
                                    .backoff_max_ms = cfg->backoff_max_ms,
                                    .partitions = cfg->partitions,
                                    .replication = cfg->replication,
                                    .min_isr = cfg->min_isr,
                                    .standby_flush = cfg->standby_flush,
                                    .read_window_ms = cfg->read_window_ms};
    const outbox_store_t store = outbox_pgstore_port(ostore);
    relay = outbox_relay_new(&ro, &store, pconf, log, metrics, err, sizeof err);
    pconf = NULL; /* stolen */
    if (relay == NULL) {
        clog_error(log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }

    repo = (customer_pgrepo_t){.pool = pool, .log = log, .timeout_ms = 5000};
    app.repo = customer_pgrepo_port(&repo);
    app.encoder = customer_event_encoder_port(codec);
    app.idgen = (customer_idgen_t){&cs_idgen_ops, NULL};
    app.clock = (customer_clock_t){&cs_clock_ops, NULL};

    /* HTTP before the relay thread: a taken port fails the start before any row is sent. */
    http = (customer_http_t){&app, log};
    snapstore = (snapshot_pgstore_t){pool};
    ops = cs_ops_new(&app, snapshot_pgstore_port(&snapstore), metrics, log);
    if (ops == NULL) {
        clog_error(log, "start-up failed: out of memory");
        goto cleanup;
    }
    /* Ready = can take writes: the database. Kafka is shown, not required: while it is away
     * the outbox keeps every write and the relay publishes them once it is back. */
    const svc_check_t checks[] = {{"db", svc_pool_up, pool, 0}, {"kafka", outbox_relay_kafka_ok, relay, 1}};
    const char *token = getenv("CUSTOMER_ADMIN_TOKEN");
    admin = (cs_admin_http_t){ops, token};
    const svc_http_t sh = {.metrics = metrics,
                           .checks = checks,
                           .n_checks = sizeof checks / sizeof checks[0],
                           .live = m->live,
                           .admin_token = token,
                           .admin_token_env = "CUSTOMER_ADMIN_TOKEN"};
    const httpd_opts_t ho = {.host = cfg->address,
                             .port = cfg->port,
                             .threads = cfg->http_threads,
                             .max_body = (size_t)cfg->max_body,
                             .log = log,
                             .max_connections = cfg->listen.max_connections,
                             .tls = cfg->listen.tls,
                             .tracer = &m->tracer};
    srv = svc_http_start(&ho, &sh, cs_routes, &routes);
    if (srv == NULL)
        goto cleanup;
    if (outbox_relay_start(relay) != 0) {
        clog_error(log, "could not start the outbox relay thread");
        goto cleanup;
    }
    atomic_store(&m->relay, relay);
    const svc_snap_t *now = svc_live_acquire(m->live); /* a refresh during the start */
    cs_live_applied(m, now->settings);
    svc_live_release(m->live, now);
    clog_info(log, "customer-service %s listening on port %d", CQ_VERSION, httpd_port(srv));
    if (svc_live_watch(m->live, err, sizeof err) != 0)
        clog_warn(log, "configuration changes will not be followed: %s", err);
    m->restart = svc_live_wait(m->live, &sig) == SVC_LIVE_RESTART;
    if (m->restart)
        clog_info(log, "restart in place: draining HTTP, flushing the producer (at most %d ms)",
                  STOP_DEADLINE_MS);
    else
        clog_info(log, "signal %d: draining HTTP, flushing the producer (at most %d ms)", sig,
                  STOP_DEADLINE_MS);
    stop = svc_stop_guard(log, STOP_DEADLINE_MS);
    m->keep_fd = m->restart ? httpd_keep_listener(srv) : -1;
    m->port = cfg->port;
    snprintf(m->address, sizeof m->address, "%s", cfg->address);
    httpd_stop(srv);
    outbox_relay_stop(relay);
    rc = 0;
cleanup:
    if (stop == NULL && srv != NULL)
        stop = svc_stop_guard(log, STOP_DEADLINE_MS); /* a failed start's teardown is bounded too */
    httpd_free(srv);
    cs_ops_free(ops); /* after the HTTP threads: they use it */
    atomic_store(&m->relay, NULL);
    outbox_relay_free(relay);
    outbox_pgstore_free(ostore);
    if (pconf)
        rd_kafka_conf_destroy(pconf);
    pgpool_free(pool);
    svc_stop_done(stop);
    if (rc == 0 && !m->restart)
        clog_info(log, "stopped");
    svc_live_release(m->live, snap);
    return rc;
}

int main(int argc, char **argv)
{
    static const svc_info_t info = {"customer-service", CQ_VERSION, usage, NULL};
    int command = -1;
    clog_t log;
    cfgcli_t *cfgc = NULL;
    cs_config_t *cfg = NULL;
    evcodec_t *codec = NULL;
    cs_main_t m = {.keep_fd = -1};
    char err[1024];
    int rc = svc_start(&info, argc, argv, 0, &log, &command, &cfgc);

    if (rc != SVC_CONTINUE)
        return rc;
    rc = EXIT_SOFTWARE;
    cfg = cs_config_new(cfgc, err, sizeof err);
    if (cfg == NULL) {
        clog_error(&log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    clog_info(&log, "configuration from %s (version %s); topic %s, kafka %s", cfgcli_origin(cfgc),
              cfgcli_version(cfgc), cfg->topic, cfg->kafka.bootstrap);
    if (cs_config_kafka_check(cfg, &log, err, sizeof err) != 0) {
        clog_error(&log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    if (svc_live_restart_reason() != NULL)
        clog_info(&log, "restarted in place: %s", svc_live_restart_reason());
    if (svc_migrate(cfg->conninfo, "customer-service", customer_migrations, 10, &log) != 0) {
        rc = svc_stop_requested(&log) ? 0 : EXIT_DB;
        goto cleanup;
    }
    if (svc_tracing(cfgc, "customer-service", &log, &m.otel, err, sizeof err) != 0) {
        clog_error(&log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    m.tracer = otel_sink(m.otel);
    codec = cs_codec_new(cfg, &log, &rc);
    if (codec == NULL)
        goto cleanup;
    m.metrics = metrics_new();
    const svc_live_opts_t lo = {.app = "customer-service",
                                .metric_prefix = "customer",
                                .rules = cs_config_keys,
                                .n_rules = cs_config_nkeys,
                                .ops = {cs_live_build, cs_live_free, cs_live_preflight, cs_live_applied},
                                .self = &m,
                                .log = &log,
                                .metrics = m.metrics};
    m.live = m.metrics != NULL ? svc_live_new(&lo, cfgc, cfg, err, sizeof err) : NULL;
    cfgc = NULL; /* stolen */
    cfg = NULL;
    if (m.live == NULL) {
        clog_error(&log, "start-up failed: %s", m.metrics != NULL ? err : "out of memory");
        goto cleanup;
    }
    rc = cs_serve(&m, codec, &log);
cleanup:
    evcodec_free(codec);
    if (rc == 0 && m.restart)
        rc = svc_live_reexec(m.live, argv, m.keep_fd, m.address, m.port, &log);
    svc_live_free(m.live);
    otel_free(m.otel); /* sends the spans still queued */
    metrics_free(m.metrics);
    cs_config_free(cfg);
    cfgcli_free(cfgc);
    return rc;
}
