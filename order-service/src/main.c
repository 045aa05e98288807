/* main.c — order-service: the read side of the CQRS flow and the orders API.
 *
 * The container: fetch the configuration (config-server via cfgcli, or env only with
 * CONFIG_SERVER_URL=none), connect to PostgreSQL and apply the migrations, make sure the
 * topics exist, start the projector thread (customer topic → "order".customers) and the
 * HTTP server, then wait for SIGTERM/SIGINT: stop accepting and drain HTTP, let the
 * projector finish (commit) its batch, exit 0. `order-service rebuild-read-model` rebuilds
 * the read model from the topic and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uuid/uuid.h>

#include "application/changes.h"
#include "application/handlers.h"
#include "cfgcli.h"
#include "clog.h"
#include "config.h"
#include "dataaccess/pg_repos.h"
#include "pgpool.h"
#include "embed.h"
#include "evcodec.h"
#include "http/routes.h"
#include "httpd.h"
#include "kfk.h"
#include "messaging/projector.h"
#include "messaging/rebuild.h"
#include "messaging/rebuild_ctl.h"
#include "metrics.h"
#include "pgx.h"

extern const embed_file_t order_migrations[];

#define EXIT_USAGE 2
#define EXIT_RUNTIME 70 /* EX_SOFTWARE: any other start-up or run failure */
#define EXIT_DB 69      /* EX_UNAVAILABLE: database unreachable or migration failed */

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
            "  ORDER_ADMIN_TOKEN    token for the admin endpoint (unset = endpoint disabled)\n"
            "  any config key as an env var, e.g. SERVER_PORT, DATASOURCE_HOST,\n"
            "  KAFKA_CONFIG_BOOTSTRAP_SERVERS, ORDER_SERVICE_CUSTOMER_TOPIC_NAME,\n"
            "  ORDER_SERVICE_CUSTOMER_WAIT_MS, KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID\n\n"
            "exit codes: 0 after SIGTERM/SIGINT (or a successful rebuild), 2 usage, %d configuration\n"
            "unavailable/invalid, %d database unreachable or migration failed, %d other failure.\n",
            CFGCLI_DEFAULT_URL, CFGCLI_EXIT_CONFIG, EXIT_DB, EXIT_RUNTIME);
}

