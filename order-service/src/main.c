/* main.c — order-service: the read side of the CQRS flow and the orders API.
 *
 * The container: fetch the configuration (config-server via cfgcli, or env only with
 * CONFIG_SERVER_URL=none), connect to PostgreSQL and apply the migrations, make sure the
 * topics exist, start the HTTP server (a taken port fails the start at once) and the
 * projector thread (customer topic → "order".customers), then wait for SIGTERM/SIGINT: stop
 * accepting and drain HTTP, let the projector finish (commit) its batch, exit 0 — within
 * 10 s even with Kafka or PostgreSQL gone (common/svc/svc.h's watchdog; exit 75 if it has to
 * cut the teardown short). A SIGTERM during the start-up is honoured between its steps.
 * While it runs, the configuration is watched (common/svc/svc_live.h): live keys reach the
 * request handlers (a per-request copy of the application's settings) and the projector
 * (os_projector_tune); a restart-class change drains the same way, keeps the listening
 * socket and re-executes the program, which fetches the configuration again.
 * `order-service rebuild-read-model` rebuilds the read model from the topic and exits.
 * The settings are read and checked by config.c; the glue shared with customer-service
 * (arguments, configuration, conninfo, migration, health, metrics, stop) is common/svc/svc.h.
 * This is the one place that builds the stores (dataaccess/) and the Kafka adapters
 * (messaging/) and wires them into the workers as ports.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "application/changes.h"
#include "application/handlers.h"
#include "application/ops_replay.h"
#include "application/reconcile.h"
#include "cfgcli.h"
#include "clog.h"
#include "config.h"
#include "dataaccess/pg_ops.h"
#include "dataaccess/pg_redrive.h"
#include "dataaccess/pg_projdb.h"
#include "dataaccess/pg_rebuild.h"
#include "dataaccess/pg_reconcile.h"
#include "dataaccess/pg_repos.h"
#include "embed.h"
#include "evcodec.h"
#include "http/ops_routes.h"
#include "http/reconcile_routes.h"
#include "http/routes.h"
#include "httpd.h"
#include "kfk.h"
#include "messaging/cs_client.h"
#include "messaging/kconsumer.h"
#include "messaging/kdlq.h"
#include "messaging/kdlq_reader.h"
#include "messaging/ktopic.h"
#include "messaging/projector.h"
#include "messaging/rebuild.h"
#include "messaging/rebuild_ctl.h"
#include "metrics.h"
#include "pgpool.h"
#include "svc.h"
#include "svc_pg.h"

extern const embed_file_t order_migrations[];

#define EXIT_RUNTIME SVC_EXIT_SOFTWARE /* 70: any other start-up or run failure */
#define EXIT_DB SVC_EXIT_UNAVAILABLE   /* 69: database unreachable or migration failed */
#define STOP_DEADLINE_MS 10000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: order-service [--help] [--version] [rebuild-read-model]\n\n"
            "order-service — the read side: projects the customer topic into the read model\n"
            "\"order\".customers and serves the orders API (POST /orders, GET /orders/{id},\n"
            "GET /customers/{id}, /health/*, /metrics, POST /admin/rebuild-read-model).\n\n"
            "commands:\n"
            "  (none)               run the service until SIGTERM/SIGINT\n"
            "  rebuild-read-model   replay the topic into a shadow table, swap it in, exit\n\n"
            "environment:\n"
            "  CONFIG_SERVER_URL    config-server URL(s), comma list (default %s);\n"
            "                       'none' = no config server, keys from env vars only\n"
            "  APP_PROFILES         profiles, e.g. local (default: default)\n"
            "  LOG_LEVEL            log level (else the config key logging.level.root, default info)\n"
            "  ORDER_ADMIN_TOKEN    token for the admin endpoints, POST /admin/rebuild-read-model and\n"
            "                       POST /actuator/refresh (unset = both disabled)\n"
            "  CONFIG_WATCH         false = read the configuration at start only (default: follow it;\n"
            "                       CONFIG_WATCH_WAIT_S, CONFIG_WATCH_INTERVAL_MS: config-repo/README.md)\n"
            "  any config key as an env var, e.g. SERVER_PORT, DATASOURCE_HOST,\n"
            "  KAFKA_CONFIG_BOOTSTRAP_SERVERS, ORDER_SERVICE_CUSTOMER_TOPIC_NAME,\n"
            "  ORDER_SERVICE_CUSTOMER_WAIT_MS, KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID\n"
            "  KAFKA_CONFIG_SCHEMA_REGISTRY_URL (_USER, _PASSWORD)  a Confluent-compatible schema\n"
            "                       registry: the records' schema ids are resolved through it (unset:\n"
            "                       the embedded catalog); while it does not answer the projection\n"
            "                       waits and retries, an id it does not have is dead-lettered\n\n"
            "configuration changes: live keys (log level, order-service.customer-wait-ms, projection.*,\n"
            "  kafka-consumer-config.poll-timeout-ms) apply at once; the others (server.*, datasource.*,\n"
            "  kafka-*, topic names) restart the program in place: it drains, keeps its listening\n"
            "  socket and re-executes itself; an invalid configuration is refused and shown on /health\n"
            "  (order-service/README.md, \"Configuration changes\").\n\n"
            "exit codes: 0 after SIGTERM/SIGINT (or a successful rebuild), 2 usage, %d configuration\n"
            "unavailable/invalid, %d database unreachable or migration failed, %d other failure\n"
            "(e.g. the HTTP port is taken), %d the shutdown overran %d s (or a second signal came).\n",
            CFGCLI_DEFAULT_URL, CFGCLI_EXIT_CONFIG, EXIT_DB, EXIT_RUNTIME, SVC_EXIT_STOP_TIMEOUT,
            STOP_DEADLINE_MS / 1000);
}

