/* kfk.h — librdkafka glue shared by customer-service and order-service.
 *
 * - kfk_client_t: what EVERY librdkafka handle of a service is made from — the bootstrap
 *   servers and the shared kafka-config.properties.<librdkafka key> passthrough (security.protocol,
 *   sasl.*, ssl.* …). kfk_conf_new applies it, so no handle (producer, consumer, takeover
 *   scan, dead-letter producer, admin client, probe) can miss a security setting.
 * - kfk_conf_new: an rd_kafka_conf_t from a kfk_client_t, the log/error callbacks routed
 *   into clog, and the instance opaque set to a caller-owned kfk_opaque_t.
 * - kfk_conf_apply: maps the seed's kebab-case config keys (kafka-producer-config.* /
 *   kafka-consumer-config.*, given WITHOUT that prefix) onto librdkafka properties, and
 *   passes "properties.<librdkafka key>" through verbatim.
 * - kfk_producer_new: an idempotent producer (enable.idempotence=true, acks=all enforced).
 * - kfk_consumer_new: a consumer with the main queue redirected to the consumer queue.
 * - kfk_ensure_topic: Admin API CreateTopics (partitions, replication, min.insync.replicas);
 *   "already exists" counts as success.
 * - kfk_reachable / kfk_brokers_down: bounded metadata round-trips (readiness probes).
 * - kfk_check: a start-up check that tells "no broker answered" from "a broker refused us"
 *   (SASL authentication, TLS handshake), so wrong credentials fail the start with a clear
 *   message instead of an endless retry.
 *
 * Callbacks: librdkafka has ONE instance opaque for all callbacks, so it is always a
 * kfk_opaque_t*. Put your own context in `user` and fetch it in your callbacks with
 * kfk_user(rk). Per-message state goes in the per-message opaque (msg_opaque).
 */
#ifndef CQ_KFK_H
#define CQ_KFK_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "clog.h"

typedef struct kfk_opaque {
    const clog_t *log; /* borrowed; librdkafka logs and errors go here */
    void *user;        /* borrowed; the caller's own callback context */
} kfk_opaque_t;

typedef struct kfk_kv {
    const char *key;
    const char *value;
} kfk_kv_t;

typedef enum { KFK_PRODUCER = 0, KFK_CONSUMER = 1 } kfk_role_t;

#define KFK_MAX_PROPS 48

/* The client settings every handle of a service shares: kafka-config.bootstrap-servers and
 * kafka-config.properties.<librdkafka key> (stored WITHOUT the "properties." prefix). All
 * strings borrowed (from the configuration, which outlives the handles). */
typedef struct kfk_client {
    const char *bootstrap; /* may be NULL (set later, or librdkafka's mock cluster) */
    kfk_kv_t props[KFK_MAX_PROPS];
    size_t nprops;
} kfk_client_t;

/* Adds (or replaces: the last value of a key wins) one librdkafka property of `cl`.
 * Returns 0, or -1 when KFK_MAX_PROPS are taken (message in err). */
int kfk_client_add(kfk_client_t *cl, const char *key, const char *value, char *err, size_t errlen);

/* The value of librdkafka property `key` in cl->props, or NULL. */
const char *kfk_client_get(const kfk_client_t *cl, const char *key);

/* A new conf made from `cl` (may be NULL: no bootstrap, no shared properties): bootstrap.servers,
 * every shared property (an invalid one fails naming kafka-config.properties.<key>),
 * client.id (may be NULL), log + error callbacks into op->log, and opaque = op (borrowed:
 * it must outlive every handle made from the conf). Returns an owned conf
 * (rd_kafka_conf_destroy) or NULL with a message in err. */
rd_kafka_conf_t *kfk_conf_new(const kfk_client_t *cl, const char *client_id, kfk_opaque_t *op, char *err,
                              size_t errlen);

/* Sets one raw librdkafka property. Returns 0, or -1 with librdkafka's message in err. */
int kfk_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err, size_t errlen);

/* Applies one seed-style key (without the "kafka-producer-config."/"kafka-consumer-config."
 * prefix) for `role`:
 *   producer: acks, linger-ms, batch-size, compression-type, request-timeout-ms,
 *             retry-count (→ message.send.max.retries), delivery-timeout-ms
 *   consumer: auto-offset-reset, session-timeout-ms, heartbeat-interval-ms,
 *             max-poll-interval-ms, max-partition-fetch-bytes-default
 *             (→ max.partition.fetch.bytes), fetch-max-wait-ms, fetch-min-bytes,
 *             group-id (→ group.id)
 *   both:     properties.<librdkafka key> → <librdkafka key>, verbatim
 * Java-only keys (*-serializer-class, *-deserializer, batch-size-boost-factor, …) are
 * ignored. Returns 0 applied, 1 ignored, -1 invalid value (message in err names the key). */
int kfk_conf_apply(rd_kafka_conf_t *conf, kfk_role_t role, const char *key, const char *value, char *err,
                   size_t errlen);

