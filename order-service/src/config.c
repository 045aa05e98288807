/* config.c — cfgcli → os_config_t, the key classes, the restart pre-check. See config.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc.h"
#include "svc_kafka.h"
#include "svc_pg.h"

/* What a change to each key needs (order-service/README.md, "Configuration changes"). */
const svc_key_rule_t os_config_keys[] = {
    {"logging.level", SVC_KEY_LIVE},
    {"logging.level.*", SVC_KEY_LIVE},
    {"order-service.customer-wait-ms", SVC_KEY_LIVE},
    {"projection.batch-size", SVC_KEY_LIVE},
    {"projection.max-retries", SVC_KEY_LIVE},
    {"projection.retry-backoff-ms", SVC_KEY_LIVE},
    {"projection.check-interval-ms", SVC_KEY_LIVE},
    {"reconciliation.*", SVC_KEY_RESTART},
    {"kafka-consumer-config.poll-timeout-ms", SVC_KEY_LIVE},
    {"server.*", SVC_KEY_RESTART},
    {"datasource.*", SVC_KEY_RESTART},
    {"kafka-config.bootstrap-servers", SVC_KEY_RESTART},
    {"kafka-config.num-of-partitions", SVC_KEY_RESTART},
    {"kafka-config.replication-factor", SVC_KEY_RESTART},
    {"kafka-config.min-insync-replicas", SVC_KEY_RESTART},
    {"kafka-config.properties.*", SVC_KEY_RESTART},
    {"kafka-config.schema-registry-url", SVC_KEY_RESTART},
    {"kafka-config.schema-registry-user", SVC_KEY_RESTART},
    {"kafka-config.schema-registry-password", SVC_KEY_RESTART},
    {"tracing.*", SVC_KEY_RESTART},
    {"kafka-consumer-config.*", SVC_KEY_RESTART},
    {"order-service.customer-topic-name", SVC_KEY_RESTART},
    {"order-service.dlq-topic-name", SVC_KEY_RESTART},
};
const size_t os_config_nkeys = sizeof os_config_keys / sizeof os_config_keys[0];

typedef struct os_kv_acc {
    os_config_t *cfg;
} os_kv_acc_t;

static int os_collect_kv(void *ud, const char *key, const char *rest, const char *value, const char *source)
{
    os_kv_acc_t *a = ud;
    (void)key;
    (void)source;
    if (strcmp(rest, "customer-group-id") == 0 || strcmp(rest, "poll-timeout-ms") == 0 ||
        strcmp(rest, "group-id") == 0)
        return 0;
    if (a->cfg->n_consumer_kv < OS_MAX_KV) {
        a->cfg->consumer_kv[a->cfg->n_consumer_kv].key = rest;
        a->cfg->consumer_kv[a->cfg->n_consumer_kv].value = value;
        a->cfg->n_consumer_kv++;
    }
    return 0;
}