/* ---- ports implemented here (clock, ids) ---- */
static int64_t os_wall(void *self)
{
    return svc_wall_ms();
}
static int64_t os_mono(void *self)
{
    return svc_mono_ms();
}
static void os_uuid(void *self, char out[ORDER_UUID_LEN + 1])
{
    svc_uuid(out);
}

typedef struct os_main {
    metrics_t *metrics;
    pgpool_t *pool;
    _Atomic(os_projector_t *) projector; /* set once started; read by the readiness checks */
    svc_live_t *live;                    /* the configuration in effect */
    int restart;                         /* os_serve ended for a restart in place */
    int keep_fd;                         /* the listening socket kept for it, or -1 */
    int port;
    otel_t *otel;      /* the span exporter (tracing.otlp-endpoint), or NULL */
    trc_sink_t tracer; /* its sink (emit NULL without one: traces only mark log lines) */
} os_main_t;

/* ---- the configuration while running (svc_live) ---- */
static void *os_live_build(void *self, const cfgcli_t *cfg, char *err, size_t errlen)
{
    return os_config_new(cfg, err, errlen);
}
static void os_live_free(void *self, void *settings)
{
    os_config_free(settings);
}
static int os_live_preflight(void *self, const void *settings, char *err, size_t errlen)
{
    return os_config_preflight(settings, err, errlen);
}
static os_projector_tuning_t os_tuning(const os_config_t *cfg)
{
    return (os_projector_tuning_t){cfg->batch_size, cfg->poll_ms, cfg->max_retries,
                                   (int)cfg->retry_backoff_ms, (int)cfg->check_ms};
}
/* After a live swap: the projector takes the new values at its next batch. */
static void os_live_applied(void *self, const void *settings)
{
    os_projector_t *p = atomic_load(&((os_main_t *)self)->projector);
    if (p != NULL) {
        os_projector_tuning_t t = os_tuning(settings);
        os_projector_tune(p, &t);
    }
}
/* Once per POST /orders: the live values of the application's settings. */
static void os_live_app(void *ctx, os_app_t *app)
{
    svc_live_t *live = ((os_main_t *)ctx)->live;
    const svc_snap_t *s = svc_live_acquire(live);
    app->customer_wait_ms = ((const os_config_t *)s->settings)->customer_wait_ms;
    svc_live_release(live, s);
}

