/* main.c — customer-service: the write side (customer commands → PostgreSQL + outbox →
 * Kafka). The container: fetch the configuration from the config-server, connect to
 * PostgreSQL and migrate, build the adapters and wire them into the application's ports,
 * start the HTTP server (a taken port fails the start at once, exit 70) and the outbox
 * relay, and on SIGTERM/SIGINT: stop accepting, finish in-flight requests, flush the
 * producer, exit 0 — within 10 s (common/svc.h's watchdog ends an overrunning teardown with
 * exit 75; unpublished outbox rows stay in the outbox for the next relay). The glue shared
 * with order-service (arguments, configuration, conninfo, health, metrics, stop) is
 * common/svc.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application/customer_app.h"
#include "cfgcli.h"
#include "clog.h"
#include "dataaccess/customer_pgrepo.h"
#include "pgpool.h"
#include "evcodec.h"
#include "http/customer_http.h"
#include "httpd.h"
#include "kfk.h"
#include "messaging/customer_event_encoder.h"
#include "messaging/outbox_relay.h"
#include "metrics.h"
#include "pgx.h"
#include "svc.h"

#define EXIT_DB SVC_EXIT_UNAVAILABLE    /* 69: database or schema registry unreachable, migration failed */
#define EXIT_SOFTWARE SVC_EXIT_SOFTWARE /* 70 */
#define STOP_DEADLINE_MS 10000

static void usage(FILE *out)
{
    fprintf(out,
            "usage: customer-service [--help] [--version]\n\n"
            "customer-service — the write side of cqrs-ordering: POST/PUT/DELETE/GET /customers,\n"
            "stored in PostgreSQL (schema customer) with a transactional outbox that a relay\n"
            "publishes to Kafka as Avro CustomerAvroModel events (key = customer id).\n\n"
            "Configuration comes from the config-server (application customer-service):\n"
            "  CONFIG_SERVER_URL   comma list of config-server URLs (default %s)\n"
            "  APP_PROFILES        profiles, e.g. local, test, k8s (default \"default\")\n"
            "  CONFIG_LABEL, CONFIG_SERVER_USER/PASSWORD, CONFIG_CACHE_FILE (see config-repo/README.md)\n"
            "Every key can be overridden by an env var: server.port ← SERVER_PORT,\n"
            "kafka-config.bootstrap-servers ← KAFKA_CONFIG_BOOTSTRAP_SERVERS, …\n"
            "Keys used: server.port (8184), server.threads (8), server.max-body-bytes (65536),\n"
            "  customer-service.customer-topic-name (customer), kafka-config.*, kafka-producer-config.*,\n"
            "  datasource.* (host, port, user, password, dbname, sslmode, pool-size), outbox.*, "
            "logging.level.\n\n"
            "Exit codes: 0 after SIGTERM/SIGINT, %d configuration unavailable/invalid, %d database\n"
            "(or schema registry) unreachable or migration failed, %d other start-up failure (e.g.\n"
            "the HTTP port is taken), %d the shutdown overran %d s (or a second signal came).\n",
            CFGCLI_DEFAULT_URL, CFGCLI_EXIT_UNAVAILABLE, EXIT_DB, EXIT_SOFTWARE, SVC_EXIT_STOP_TIMEOUT,
            STOP_DEADLINE_MS / 1000);
}

/* ---- small adapters for the clock, id generator and health ports ---- */

static int64_t sys_now_ms(void *self)
{
    return svc_wall_ms();
}
static const customer_clock_ops_t sys_clock_ops = {sys_now_ms};

static void uuid_new_id(void *self, char out[CUSTOMER_ID_LEN + 1])
{
    svc_uuid(out);
}
static const customer_idgen_ops_t uuid_idgen_ops = {uuid_new_id};

typedef struct health_ctx {
    pgpool_t *pool;
    outbox_relay_t *relay;
} health_ctx_t;

static int health_db(void *self)
{
    return pgpool_ping(((health_ctx_t *)self)->pool);
}
static int health_kafka(void *self)
{
    return outbox_relay_kafka_ok(((health_ctx_t *)self)->relay);
}
static const customer_health_ops_t health_ops = {health_db, health_kafka};

/* ---- configuration ---- */

typedef struct settings {
    int port, threads, pool_size, partitions, replication;
    long long max_body;
    const char *topic, *bootstrap;
    char *conninfo; /* owned */
    outbox_relay_opts_t relay;
} settings_t;

typedef struct kv_list {
    kfk_kv_t kv[128];
    size_t n;
} kv_list_t;

static int collect_kv(void *ud, const char *key, const char *rest, const char *value, const char *source)
{
    kv_list_t *l = ud;
    if (l->n == sizeof l->kv / sizeof l->kv[0])
        return 1;
    l->kv[l->n].key = rest;
    l->kv[l->n].value = value;
    l->n++;
    return 0;
}

