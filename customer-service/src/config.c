/* config.c — cfgcli → cs_config_t (and the producer's librdkafka conf), the key classes,
 * the restart pre-check. See config.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evcodec.h"
#include "svc.h"
#include "svc_kafka.h"
#include "svc_pg.h"

/* What a change to each key needs (customer-service/README.md, "Configuration changes"). */
const svc_key_rule_t cs_config_keys[] = {
    {"logging.level", SVC_KEY_LIVE},
    {"logging.level.*", SVC_KEY_LIVE},
    {"server.*", SVC_KEY_RESTART},
    {"datasource.*", SVC_KEY_RESTART},
    {"kafka-config.bootstrap-servers", SVC_KEY_RESTART},
    {"kafka-config.num-of-partitions", SVC_KEY_RESTART},
    {"kafka-config.replication-factor", SVC_KEY_RESTART},
    {"kafka-config.min-insync-replicas", SVC_KEY_RESTART},
    {"kafka-config.properties.*", SVC_KEY_RESTART},
    {"tracing.*", SVC_KEY_RESTART},
    {"kafka-config.schema-registry-url", SVC_KEY_RESTART},
    {"kafka-config.schema-registry-user", SVC_KEY_RESTART},
    {"kafka-config.schema-registry-password", SVC_KEY_RESTART},
    {"kafka-producer-config.*", SVC_KEY_RESTART},
    {"customer-service.customer-topic-name", SVC_KEY_RESTART},
    {"outbox.batch-size", SVC_KEY_LIVE},
    {"outbox.poll-interval-ms", SVC_KEY_LIVE},
    {"outbox.lock-poll-ms", SVC_KEY_LIVE},
    {"outbox.retention-ms", SVC_KEY_LIVE},
    {"outbox.sweep-interval-ms", SVC_KEY_LIVE},
    {"outbox.backoff-initial-ms", SVC_KEY_LIVE},
    {"outbox.backoff-max-ms", SVC_KEY_LIVE},
    {"outbox.flush-ms", SVC_KEY_LIVE},
    {"outbox.standby-flush", SVC_KEY_LIVE},
    {"outbox.read-window-ms", SVC_KEY_LIVE},
    {"outbox.lock-key", SVC_KEY_RESTART},
};
const size_t cs_config_nkeys = sizeof cs_config_keys / sizeof cs_config_keys[0];

static int cs_collect_kv(void *ud, const char *key, const char *rest, const char *value, const char *source)
{
    cs_config_t *cfg = ud;
    (void)key;
    (void)source;
    if (cfg->n_producer_kv == CS_MAX_KV)
        return 1;
    cfg->producer_kv[cfg->n_producer_kv].key = rest;
    cfg->producer_kv[cfg->n_producer_kv].value = value;
    cfg->n_producer_kv++;
    return 0;
}

static int cs_config_outbox(cs_config_t *cfg, const cfgcli_t *c, char *err, size_t errlen)
{
    if (cfgcli_get_int_range(c, "outbox.batch-size", 500, 1, 100000, &cfg->batch_size, err, errlen) ||
        cfgcli_get_int_range(c, "outbox.poll-interval-ms", 1000, 1, 3600000, &cfg->poll_interval_ms, err,
                             errlen) ||
        cfgcli_get_int_range(c, "outbox.lock-poll-ms", 1000, 10, 600000, &cfg->lock_poll_ms, err, errlen) ||
        cfgcli_get_long(c, "outbox.retention-ms", 86400000LL, &cfg->retention_ms, err, errlen) ||
        cfgcli_get_long(c, "outbox.sweep-interval-ms", 60000, &cfg->sweep_interval_ms, err, errlen) ||
        cfgcli_get_int_range(c, "outbox.backoff-initial-ms", 100, 1, 600000, &cfg->backoff_initial_ms, err,
                             errlen) ||
        cfgcli_get_int_range(c, "outbox.backoff-max-ms", 30000, 1, 3600000, &cfg->backoff_max_ms, err,
                             errlen) ||
        cfgcli_get_int_range(c, "outbox.flush-ms", 5000, 1, 600000, &cfg->flush_ms, err, errlen) ||
        cfgcli_get_int_range(c, "outbox.standby-flush", 0, 0, 64, &cfg->standby_flush, err, errlen) ||
        cfgcli_get_int_range(c, "outbox.read-window-ms", 0, 0, 1000, &cfg->read_window_ms, err, errlen) ||
        cfgcli_get_long(c, "outbox.lock-key", 0x637573746f6d6572LL, &cfg->lock_key, err, errlen))
        return -1;
    if (cfg->retention_ms == 0)
        cfg->retention_ms = -1; /* 0 in config: keep published rows */
    return 0;
}