static int os_kafka_up(void *ctx)
{
    return os_projector_kafka_ok(atomic_load(&((os_main_t *)ctx)->projector));
}
/* The reconciliation's health component: DOWN while the last round found drift. */
static int os_reconcile_up(void *ctx)
{
    os_reconcile_status_t *st = malloc(sizeof *st);
    int up = 1;
    if (st != NULL) {
        os_reconciler_status(ctx, st);
        up = st->drift == 0;
        free(st);
    }
    return up ? SVC_UP : SVC_DOWN;
}

static int os_projection_up(void *ctx)
{
    os_projector_t *p = atomic_load(&((os_main_t *)ctx)->projector);
    if (!os_projector_healthy(p))
        return SVC_DOWN;
    return os_projector_catching_up(p) ? SVC_CATCHING_UP : SVC_UP;
}

/* What the HTTP server's routes are wired to: the API and the operations API. */
typedef struct os_routes_ctx {
    os_http_t *http;
    os_ops_http_t *ops;
    os_reconcile_http_t *rc;
} os_routes_ctx_t;

static int os_routes(httpd_t *s, void *ctx)
{
    os_routes_ctx_t *r = ctx;
    return os_http_register(s, r->http) != 0 || os_ops_http_register(s, r->ops) != 0 ||
                   os_reconcile_http_register(s, r->rc) != 0
               ? -1
               : 0;
}

static void os_ensure_topics(const os_config_t *cfg, const clog_t *log)
{
    char err[512];
    kfk_opaque_t opq = {log, NULL};
    rd_kafka_conf_t *conf = kfk_conf_new(&cfg->kafka, "order-service-admin", &opq, err, sizeof err);
    rd_kafka_t *rk = conf ? kfk_producer_new(conf, err, sizeof err) : NULL;
    static const kfk_kv_t compact[] = {{"cleanup.policy", "compact"}};
    if (rk == NULL) {
        clog_warn(log, "cannot check topics: %s", err);
        return;
    }
    if (!kfk_reachable(rk, 3000)) {
        /* Not 2 × 15 s of a deaf start-up: the consumer waits for the topic anyway. */
        clog_warn(log, "Kafka (%s) unreachable: topics %s and %s not checked", cfg->kafka.bootstrap,
                  cfg->topic, cfg->dlq_topic);
        rd_kafka_destroy(rk);
        return;
    }
    const kfk_topic_spec_t spec = {cfg->partitions, cfg->replication, cfg->min_isr};
    const kfk_topic_spec_t dlq = {1, cfg->replication, cfg->min_isr};
    if (kfk_ensure_topic(rk, cfg->topic, &spec, compact, 1, 15000, err, sizeof err) < 0)
        clog_warn(log, "topic %s: %s", cfg->topic, err);
    if (kfk_ensure_topic(rk, cfg->dlq_topic, &dlq, NULL, 0, 15000, err, sizeof err) < 0)
        clog_warn(log, "topic %s: %s", cfg->dlq_topic, err);
    rd_kafka_destroy(rk);
}

/* The rebuild's settings on `store` (the store port's object: borrowed). */
static os_rebuild_opts_t os_rebuild_opts(const os_config_t *cfg, const evcodec_t *codec, const clog_t *log,
                                         os_pgrebuild_t *store)
{
    os_rebuild_opts_t ro = {.kafka = &cfg->kafka,
                            .topic = cfg->topic,
                            .group_prefix = cfg->group_id,
                            .store = os_pgrebuild_port(store),
                            .consumer_kv = cfg->consumer_kv,
                            .n_consumer_kv = cfg->n_consumer_kv,
                            .batch_max = 10000,
                            .codec = codec,
                            .log = log};
    return ro;
}