/* The i-th seed-style key kfk_conf_apply maps for `role` (the list above), NULL past the
 * last: for a caller that must ask for each key by name (an env-only key is not listed
 * under its prefix). The string is static. */
const char *kfk_seed_key(kfk_role_t role, size_t i);

/* kfk_conf_apply for each of `n` pairs; batch-size is multiplied by
 * batch-size-boost-factor when both are present (the seed's semantics), capped at
 * librdkafka's maximum. Returns 0 or -1 at the first invalid pair. */
int kfk_conf_apply_all(rd_kafka_conf_t *conf, kfk_role_t role, const kfk_kv_t *kv, size_t n, char *err,
                       size_t errlen);

/* Creates an idempotent producer from `conf` (STOLEN, also on failure): forces
 * enable.idempotence=true and acks=all. Install your dr_msg_cb on the conf before. */
rd_kafka_t *kfk_producer_new(rd_kafka_conf_t *conf, char *err, size_t errlen);

/* Creates a consumer from `conf` (STOLEN, also on failure); group.id must be set.
 * Calls rd_kafka_poll_set_consumer. */
rd_kafka_t *kfk_consumer_new(rd_kafka_conf_t *conf, char *err, size_t errlen);

/* The `user` pointer of the kfk_opaque_t the handle was made with (NULL when none). */
void *kfk_user(const rd_kafka_t *rk);
/* The logger of the handle (NULL when none). */
const clog_t *kfk_log(const rd_kafka_t *rk);

/* How the services create their topics: kafka-config.num-of-partitions,
 * kafka-config.replication-factor and kafka-config.min-insync-replicas (0 = the broker's
 * min.insync.replicas; with acks=all it is the number of replicas that must have a record
 * before it counts as written, so 2 of 3 survives the loss of any one broker). */
typedef struct kfk_topic_spec {
    int partitions;  /* >= 1 */
    int replication; /* >= 1 */
    int min_isr;     /* 0 = broker default, else 1..replication */
} kfk_topic_spec_t;

/* Makes sure `topic` exists: CreateTopics with the spec's partitions and replication, the
 * spec's min.insync.replicas (when set) and the given topic configs (e.g.
 * {"cleanup.policy","compact"}); TOPIC_ALREADY_EXISTS is success (the existing topic is left
 * as it is). Waits at most timeout_ms. Returns 1 created, 0 already existed, -1 error
 * (message in err; a min_isr above the replication is refused before any request). */
int kfk_ensure_topic(rd_kafka_t *rk, const char *topic, const kfk_topic_spec_t *spec, const kfk_kv_t *configs,
                     size_t nconfigs, int timeout_ms, char *err, size_t errlen);

/* The brokers of the cluster as the last metadata says (a dead broker drops out once the
 * controller fenced it), against `bootstrap` (the configured comma list): returns the
 * number of live brokers (-1 when no broker answered within timeout_ms) and writes into
 * `down` (may be NULL) the bootstrap entries no live broker advertises, comma-separated
 * ("" when none), for readiness ("kafka: 2 of 3 brokers, down 127.0.0.1:26192"). */
int kfk_brokers_down(rd_kafka_t *rk, const char *bootstrap, int timeout_ms, char *down, size_t downlen);

/* The number of partitions of `topic` per broker metadata, or -1 (unknown/unreachable). */
int kfk_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms);

/* 1 when a broker answered a metadata request within timeout_ms, else 0. */
int kfk_reachable(rd_kafka_t *rk, int timeout_ms);

/* A client of `role` made from `conf` (STOLEN) asks for the brokers once (kfk_reachable):
 * 0 when one answered within timeout_ms, or -1 with err naming bootstrap.servers (or the
 * authentication / TLS failure, as kfk_check). For a restart in place's pre-check of new
 * Kafka settings. */
int kfk_probe(rd_kafka_conf_t *conf, kfk_role_t role, int timeout_ms, char *err, size_t errlen);

#define KFK_CHECK_OK 0         /* a broker answered a metadata request */
#define KFK_CHECK_NO_ANSWER 1  /* none answered within the time (down, unreachable) */
#define KFK_CHECK_REFUSED (-1) /* a broker refused us: SASL authentication or TLS failed */
#define KFK_CHECK_ERROR (-2)   /* the client could not be made (bad settings) */

/* A client of `role` made from `conf` (STOLEN) connects and asks for metadata, for at most
 * timeout_ms: KFK_CHECK_OK, KFK_CHECK_NO_ANSWER (err names bootstrap.servers), or
 * KFK_CHECK_REFUSED with err saying "Kafka authentication failed …" or "Kafka TLS handshake
 * failed …" and librdkafka's reason — returned as soon as the broker refuses, not at the
 * timeout — or KFK_CHECK_ERROR. */
int kfk_check(rd_kafka_conf_t *conf, kfk_role_t role, int timeout_ms, char *err, size_t errlen);

/* Whether `cl` asks for an authenticated or encrypted connection (security.protocol other
 * than plaintext): the services run kfk_check at start-up only then, so a plaintext set-up
 * starts as before while Kafka is away. */
int kfk_client_secured(const kfk_client_t *cl);

#endif