/* ---- ports implemented here (clock, ids) ---- */
static int64_t os_wall(void *self)
{
    struct timespec ts;
    (void)self;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static int64_t os_mono(void *self)
{
    struct timespec ts;
    (void)self;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static void os_uuid(void *self, char out[ORDER_UUID_LEN + 1])
{
    uuid_t u;
    (void)self;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

typedef struct os_main {
    metrics_t *metrics;
    pgpool_t *pool;
    os_projector_t *projector;
} os_main_t;

static void os_ready(void *ctx, os_readiness_t *out)
{
    os_main_t *m = ctx;
    out->db = pgpool_ping(m->pool);
    out->kafka = os_projector_kafka_ok(m->projector);
    out->projection = os_projector_healthy(m->projector);
}

static void os_observe(void *ctx, const char *route, const h2o_req_t *req, int status, uint64_t duration_us)
{
    metrics_t *m = ctx;
    char lab[160], r[96];
    metrics_label_escape(route, r, sizeof r);
    snprintf(lab, sizeof lab, "route=\"%s\",method=\"%.*s\",status=\"%d\"", r,
             (int)(req->method.len < 10 ? req->method.len : 10), req->method.base, status);
    metrics_add(m, "http_requests_total", lab, 1);
    snprintf(lab, sizeof lab, "route=\"%s\"", r);
    metrics_observe(m, "http_request_duration_seconds", lab, (double)duration_us / 1e6);
}

static cfgcli_t *os_fetch_config(const clog_t *log)
{
    cfgcli_opts_t o;
    char err[1024];
    cfgcli_t *c = NULL;
    const char *url = getenv("CONFIG_SERVER_URL");
    if (cfgcli_opts_from_env(&o, "order-service", err, sizeof err) != 0) {
        clog_error(log, "%s", err);
        return NULL;
    }
    if (url != NULL && strcmp(url, "none") == 0) {
        static const char empty[] = "{\"name\":\"order-service\",\"propertySources\":[]}";
        c = cfgcli_from_json(&o, empty, sizeof empty - 1, "env", err, sizeof err);
    } else {
        c = cfgcli_fetch(&o, log, err, sizeof err);
    }
    if (c == NULL)
        clog_error(log, "configuration: %s", err);
    return c;
}

static void os_ensure_topics(const os_config_t *cfg, const clog_t *log)
{
    char err[512];
    kfk_opaque_t opq = {log, NULL};
    rd_kafka_conf_t *conf = kfk_conf_new(cfg->bootstrap, "order-service-admin", &opq, err, sizeof err);
    rd_kafka_t *rk = conf ? kfk_producer_new(conf, err, sizeof err) : NULL;
    static const kfk_kv_t compact[] = {{"cleanup.policy", "compact"}};
    if (rk == NULL) {
        clog_warn(log, "cannot check topics: %s", err);
        return;
    }
    if (kfk_ensure_topic(rk, cfg->topic, cfg->partitions, cfg->replication, compact, 1, 15000, err,
                         sizeof err) < 0)
        clog_warn(log, "topic %s: %s", cfg->topic, err);
    if (kfk_ensure_topic(rk, cfg->dlq_topic, 1, cfg->replication, NULL, 0, 15000, err, sizeof err) < 0)
        clog_warn(log, "topic %s: %s", cfg->dlq_topic, err);
    rd_kafka_destroy(rk);
}

static int os_rebuild_cli(const os_config_t *cfg, const evcodec_t *codec, const clog_t *log)
{
    os_rebuild_opts_t ro = {cfg->bootstrap,     cfg->topic, cfg->group_id, cfg->conninfo, cfg->consumer_kv,
                            cfg->n_consumer_kv, 10000,      codec,         log,           NULL};
    os_rebuild_stats_t st;
    char err[1024];
    if (os_rebuild_run(&ro, &st, err, sizeof err) != 0) {
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

static int os_serve(const os_config_t *cfg, const evcodec_t *codec, const clog_t *log)
{
    int rc = EXIT_RUNTIME;
    char err[1024];
    os_main_t m = {0};
    os_changes_t *changes = os_changes_new();
    os_rebuild_ctl_t *rctl = NULL;
    httpd_t *srv = NULL;
    os_app_t app;
    os_http_t http;

    m.metrics = metrics_new();
    if (changes == NULL || m.metrics == NULL)
        goto cleanup;
    metrics_declare(m.metrics, "http_requests_total", METRICS_COUNTER, "HTTP requests.", NULL, 0);
    metrics_declare(m.metrics, "http_request_duration_seconds", METRICS_HISTOGRAM,
                    "HTTP request handling time.", NULL, 0);
    m.pool = pgpool_new(cfg->conninfo, cfg->pool_size, log);
    if (m.pool == NULL) {
        clog_error(log, "out of memory creating the database pool");
        goto cleanup;
    }
    os_projector_opts_t po = {cfg->bootstrap,
                              cfg->topic,
                              cfg->group_id,
                              cfg->dlq_topic,
                              cfg->conninfo,
                              cfg->consumer_kv,
                              cfg->n_consumer_kv,
                              cfg->batch_size,
                              cfg->poll_ms,
                              cfg->max_retries,
                              (int)cfg->retry_backoff_ms,
                              codec,
                              m.metrics,
                              os_changes_port(changes),
                              log};
    m.projector = os_projector_new(&po, err, sizeof err);
    if (m.projector == NULL || os_projector_start(m.projector) != 0) {
        clog_error(log, "projection: %s", err);
        goto cleanup;
    }
    os_rebuild_opts_t ro = {cfg->bootstrap,     cfg->topic, cfg->group_id, cfg->conninfo, cfg->consumer_kv,
                            cfg->n_consumer_kv, 10000,      codec,         log,           NULL};
    rctl = os_rebuild_ctl_new(&ro);

    memset(&app, 0, sizeof app);
    app.readmodel = os_pg_readmodel_port(m.pool);
    app.orders = os_pg_orders_port(m.pool);
    app.clock = (os_clock_port_t){NULL, os_wall, os_mono};
    app.ids = (os_idgen_port_t){NULL, os_uuid};
    app.changes = os_changes_port(changes);
    app.customer_wait_ms = cfg->customer_wait_ms;
    app.wait_poll_ms = 25;

    const char *token = getenv("ORDER_ADMIN_TOKEN");
    http = (os_http_t){&app, m.metrics, os_ready, &m, rctl, token, log};
    httpd_opts_t ho = {0};
    ho.port = cfg->port;
    ho.threads = cfg->http_threads;
    ho.log = log;
    ho.observe = os_observe;
    ho.observe_ctx = m.metrics;
    srv = httpd_new(&ho, err, sizeof err);
    if (srv == NULL || os_http_register(srv, &http) != 0 || httpd_start(srv, err, sizeof err) != 0) {
        clog_error(log, "http: %s", err);
        goto cleanup;
    }
    clog_ev(log, CLOG_INFO,
            json_pack("{s:i,s:s,s:s,s:s}", "port", httpd_port(srv), "topic", cfg->topic, "group",
                      cfg->group_id, "dlq", cfg->dlq_topic),
            "order-service listening on port %d", httpd_port(srv));
    int sig = httpd_wait_signal();
    clog_info(log, "signal %d: draining HTTP, finishing the projection batch", sig);
    httpd_stop(srv);
    os_projector_stop(m.projector);
    rc = 0;
cleanup:
    httpd_free(srv);
    os_rebuild_ctl_free(rctl);
    os_projector_free(m.projector);
    pgpool_free(m.pool);
    metrics_free(m.metrics);
    os_changes_free(changes);
    if (rc == 0)
        clog_info(log, "order-service stopped");
    return rc;
}

int main(int argc, char **argv)
{
    int rebuild = 0;
    int rc = EXIT_RUNTIME;
    clog_t log;
    cfgcli_t *cfgc = NULL;
    os_config_t cfg;
    evcodec_t *codec = NULL;
    PGconn *pg = NULL;
    char err[1024];

    memset(&cfg, 0, sizeof cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("order-service %s\n", CQ_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "rebuild-read-model") == 0) {
            rebuild = 1;
            continue;
        }
        fprintf(stderr, "order-service: unknown argument '%s'\n", argv[i]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (httpd_block_signals() != 0)
        return EXIT_RUNTIME;
    clog_init(&log, "order-service", getenv("LOG_LEVEL"), stderr);
    cfgc = os_fetch_config(&log);
    if (cfgc == NULL)
        return CFGCLI_EXIT_UNAVAILABLE;
    if (os_config_load(&cfg, cfgc, err, sizeof err) != 0) {
        clog_error(&log, "configuration: %s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    clog_init(&log, "order-service", getenv("LOG_LEVEL") ? getenv("LOG_LEVEL") : cfg.log_level, stderr);
    pg = pgx_connect(cfg.conninfo, 30, &log);
    if (pg == NULL || pgx_migrate(pg, "order-service", order_migrations, &log) < 0) {
        clog_error(&log, "database not usable; giving up");
        rc = EXIT_DB;
        goto cleanup;
    }
    PQfinish(pg);
    pg = NULL;
    codec = evcodec_new_default(err, sizeof err);
    if (codec == NULL) {
        clog_error(&log, "event codec: %s", err);
        goto cleanup;
    }
    os_ensure_topics(&cfg, &log);
    rc = rebuild ? os_rebuild_cli(&cfg, codec, &log) : os_serve(&cfg, codec, &log);
cleanup:
    PQfinish(pg);
    evcodec_free(codec);
    os_config_clear(&cfg);
    cfgcli_free(cfgc);
    return rc;
}