static int os_rebuild_cli(const os_config_t *cfg, const evcodec_t *codec, const clog_t *log)
{
    os_pgrebuild_t *store = os_pgrebuild_new(cfg->conninfo, log);
    os_rebuild_stats_t st;
    char err[1024];
    if (store == NULL) {
        clog_error(log, "rebuild-read-model failed: out of memory");
        return EXIT_RUNTIME;
    }
    os_rebuild_opts_t ro = os_rebuild_opts(cfg, codec, log, store);
    int rc = os_rebuild_run(&ro, &st, err, sizeof err);
    os_pgrebuild_free(store);
    if (rc != 0) {
        clog_error(log, "rebuild-read-model failed: %s", err);
        return EXIT_RUNTIME;
    }
    double secs = (double)st.elapsed_ms / 1000.0;
    printf("{\"events\":%llu,\"rows\":%llu,\"poison\":%llu,\"elapsedMs\":%lld,\"swapMs\":%lld,"
           "\"eventsPerSecond\":%.0f}\n",
           (unsigned long long)st.events, (unsigned long long)st.rows, (unsigned long long)st.poison,
           (long long)st.elapsed_ms, (long long)st.swap_ms, secs > 0 ? (double)st.events / secs : 0.0);
    return 0;
}

/* The live projection's adapters (owned by os_serve). */
typedef struct os_workers {
    os_pgprojdb_t *db;
    os_kconsumer_t *consumer;
    os_kdlq_t *dlq;
    os_projector_t *proj;
} os_workers_t;

/* Builds the projection's store and Kafka adapters and the projector on them (not started).
 * 0, or -1 with err. */
static int os_projection_build(const os_config_t *cfg, const evcodec_t *codec, const clog_t *log,
                               metrics_t *m, trc_sink_t tracer, os_changes_t *changes, os_workers_t *wk,
                               char *err, size_t errlen)
{
    const os_kconsumer_opts_t ko = {&cfg->kafka,      cfg->topic,         cfg->group_id,
                                    cfg->consumer_kv, cfg->n_consumer_kv, log};
    const os_kdlq_opts_t dq = {&cfg->kafka, cfg->dlq_topic, cfg->topic, log};
    const os_projector_tuning_t tun = os_tuning(cfg);
    wk->db = os_pgprojdb_new(cfg->conninfo, log, err, errlen);
    if (wk->db == NULL)
        return -1;
    wk->consumer = os_kconsumer_new(&ko, err, errlen);
    if (wk->consumer == NULL)
        return -1;
    wk->dlq = os_kdlq_new(&dq, err, errlen);
    if (wk->dlq == NULL)
        return -1;
    const os_projector_ports_t ports = {.topic = cfg->topic,
                                        .db = os_pgprojdb_port(wk->db),
                                        .consumer = os_kconsumer_port(wk->consumer),
                                        .dlq = os_kdlq_port(wk->dlq),
                                        .clock = {NULL, os_wall, os_mono},
                                        .codec = codec,
                                        .metrics = m,
                                        .changes = os_changes_port(changes),
                                        .log = log,
                                        .tracer = tracer};
    wk->proj = os_projector_new(&tun, &ports, err, errlen);
    return wk->proj == NULL ? -1 : 0;
}

/* Serves until SIGTERM/SIGINT (0) or a restart-class change (0, m->restart set, the
 * listening socket in m->keep_fd), or a failed start (exit code). The restart-class settings
 * are the ones this image started with; the live ones come from m->live. */
