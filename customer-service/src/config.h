/* config.h — customer-service's configuration, read from the config client (cfgcli) into a
 * plain struct with the documented defaults (config-repo/customer-service.yml), every value
 * checked — at start, and again for every new configuration the watcher or POST
 * /actuator/refresh brings (common/svc/svc_live.h) — and the class of every key it reads
 * (applied live, or a restart in place; the README's table). The counterpart of
 * order-service/src/config.h.
 */
#ifndef CS_CONFIG_H
#define CS_CONFIG_H

#include <stddef.h>

#include "cfgcli.h"
#include "httpd.h"
#include "kfk.h"
#include "svc_live.h"

#define CS_MAX_KV 128

typedef struct cs_config {
    int port;            /* server.port, 8184 */
    const char *address; /* server.address, 0.0.0.0 */
    int http_threads;    /* server.threads, 8 */
    long long max_body;  /* server.max-body-bytes, 65536 (256 .. 64 MiB) */
    httpd_opts_t listen; /* .tls and .max_connections: server.ssl.*, server.max-connections (svc_http_opts) */
    char *conninfo;      /* assembled from datasource.* (owned) */
    int pool_size;       /* datasource.pool-size, 8 */
    kfk_client_t kafka;  /* kafka-config.bootstrap-servers (required) and
                            kafka-config.properties.*: every handle's settings */
    int partitions;      /* kafka-config.num-of-partitions, 3 */
    int replication;     /* kafka-config.replication-factor, 1 */
    int min_isr;         /* kafka-config.min-insync-replicas, 0 = the broker's default */
    const char *registry_url;        /* kafka-config.schema-registry-url, "" = embedded catalog */
    const char *registry_user;       /* kafka-config.schema-registry-user, NULL */
    const char *registry_password;   /* kafka-config.schema-registry-password, NULL */
    const char *topic;               /* customer-service.customer-topic-name, customer */
    int batch_size;                  /* outbox.batch-size, 500 */
    int poll_interval_ms;            /* outbox.poll-interval-ms, 1000 */
    int lock_poll_ms;                /* outbox.lock-poll-ms, 1000 */
    long long retention_ms;          /* outbox.retention-ms, 24 h; 0 in config → -1 (keep) */
    long long sweep_interval_ms;     /* outbox.sweep-interval-ms, 60000 */
    int backoff_initial_ms;          /* outbox.backoff-initial-ms, 100 */
    int backoff_max_ms;              /* outbox.backoff-max-ms, 30000 */
    int flush_ms;                    /* outbox.flush-ms, 5000 */
    int standby_flush;               /* outbox.standby-flush, 0 (publish once committed) */
    int read_window_ms;              /* outbox.read-window-ms, 0 (read at once when notified) */
    long long lock_key;              /* outbox.lock-key, 0x637573746f6d6572 ("customer") */
    kfk_kv_t producer_kv[CS_MAX_KV]; /* the kafka-producer-config.* keys (borrowed) */
    size_t n_producer_kv;
} cs_config_t;

/* Reads `c` (borrowed: the struct's strings point into it). Returns 0, or -1 with err
 * naming the bad key. */
int cs_config_load(cs_config_t *cfg, const cfgcli_t *c, char *err, size_t errlen);
/* The producer's librdkafka conf: the shared client settings (cfg->kafka) and the
 * kafka-producer-config.* keys (each checked by librdkafka). Owned (rd_kafka_conf_destroy), or NULL with err.
 */
rd_kafka_conf_t *cs_config_producer_conf(const cs_config_t *cfg, char *err, size_t errlen);
/* Frees what cs_config_load allocated. NULL-safe. */
void cs_config_clear(cs_config_t *cfg);

/* cs_config_load into a new struct, plus the producer's librdkafka settings checked
 * (cs_config_producer_conf): the checks the start-up makes; the settings object of
 * svc_live. Owned (cs_config_free; `c` must outlive it) or NULL + err. */
cs_config_t *cs_config_new(const cfgcli_t *c, char *err, size_t errlen);
void cs_config_free(cs_config_t *cfg);

/* Before a restart in place for new settings: the database answers (svc_pg_probe), a Kafka
 * broker does with the producer's settings (kfk_probe), and the schema registry, when one is
 * set, knows the subject. 0, or -1 + err. */
int cs_config_preflight(const cs_config_t *cfg, char *err, size_t errlen);

/* At start-up, with a secured Kafka (security.protocol SSL/SASL_*): the producer's settings
 * connect once (svc_kafka_check, at most 10 s); 0, or -1 with err when the brokers refuse
 * the credentials or the certificate ("Kafka authentication failed …"). */
int cs_config_kafka_check(const cs_config_t *cfg, const clog_t *log, char *err, size_t errlen);

/* Every key customer-service reads, with its class (svc_key_rule_t). */
extern const svc_key_rule_t cs_config_keys[];
extern const size_t cs_config_nkeys;

#endif