static int read_settings(const cfgcli_t *cfg, settings_t *s, char *err, size_t errlen)
{
    long long ll;
    memset(s, 0, sizeof *s);
    if (cfgcli_get_int_range(cfg, "server.port", 8184, 0, 65535, &s->port, err, errlen) ||
        cfgcli_get_int_range(cfg, "server.threads", 8, 1, 64, &s->threads, err, errlen) ||
        cfgcli_get_long(cfg, "server.max-body-bytes", 65536, &s->max_body, err, errlen) ||
        cfgcli_get_int_range(cfg, "datasource.pool-size", 8, 1, 64, &s->pool_size, err, errlen) ||
        cfgcli_get_int_range(cfg, "kafka-config.num-of-partitions", 3, 1, 10000, &s->partitions, err,
                             errlen) ||
        cfgcli_get_int_range(cfg, "kafka-config.replication-factor", 1, 1, 100, &s->replication, err,
                             errlen) ||
        cfgcli_require_str(cfg, "kafka-config.bootstrap-servers", &s->bootstrap, err, errlen))
        return -1;
    s->topic = cfgcli_get_str(cfg, "customer-service.customer-topic-name", "customer");
    if (*s->topic == '\0') {
        snprintf(err, errlen, "config key 'customer-service.customer-topic-name' is empty");
        return -1;
    }
    if (s->max_body < 256 || s->max_body > 64LL * 1024 * 1024) {
        snprintf(err, errlen, "config key 'server.max-body-bytes' must be between 256 and 67108864");
        return -1;
    }
    s->relay.topic = s->topic;
    s->relay.partitions = s->partitions;
    s->relay.replication = s->replication;
    if (cfgcli_get_int_range(cfg, "outbox.batch-size", 500, 1, 100000, &s->relay.batch_size, err, errlen) ||
        cfgcli_get_int_range(cfg, "outbox.poll-interval-ms", 1000, 1, 3600000, &s->relay.sweep_ms, err,
                             errlen) ||
        cfgcli_get_int_range(cfg, "outbox.lock-poll-ms", 1000, 10, 600000, &s->relay.lock_poll_ms, err,
                             errlen) ||
        cfgcli_get_long(cfg, "outbox.retention-ms", 86400000LL, &s->relay.retention_ms, err, errlen) ||
        cfgcli_get_long(cfg, "outbox.sweep-interval-ms", 60000, &s->relay.cleanup_interval_ms, err, errlen) ||
        cfgcli_get_int_range(cfg, "outbox.backoff-initial-ms", 100, 1, 600000, &s->relay.backoff_initial_ms,
                             err, errlen) ||
        cfgcli_get_int_range(cfg, "outbox.backoff-max-ms", 30000, 1, 3600000, &s->relay.backoff_max_ms, err,
                             errlen) ||
        cfgcli_get_int_range(cfg, "outbox.flush-ms", 5000, 1, 600000, &s->relay.flush_ms, err, errlen) ||
        cfgcli_get_long(cfg, "outbox.lock-key", 0x637573746f6d6572LL, &ll, err, errlen))
        return -1;
    s->relay.lock_key = ll;
    if (s->relay.retention_ms == 0)
        s->relay.retention_ms = -1; /* 0 in config: keep published rows */
    s->conninfo = svc_conninfo(cfg, "customer-service", err, errlen);
    if (s->conninfo == NULL)
        return -1;
    s->relay.conninfo = s->conninfo;
    return 0;
}