static int os_serve(os_main_t *mp, const evcodec_t *codec, const clog_t *log, char **argv)
{
    int rc = EXIT_RUNTIME, sig = 0;
    char err[1024] = "";
    const svc_snap_t *snap = svc_live_acquire(mp->live);
    const os_config_t *cfg = snap->settings;
    os_workers_t wk = {0};
    os_changes_t *changes = os_changes_new();
    os_pgrebuild_t *rstore = NULL;
    os_rebuild_ctl_t *rctl = NULL;
    httpd_t *srv = NULL;
    svc_stop_t *stop = NULL;
    os_app_t app;
    os_http_t http;
    os_ktopic_t ktopic = {0};
    os_reconciler_t *reconciler = NULL;
    os_csclient_t csclient = {cfg->rc_url, cfg->rc_token};

    if (changes == NULL)
        goto cleanup;
    mp->pool = pgpool_new(cfg->conninfo, cfg->pool_size, log);
    if (mp->pool == NULL) {
        clog_error(log, "out of memory creating the database pool");
        goto cleanup;
    }
    rstore = os_pgrebuild_new(cfg->conninfo, log);
    if (rstore != NULL) {
        os_rebuild_opts_t ro = os_rebuild_opts(cfg, codec, log, rstore);
        rctl = os_rebuild_ctl_new(&ro);
    }

    memset(&app, 0, sizeof app);
    app.readmodel = os_pg_readmodel_port(mp->pool);
    app.orders = os_pg_orders_port(mp->pool);
    app.clock = (os_clock_port_t){NULL, os_wall, os_mono};
    app.ids = (os_idgen_port_t){NULL, os_uuid};
    app.changes = os_changes_port(changes);
    app.customer_wait_ms = cfg->customer_wait_ms;
    app.wait_poll_ms = 25;

    /* HTTP first: a taken port fails the start before any Kafka group is joined. Until the
     * projector runs, readiness reports kafka and projection DOWN. */
    const char *token = getenv("ORDER_ADMIN_TOKEN");
    http = (os_http_t){&app, os_rebuild_ctl_port(rctl), token, log, os_live_app, mp};
    os_kdlqreader_t dlqreader = {&cfg->kafka, cfg->dlq_topic, cfg->group_id, codec, log};
    const os_ops_t ops = {.topic = cfg->topic,
                          .group = cfg->group_id,
                          .kafka = os_ktopic_port(&ktopic),
                          .proj = os_projector_ctl_port(&mp->projector),
                          .db = os_pg_ops_port(mp->pool),
                          .dlq_topic = cfg->dlq_topic,
                          .dlq = os_kdlqreader_port(&dlqreader),
                          .redrive = os_pgredrive_port(mp->pool),
                          .metrics = mp->metrics,
                          .log = log,
                          .timeout_ms = 10000};
    os_ops_declare_metrics(&ops);
    os_ops_http_t ops_http = {&ops, token};
    if (cfg->rc_url[0] != '\0') {
        const os_reconcile_opts_t rco = {.readmodel = os_pgreconcile_sums_port(mp->pool),
                                         .writeside = os_csclient_sums_port(&csclient),
                                         .reset = os_pgreconcile_reset_port(mp->pool),
                                         .republish = os_csclient_republish_port(&csclient),
                                         .interval_ms = cfg->rc_interval_ms,
                                         .rows_per_s = (long)cfg->rc_rows_per_s,
                                         .settle_ms = cfg->rc_settle_ms,
                                         .repair = cfg->rc_repair,
                                         .metrics = mp->metrics,
                                         .log = log};
        reconciler = os_reconciler_new(&rco);
        if (reconciler == NULL) {
            clog_error(log, "out of memory creating the reconciliation");
            goto cleanup;
        }
    }
    os_reconcile_http_t rc_http = {reconciler, token};
    os_routes_ctx_t routes = {&http, &ops_http, &rc_http};
    /* Ready = can serve reads and validate orders: the read model's database. Kafka and the
     * projection are shown, not required: without them the read model is served as it
     * stands (its lag is in /metrics and in the projection's status). */
    const svc_check_t checks[] = {{"db", svc_pool_up, mp->pool, 0},
                                  {"kafka", os_kafka_up, mp, 1},
                                  {"projection", os_projection_up, mp, 1},
                                  {"reconciliation", os_reconcile_up, reconciler, 1}};
    const svc_http_t sh = {.metrics = mp->metrics,
                           .checks = checks,
                           .n_checks = sizeof checks / sizeof checks[0] - (reconciler == NULL),
                           .live = mp->live,
                           .admin_token = token,
                           .admin_token_env = "ORDER_ADMIN_TOKEN"};
    const httpd_opts_t ho = {.port = cfg->port,
                             .threads = cfg->http_threads,
                             .max_body = (size_t)cfg->max_body,
                             .log = log,
                             .max_connections = cfg->listen.max_connections,
                             .tls = cfg->listen.tls,
                             .tracer = &mp->tracer};
    srv = svc_http_start(&ho, &sh, os_routes, &routes);
    if (srv == NULL)
        goto cleanup;
    if (os_projection_build(cfg, codec, log, mp->metrics, mp->tracer, changes, &wk, err, sizeof err) != 0 ||
        os_projector_start(wk.proj) != 0) {
        clog_error(log, "projection: %s", err);
        goto cleanup;
    }
    atomic_store(&mp->projector, wk.proj);
    os_ktopic_bind(&ktopic, os_kconsumer_handle(wk.consumer));
    if (reconciler != NULL) {
        if (os_reconciler_start(reconciler) != 0) {
            clog_error(log, "cannot start the reconciliation thread");
            goto cleanup;
        }
        clog_info(log, "reconciliation: every %ld ms against %s (at most %lld rows/s per side, repair %s)",
                  cfg->rc_interval_ms, cfg->rc_url, cfg->rc_rows_per_s, cfg->rc_repair ? "on" : "off");
    }
    const svc_snap_t *now = svc_live_acquire(mp->live); /* a refresh during the start */
    os_live_applied(mp, now->settings);
    svc_live_release(mp->live, now);
    clog_ev(log, CLOG_INFO,
            json_pack("{s:i,s:s,s:s,s:s}", "port", httpd_port(srv), "topic", cfg->topic, "group",
                      cfg->group_id, "dlq", cfg->dlq_topic),
            "order-service listening on port %d", httpd_port(srv));
    if (svc_live_watch(mp->live, err, sizeof err) != 0)
        clog_warn(log, "configuration changes will not be followed: %s", err);
    mp->restart = svc_live_wait(mp->live, &sig) == SVC_LIVE_RESTART;
    if (mp->restart)
        clog_info(log, "restart in place: draining HTTP, finishing the projection batch (at most %d ms)",
                  STOP_DEADLINE_MS);
    else
        clog_info(log, "signal %d: draining HTTP, finishing the projection batch (at most %d ms)", sig,
                  STOP_DEADLINE_MS);
    stop = svc_stop_guard(log, STOP_DEADLINE_MS);
    mp->keep_fd = mp->restart ? httpd_keep_listener(srv) : -1;
    mp->port = cfg->port;
    httpd_stop(srv);
    os_reconciler_stop(reconciler);
    os_projector_stop(wk.proj);
    if (os_kconsumer_shutdown(wk.consumer) != 0) {
        /* Everything is committed in PostgreSQL; only librdkafka's thread is still waiting for
         * the unreachable broker and uses our logger: leave without unwinding. */
        if (mp->restart)
            _exit(svc_live_reexec(mp->live, argv, mp->keep_fd, NULL, mp->port, log));
        clog_info(log, "order-service stopped (Kafka consumer abandoned)");
        fflush(stderr);
        _exit(0);
    }
    rc = 0;
cleanup:
    if (stop == NULL)
        stop = svc_stop_guard(log, STOP_DEADLINE_MS); /* a failed start's teardown is bounded too */
    httpd_free(srv);
    os_reconciler_free(reconciler); /* after the server: no route reads its status any more */
    atomic_store(&mp->projector, NULL);
    os_ktopic_bind(&ktopic, NULL);
    os_rebuild_ctl_free(rctl);
    os_pgrebuild_free(rstore);
    os_projector_free(wk.proj);
    os_kconsumer_free(wk.consumer);
    os_kdlq_free(wk.dlq);
    os_pgprojdb_free(wk.db);
    pgpool_free(mp->pool);
    os_changes_free(changes);
    svc_stop_done(stop);
    svc_live_release(mp->live, snap);
    if (rc == 0 && !mp->restart)
        clog_info(log, "order-service stopped");
    return rc;
}

