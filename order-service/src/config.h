/* config.h — order-service's configuration, read from the config client (cfgcli) into a
 * plain struct with the documented defaults (config-repo/order-service.yml) — at start, and
 * again for every new configuration the watcher or POST /actuator/refresh brings (with the
 * same checks; common/svc/svc_live.h) — and the class of every key it reads (what a change
 * needs: applied live, or a restart in place; the README's table).
 */
#ifndef OS_CONFIG_H
#define OS_CONFIG_H

#include <stddef.h>

#include "cfgcli.h"
#include "httpd.h"
#include "kfk.h"
#include "svc_live.h"

#define OS_MAX_KV 64

typedef struct os_config {
    int port;            /* server.port, 8181 */
    int http_threads;    /* server.threads, 4 */
    int max_body;        /* server.max-body-bytes, 65536 */
    httpd_opts_t listen; /* .tls and .max_connections: server.ssl.*, server.max-connections (svc_http_opts) */
    char *conninfo;      /* assembled from datasource.* (owned) */
    int pool_size;       /* datasource.pool-size, 4 */
    kfk_client_t kafka;  /* kafka-config.bootstrap-servers (localhost:9092) and
                            kafka-config.properties.*: every handle's settings */
    int partitions;      /* kafka-config.num-of-partitions, 3 */
    int replication;     /* kafka-config.replication-factor, 1 */
    int min_isr;         /* kafka-config.min-insync-replicas, 0 = broker default */
    const char *registry_url;        /* kafka-config.schema-registry-url, "" = the embedded catalog */
    const char *registry_user;       /* kafka-config.schema-registry-user, NULL */
    const char *registry_password;   /* kafka-config.schema-registry-password, NULL */
    const char *topic;               /* order-service.customer-topic-name, customer */
    const char *dlq_topic;           /* order-service.dlq-topic-name, customer.DLQ */
    const char *group_id;            /* kafka-consumer-config.customer-group-id */
    long customer_wait_ms;           /* order-service.customer-wait-ms, 2000 */
    int batch_size;                  /* projection.batch-size, 500 */
    int poll_ms;                     /* kafka-consumer-config.poll-timeout-ms, 150 */
    int max_retries;                 /* projection.max-retries, 5 */
    long retry_backoff_ms;           /* projection.retry-backoff-ms, 1000 */
    long check_ms;                   /* projection.check-interval-ms, 1000 */
    const char *rc_url;              /* reconciliation.customer-service-url, "" = no reconciliation */
    const char *rc_token;            /* reconciliation.customer-service-token (its admin token), "" */
    long rc_interval_ms;             /* reconciliation.interval-ms, 60000 */
    long rc_settle_ms;               /* reconciliation.settle-ms, 5000 */
    long long rc_rows_per_s;         /* reconciliation.rows-per-second, 100000 (per side) */
    int rc_repair;                   /* reconciliation.repair, false */
    kfk_kv_t consumer_kv[OS_MAX_KV]; /* the other kafka-consumer-config.* keys (borrowed) */
    size_t n_consumer_kv;
} os_config_t;

/* Reads `c` (borrowed: the struct's strings point into it). Returns 0, or -1 with err
 * naming the bad key. */
int os_config_load(os_config_t *cfg, const cfgcli_t *c, char *err, size_t errlen);
/* Frees what os_config_load allocated. NULL-safe. */
void os_config_clear(os_config_t *cfg);

/* os_config_load into a new struct, plus the consumer's librdkafka settings checked as the
 * start-up checks them: the whole settings object of svc_live. Owned (os_config_free; `c`
 * must outlive it) or NULL + err. */
os_config_t *os_config_new(const cfgcli_t *c, char *err, size_t errlen);
void os_config_free(os_config_t *cfg);

/* Before a restart in place for new settings: the database answers (svc_pg_probe) and a
 * Kafka broker does (kfk_probe). 0, or -1 + err. */
int os_config_preflight(const os_config_t *cfg, char *err, size_t errlen);

/* The projection consumer's librdkafka conf: the shared client settings (cfg->kafka) and the
 * kafka-consumer-config.* keys. Owned (rd_kafka_conf_destroy), or NULL with err. */
rd_kafka_conf_t *os_config_consumer_conf(const os_config_t *cfg, const char *client_id, char *err,
                                         size_t errlen);

/* At start-up, with a secured Kafka (security.protocol SSL/SASL_*): the consumer's settings
 * connect once (svc_kafka_check, at most 10 s); 0, or -1 with err when the brokers refuse
 * the credentials or the certificate ("Kafka authentication failed …"). */
int os_config_kafka_check(const os_config_t *cfg, const clog_t *log, char *err, size_t errlen);

/* Every key order-service reads, with its class (svc_key_rule_t). */
extern const svc_key_rule_t os_config_keys[];
extern const size_t os_config_nkeys;

#endif