/* Builds the producer conf from kafka-config / kafka-producer-config. */
static rd_kafka_conf_t *producer_conf(const cfgcli_t *cfg, const settings_t *s, char *err, size_t errlen)
{
    kv_list_t l = {.n = 0};
    rd_kafka_conf_t *conf = kfk_conf_new(s->bootstrap, "customer-service", NULL, err, errlen);
    if (conf == NULL)
        return NULL;
    cfgcli_foreach_prefix(cfg, "kafka-producer-config.", collect_kv, &l);
    if (kfk_conf_apply_all(conf, KFK_PRODUCER, l.kv, l.n, err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

static int migrate(const char *conninfo, const clog_t *log)
{
    PGconn *c = pgx_connect_until(conninfo, 10, log, svc_stop_pending);
    int n;
    if (c == NULL)
        return -1;
    n = pgx_migrate(c, "customer-service", customer_migrations, log);
    PQfinish(c);
    if (n > 0)
        clog_info(log, "applied %d database migration(s)", n);
    return n < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    static const svc_info_t info = {"customer-service", CQ_VERSION, usage, NULL};
    int command;
    int rc = svc_args(&info, argc, argv, &command);
    char err[1024] = "";
    clog_t log;
    cfgcli_t *cfg = NULL;
    svc_stop_t *stop = NULL;
    settings_t st = {0};
    evcodec_t *codec = NULL;
    metrics_t *metrics = NULL;
    pgpool_t *pool = NULL;
    outbox_relay_t *relay = NULL;
    httpd_t *srv = NULL;
    rd_kafka_conf_t *pconf = NULL;
    customer_pgrepo_t repo;
    customer_app_t app;
    customer_http_t http;
    health_ctx_t health;
    httpd_opts_t ho;

    if (rc != SVC_CONTINUE)
        return rc;
    rc = EXIT_SOFTWARE;
    /* Before any thread exists (libpq, librdkafka, h2o): SIGTERM/SIGINT go to sigwait. */
    httpd_block_signals();
    clog_init(&log, "customer-service", getenv("LOG_LEVEL"), stderr);

    cfg = svc_config("customer-service", 0, &log, &rc);
    if (cfg == NULL)
        return rc;
    rc = EXIT_SOFTWARE;
    svc_log_level(&log, "customer-service", cfg);
    if (read_settings(cfg, &st, err, sizeof err) != 0) {
        clog_error(&log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    clog_info(&log, "configuration from %s (version %s); topic %s, kafka %s", cfgcli_origin(cfg),
              cfgcli_version(cfg), st.topic, st.bootstrap);

    if (migrate(st.conninfo, &log) != 0 && !svc_stop_pending()) {
        clog_error(&log, "database unavailable or migration failed; giving up");
        rc = EXIT_DB;
        goto cleanup;
    }
    if (svc_stop_pending()) { /* SIGTERM during the start-up (the database wait) */
        clog_info(&log, "signal during start-up: exiting");
        rc = 0;
        goto cleanup;
    }
    codec = evcodec_new_default(err, sizeof err);
    metrics = metrics_new();
    pool = pgpool_new(st.conninfo, st.pool_size, &log);
    if (codec == NULL || metrics == NULL || pool == NULL) {
        clog_error(&log, "start-up failed: %s", codec == NULL ? err : "out of memory");
        goto cleanup;
    }
    if (*cfgcli_get_str(cfg, "kafka-config.schema-registry-url", "") != '\0') {
        /* Schema ids from the registry instead of the embedded catalog (design §4). */
        const char *reg = cfgcli_get_str(cfg, "kafka-config.schema-registry-url", "");
        if (evcodec_use_registry(codec, reg, EVCODEC_SUBJECT_CUSTOMER,
                                 cfgcli_get_str(cfg, "kafka-config.schema-registry-user", NULL),
                                 cfgcli_get_str(cfg, "kafka-config.schema-registry-password", NULL), 10000,
                                 err, sizeof err) != 0) {
            clog_error(&log, "%s", err);
            rc = EXIT_DB;
            goto cleanup;
        }
        clog_info(&log, "schema registry %s: subject %s has id %d", reg, EVCODEC_SUBJECT_CUSTOMER,
                  (int)evcodec_latest_id(codec, EVCODEC_SUBJECT_CUSTOMER));
    }
    pconf = producer_conf(cfg, &st, err, sizeof err);
    if (pconf == NULL) {
        clog_error(&log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }
    relay = outbox_relay_new(&st.relay, pconf, &log, metrics, err, sizeof err);
    pconf = NULL; /* stolen */
    if (relay == NULL) {
        clog_error(&log, "%s", err);
        rc = CFGCLI_EXIT_CONFIG;
        goto cleanup;
    }

    repo = (customer_pgrepo_t){.pool = pool, .log = &log, .timeout_ms = 5000};
    app.repo = customer_pgrepo_port(&repo);
    app.encoder = customer_event_encoder_port(codec);
    app.idgen = (customer_idgen_t){&uuid_idgen_ops, NULL};
    app.clock = (customer_clock_t){&sys_clock_ops, NULL};
    health = (health_ctx_t){pool, relay};
    http = (customer_http_t){&app, metrics, &health_ops, &health, &log};

    memset(&ho, 0, sizeof ho);
    ho.host = cfgcli_get_str(cfg, "server.address", "0.0.0.0");
    ho.port = st.port;
    ho.threads = st.threads;
    ho.max_body = (size_t)st.max_body;
    ho.log = &log;
    ho.observe = svc_observe;
    ho.observe_ctx = metrics;
    srv = httpd_new(&ho, err, sizeof err);
    if (srv == NULL || customer_http_register(&http, srv) != 0 || httpd_start(srv, err, sizeof err) != 0) {
        clog_error(&log, "HTTP server: %s", err[0] ? err : "route registration failed");
        goto cleanup;
    }
    if (outbox_relay_start(relay) != 0) {
        clog_error(&log, "could not start the outbox relay thread");
        goto cleanup;
    }
    clog_info(&log, "customer-service %s listening on port %d", CQ_VERSION, httpd_port(srv));

    stop = svc_wait_stop(&log, STOP_DEADLINE_MS, "draining HTTP, flushing the producer", NULL);
    httpd_stop(srv);
    outbox_relay_stop(relay);
    rc = 0;
cleanup:
    if (stop == NULL && srv != NULL)
        stop = svc_stop_guard(&log, STOP_DEADLINE_MS); /* a failed start's teardown is bounded too */
    httpd_free(srv);
    outbox_relay_free(relay);
    if (pconf)
        rd_kafka_conf_destroy(pconf);
    pgpool_free(pool);
    metrics_free(metrics);
    evcodec_free(codec);
    free(st.conninfo);
    cfgcli_free(cfg);
    svc_stop_done(stop);
    if (rc == 0)
        clog_info(&log, "stopped");
    return rc;
}