/* With kafka-config.schema-registry-url set: the codec resolves the records' schema ids
 * through the registry (evcodec_resolve_by_registry; a registry that does not answer makes
 * the projection retry, an id it does not have is dead-lettered). No call is made here: the
 * service starts while the registry is down. 0, or -1 after logging why. */
static int os_codec_registry(const os_config_t *cfg, evcodec_t *codec, metrics_t *metrics, const clog_t *log)
{
    char err[512];
    if (*cfg->registry_url == '\0')
        return 0;
    if (evcodec_resolve_by_registry(codec, cfg->registry_url, cfg->registry_user, cfg->registry_password,
                                    5000, 0, metrics, err, sizeof err) != 0) {
        clog_error(log, "event codec: %s", err);
        return -1;
    }
    clog_info(log, "schema registry %s: record schema ids are resolved through it (%s)", cfg->registry_url,
              cfg->registry_user && *cfg->registry_user ? "with HTTP Basic credentials" : "no credentials");
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const commands[] = {"rebuild-read-model", NULL};
    static const svc_info_t info = {"order-service", CQ_VERSION, usage, commands};
    int command = -1;
    clog_t log;
    cfgcli_t *cfgc = NULL;
    os_config_t *cfg = NULL;
    evcodec_t *codec = NULL;
    os_main_t m = {.keep_fd = -1};
    char err[1024];
    int rc = svc_start(&info, argc, argv, 1, &log, &command, &cfgc);

    if (rc != SVC_CONTINUE)
        return rc;
    rc = EXIT_RUNTIME;
    cfg = os_config_new(cfgc, err, sizeof err);
    if (cfg == NULL) {
        clog_error(&log, "configuration: %s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    if (svc_live_restart_reason() != NULL)
        clog_info(&log, "restarted in place: %s", svc_live_restart_reason());
    if (os_config_kafka_check(cfg, &log, err, sizeof err) != 0) {
        clog_error(&log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    if (svc_migrate(cfg->conninfo, "order-service", order_migrations, 30, &log) != 0) {
        rc = svc_stop_requested(&log) ? 0 : EXIT_DB;
        goto cleanup;
    }
    if (svc_tracing(cfgc, "order-service", &log, &m.otel, err, sizeof err) != 0) {
        clog_error(&log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    m.tracer = otel_sink(m.otel);
    codec = evcodec_new_default(err, sizeof err);
    if (codec == NULL) {
        clog_error(&log, "event codec: %s", err);
        goto cleanup;
    }
    os_ensure_topics(cfg, &log);
    if (svc_stop_requested(&log)) {
        rc = 0;
        goto cleanup;
    }
    if (command == 0) {
        rc = os_codec_registry(cfg, codec, NULL, &log) != 0 ? EXIT_RUNTIME : os_rebuild_cli(cfg, codec, &log);
        goto cleanup;
    }
    m.metrics = metrics_new();
    if (m.metrics != NULL && os_codec_registry(cfg, codec, m.metrics, &log) != 0)
        goto cleanup;
    const svc_live_opts_t lo = {.app = "order-service",
                                .metric_prefix = "order",
                                .rules = os_config_keys,
                                .n_rules = os_config_nkeys,
                                .ops = {os_live_build, os_live_free, os_live_preflight, os_live_applied},
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
    rc = os_serve(&m, codec, &log, argv);
cleanup:
    evcodec_free(codec);
    if (rc == 0 && m.restart)
        rc = svc_live_reexec(m.live, argv, m.keep_fd, NULL, m.port, &log);
    svc_live_free(m.live);
    otel_free(m.otel); /* sends the spans still queued */
    metrics_free(m.metrics);
    os_config_free(cfg);
    cfgcli_free(cfgc);
    return rc;
}