int cs_config_load(cs_config_t *cfg, const cfgcli_t *c, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (cfgcli_get_int_range(c, "server.port", 8184, 0, 65535, &cfg->port, err, errlen) ||
        cfgcli_get_int_range(c, "server.threads", 8, 1, 64, &cfg->http_threads, err, errlen) ||
        cfgcli_get_long(c, "server.max-body-bytes", 65536, &cfg->max_body, err, errlen) ||
        cfgcli_get_int_range(c, "datasource.pool-size", 8, 1, 64, &cfg->pool_size, err, errlen) ||
        cfgcli_get_int_range(c, "kafka-config.num-of-partitions", 3, 1, 10000, &cfg->partitions, err,
                             errlen) ||
        cfgcli_get_int_range(c, "kafka-config.replication-factor", 1, 1, 100, &cfg->replication, err,
                             errlen) ||
        cfgcli_get_int_range(c, "kafka-config.min-insync-replicas", 0, 0, 100, &cfg->min_isr, err, errlen) ||
        svc_kafka_client(c, NULL, &cfg->kafka, err, errlen))
        return -1;
    if (svc_http_opts(c, &cfg->listen, err, errlen) != 0)
        return -1;
    cfg->address = cfgcli_get_str(c, "server.address", "0.0.0.0");
    cfg->topic = cfgcli_get_str(c, "customer-service.customer-topic-name", "customer");
    if (*cfg->topic == '\0') {
        snprintf(err, errlen, "config key 'customer-service.customer-topic-name' is empty");
        return -1;
    }
    if (cfg->max_body < 256 || cfg->max_body > 64LL * 1024 * 1024) {
        snprintf(err, errlen, "config key 'server.max-body-bytes' must be between 256 and 67108864");
        return -1;
    }
    cfg->registry_url = cfgcli_get_str(c, "kafka-config.schema-registry-url", "");
    cfg->registry_user = cfgcli_get_str(c, "kafka-config.schema-registry-user", NULL);
    cfg->registry_password = cfgcli_get_str(c, "kafka-config.schema-registry-password", NULL);
    if (cs_config_outbox(cfg, c, err, errlen) != 0)
        return -1;
    cfg->conninfo = svc_conninfo(c, "customer-service", err, errlen);
    if (cfg->conninfo == NULL)
        return -1;
    cfgcli_foreach_prefix(c, "kafka-producer-config.", cs_collect_kv, cfg);
    return 0;
}

rd_kafka_conf_t *cs_config_producer_conf(const cs_config_t *cfg, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = kfk_conf_new(&cfg->kafka, "customer-service", NULL, err, errlen);
    if (conf == NULL)
        return NULL;
    if (kfk_conf_apply_all(conf, KFK_PRODUCER, cfg->producer_kv, cfg->n_producer_kv, err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

void cs_config_clear(cs_config_t *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->conninfo);
    cfg->conninfo = NULL;
}

cs_config_t *cs_config_new(const cfgcli_t *c, char *err, size_t errlen)
{
    cs_config_t *cfg = calloc(1, sizeof *cfg);
    rd_kafka_conf_t *conf = NULL;
    if (cfg == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (cs_config_load(cfg, c, err, errlen) != 0 ||
        (conf = cs_config_producer_conf(cfg, err, errlen)) == NULL) {
        cs_config_free(cfg);
        return NULL;
    }
    rd_kafka_conf_destroy(conf);
    return cfg;
}

void cs_config_free(cs_config_t *cfg)
{
    cs_config_clear(cfg);
    free(cfg);
}

int cs_config_kafka_check(const cs_config_t *cfg, const clog_t *log, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = cs_config_producer_conf(cfg, err, errlen);
    if (conf == NULL)
        return -1;
    return svc_kafka_check(&cfg->kafka, conf, KFK_PRODUCER, 10000, log, err, errlen); /* conf stolen */
}

int cs_config_preflight(const cs_config_t *cfg, char *err, size_t errlen)
{
    char e[512];
    rd_kafka_conf_t *conf;
    if (svc_pg_probe(cfg->conninfo, e, sizeof e) != 0) {
        snprintf(err, errlen, "datasource: %s", e);
        return -1;
    }
    conf = cs_config_producer_conf(cfg, e, sizeof e);
    if (conf == NULL || kfk_probe(conf, KFK_PRODUCER, 5000, e, sizeof e) != 0) { /* conf stolen */
        snprintf(err, errlen, "kafka: %s", e);
        return -1;
    }
    if (*cfg->registry_url != '\0') { /* the start-up asks it for the subject's id too */
        evcodec_t *codec = evcodec_new_default(e, sizeof e);
        int rc = codec == NULL
                     ? -1
                     : evcodec_use_registry(codec, cfg->registry_url, EVCODEC_SUBJECT_CUSTOMER,
                                            cfg->registry_user, cfg->registry_password, 5000, e, sizeof e);
        evcodec_free(codec);
        if (rc != 0) {
            snprintf(err, errlen, "schema registry: %s", e);
            return -1;
        }
    }
    return 0;
}