int os_config_load(os_config_t *cfg, const cfgcli_t *c, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (cfgcli_get_int_range(c, "server.port", 8181, 0, 65535, &cfg->port, err, errlen) ||
        cfgcli_get_int_range(c, "server.threads", 4, 1, 64, &cfg->http_threads, err, errlen) ||
        cfgcli_get_int_range(c, "server.max-body-bytes", 65536, 256, 64 * 1024 * 1024, &cfg->max_body, err,
                             errlen) ||
        cfgcli_get_int_range(c, "datasource.pool-size", 4, 1, 64, &cfg->pool_size, err, errlen) ||
        cfgcli_get_int_range(c, "kafka-config.num-of-partitions", 3, 1, 1024, &cfg->partitions, err,
                             errlen) ||
        cfgcli_get_int_range(c, "kafka-config.replication-factor", 1, 1, 16, &cfg->replication, err,
                             errlen) ||
        cfgcli_get_int_range(c, "kafka-config.min-insync-replicas", 0, 0, 16, &cfg->min_isr, err, errlen) ||
        cfgcli_get_ms(c, "order-service.customer-wait-ms", 2000, &cfg->customer_wait_ms, err, errlen) ||
        cfgcli_get_int_range(c, "projection.batch-size", 500, 1, 100000, &cfg->batch_size, err, errlen) ||
        cfgcli_get_int_range(c, "kafka-consumer-config.poll-timeout-ms", 150, 1, 60000, &cfg->poll_ms, err,
                             errlen) ||
        cfgcli_get_int_range(c, "projection.max-retries", 5, 1, 1000, &cfg->max_retries, err, errlen) ||
        cfgcli_get_ms(c, "projection.retry-backoff-ms", 1000, &cfg->retry_backoff_ms, err, errlen) ||
        cfgcli_get_ms(c, "projection.check-interval-ms", 1000, &cfg->check_ms, err, errlen))
        return -1;
    if (cfg->check_ms < 10 || cfg->check_ms > 600000) {
        snprintf(err, errlen, "projection.check-interval-ms must be 10 ms to 10 min (got %ld)",
                 cfg->check_ms);
        return -1;
    }
    if (svc_http_opts(c, &cfg->listen, err, errlen) != 0)
        return -1;
    cfg->rc_url = cfgcli_get_str(c, "reconciliation.customer-service-url", "");
    cfg->rc_token = cfgcli_get_str(c, "reconciliation.customer-service-token", "");
    if (cfgcli_get_ms(c, "reconciliation.interval-ms", 60000, &cfg->rc_interval_ms, err, errlen) ||
        cfgcli_get_ms(c, "reconciliation.settle-ms", 5000, &cfg->rc_settle_ms, err, errlen) ||
        cfgcli_get_long(c, "reconciliation.rows-per-second", 100000, &cfg->rc_rows_per_s, err, errlen) ||
        cfgcli_get_bool(c, "reconciliation.repair", 0, &cfg->rc_repair, err, errlen))
        return -1;
    if (cfg->rc_url[0] != '\0' && strncmp(cfg->rc_url, "http://", 7) != 0 &&
        strncmp(cfg->rc_url, "https://", 8) != 0) {
        snprintf(err, errlen,
                 "reconciliation.customer-service-url must be an http:// or https:// URL (got '%s')",
                 cfg->rc_url);
        return -1;
    }
    if (cfg->rc_interval_ms < 100 || cfg->rc_rows_per_s < 1) {
        snprintf(err, errlen,
                 "reconciliation.interval-ms must be at least 100 and rows-per-second at least 1");
        return -1;
    }
    if (svc_kafka_client(c, "localhost:9092", &cfg->kafka, err, errlen) != 0)
        return -1;
    cfg->registry_url = cfgcli_get_str(c, "kafka-config.schema-registry-url", "");
    cfg->registry_user = cfgcli_get_str(c, "kafka-config.schema-registry-user", NULL);
    cfg->registry_password = cfgcli_get_str(c, "kafka-config.schema-registry-password", NULL);
    if (*cfg->registry_url != '\0' && strncmp(cfg->registry_url, "http://", 7) != 0 &&
        strncmp(cfg->registry_url, "https://", 8) != 0) {
        snprintf(err, errlen,
                 "kafka-config.schema-registry-url must be an http:// or https:// URL (got '%s')",
                 cfg->registry_url);
        return -1;
    }
    cfg->topic = cfgcli_get_str(c, "order-service.customer-topic-name", "customer");
    cfg->dlq_topic = cfgcli_get_str(c, "order-service.dlq-topic-name", "customer.DLQ");
    cfg->group_id = cfgcli_get_str(c, "kafka-consumer-config.customer-group-id", "customer-topic-consumer");
    if (*cfg->topic == '\0' || *cfg->dlq_topic == '\0' || *cfg->group_id == '\0') {
        snprintf(err, errlen, "topic, DLQ topic and group id must not be empty");
        return -1;
    }
    cfg->conninfo = svc_conninfo(c, "order-service", err, errlen);
    if (cfg->conninfo == NULL)
        return -1;
    os_kv_acc_t acc = {cfg};
    cfgcli_foreach_prefix(c, "kafka-consumer-config.", os_collect_kv, &acc);
    /* keys set only by env vars (relaxed binding) are not listed by foreach: ask for the
     * seed's consumer keys kfk maps by name (group-id is the group's own key here) */
    const char *known;
    for (size_t k = 0; (known = kfk_seed_key(KFK_CONSUMER, k)) != NULL; k++) {
        char key[96];
        int have = 0;
        if (strcmp(known, "group-id") == 0)
            continue;
        snprintf(key, sizeof key, "kafka-consumer-config.%s", known);
        const char *v = cfgcli_get_str(c, key, NULL);
        for (size_t i = 0; i < cfg->n_consumer_kv; i++)
            if (strcmp(cfg->consumer_kv[i].key, known) == 0)
                have = 1;
        if (v != NULL && !have && cfg->n_consumer_kv < OS_MAX_KV) {
            cfg->consumer_kv[cfg->n_consumer_kv].key = known;
            cfg->consumer_kv[cfg->n_consumer_kv].value = v;
            cfg->n_consumer_kv++;
        }
    }
    return 0;
}

void os_config_clear(os_config_t *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->conninfo);
    cfg->conninfo = NULL;
}

rd_kafka_conf_t *os_config_consumer_conf(const os_config_t *cfg, const char *client_id, char *err,
                                         size_t errlen)
{
    rd_kafka_conf_t *conf = kfk_conf_new(&cfg->kafka, client_id, NULL, err, errlen);
    if (conf != NULL &&
        kfk_conf_apply_all(conf, KFK_CONSUMER, cfg->consumer_kv, cfg->n_consumer_kv, err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        conf = NULL;
    }
    return conf;
}

os_config_t *os_config_new(const cfgcli_t *c, char *err, size_t errlen)
{
    os_config_t *cfg = calloc(1, sizeof *cfg);
    rd_kafka_conf_t *conf = NULL;
    if (cfg == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (os_config_load(cfg, c, err, errlen) != 0)
        goto fail;
    /* the consumer's properties, as the projection's consumer will apply them */
    conf = os_config_consumer_conf(cfg, "order-service", err, errlen);
    if (conf == NULL)
        goto fail;
    rd_kafka_conf_destroy(conf);
    return cfg;
fail:
    os_config_free(cfg);
    return NULL;
}

void os_config_free(os_config_t *cfg)
{
    os_config_clear(cfg);
    free(cfg);
}

int os_config_kafka_check(const os_config_t *cfg, const clog_t *log, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = os_config_consumer_conf(cfg, "order-service-check", err, errlen);
    if (conf == NULL)
        return -1;
    return svc_kafka_check(&cfg->kafka, conf, KFK_CONSUMER, 10000, log, err, errlen); /* conf stolen */
}

int os_config_preflight(const os_config_t *cfg, char *err, size_t errlen)
{
    char e[512];
    if (svc_pg_probe(cfg->conninfo, e, sizeof e) != 0) {
        snprintf(err, errlen, "datasource: %s", e);
        return -1;
    }
    rd_kafka_conf_t *conf = os_config_consumer_conf(cfg, "order-service-check", e, sizeof e);
    if (conf == NULL || kfk_probe(conf, KFK_CONSUMER, 5000, e, sizeof e) != 0) { /* conf stolen */
        snprintf(err, errlen, "kafka: %s", e);
        return -1;
    }
    return 0;
}
