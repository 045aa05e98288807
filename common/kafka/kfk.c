/* kfk.c — librdkafka glue: conf building from the shared client settings and config keys,
 * idempotent producer, consumer, Admin "ensure topic", reachability, logs into clog. The
 * client settings' helpers and the start-up checks are in kfk_client.c. See kfk.h. */
#include "kfk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "errbuf.h"

void *kfk_user(const rd_kafka_t *rk)
{
    const kfk_opaque_t *op = rk ? rd_kafka_opaque(rk) : NULL;
    return op ? op->user : NULL;
}

const clog_t *kfk_log(const rd_kafka_t *rk)
{
    const kfk_opaque_t *op = rk ? rd_kafka_opaque(rk) : NULL;
    return op ? op->log : NULL;
}

/* syslog levels (0 emerg … 7 debug) → clog levels. */
static clog_level_t kfk_level(int lv)
{
    if (lv <= 3)
        return CLOG_ERROR;
    if (lv == 4)
        return CLOG_WARN;
    if (lv <= 6)
        return CLOG_INFO;
    return CLOG_DEBUG;
}

static void kfk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    const clog_t *log = kfk_log(rk);
    if (log == NULL)
        return;
    /* Broker connection failures (facility FAIL) come at LOG_ERR and repeat while a broker
     * is away; librdkafka reconnects by itself, so they are warnings, not errors. */
    clog_level_t lv = kfk_level(level);
    if (lv == CLOG_ERROR && fac != NULL && strcmp(fac, "FAIL") == 0)
        lv = CLOG_WARN;
    clog_ev(log, lv, json_pack("{s:s,s:s}", "component", "librdkafka", "facility", fac ? fac : ""), "%s",
            buf ? buf : "");
}

static void kfk_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    const kfk_opaque_t *op = opaque;
    (void)rk;
    if (op == NULL || op->log == NULL)
        return;
    /* Refused credentials or certificates need an operator, not patience: errors that say
     * so. Transport errors repeat while a broker is down; warn, librdkafka keeps retrying. */
    const char *what = err == RD_KAFKA_RESP_ERR__AUTHENTICATION ? "Kafka authentication failed: "
                       : err == RD_KAFKA_RESP_ERR__SSL          ? "Kafka TLS handshake failed: "
                                                                : "";
    clog_ev(op->log, err == RD_KAFKA_RESP_ERR__FATAL || *what ? CLOG_ERROR : CLOG_WARN,
            json_pack("{s:s,s:s}", "component", "librdkafka", "error",
                      rd_kafka_err2name((rd_kafka_resp_err_t)err)),
            "%s%s", what, reason ? reason : "");
}

int kfk_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err, size_t errlen)
{
    char e[512];
    if (conf == NULL || key == NULL || value == NULL) {
        errbuf_set(err, errlen, "kafka property %s: missing value", key ? key : "(null)");
        return -1;
    }
    if (rd_kafka_conf_set(conf, key, value, e, sizeof e) != RD_KAFKA_CONF_OK) {
        errbuf_set(err, errlen, "kafka property %s=%s: %s", key, value, e);
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *kfk_conf_new(const kfk_client_t *cl, const char *client_id, kfk_opaque_t *op, char *err,
                              size_t errlen)
{
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return NULL;
    }
    if ((cl && cl->bootstrap && kfk_conf_set(conf, "bootstrap.servers", cl->bootstrap, err, errlen) != 0) ||
        (client_id && kfk_conf_set(conf, "client.id", client_id, err, errlen) != 0)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (size_t i = 0; cl != NULL && i < cl->nprops; i++) {
        if (kfk_conf_set(conf, cl->props[i].key, cl->props[i].value, e, sizeof e) != 0) {
            errbuf_set(err, errlen, "kafka-config.properties.%s: %s", cl->props[i].key, e);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_conf_set_opaque(conf, op);
    rd_kafka_conf_set_log_cb(conf, kfk_log_cb);
    rd_kafka_conf_set_error_cb(conf, kfk_error_cb);
    return conf;
}

typedef struct kfk_map {
    const char *seed;
    const char *rdk;
} kfk_map_t;

static const kfk_map_t kfk_producer_map[] = {
    {"acks", "acks"},
    {"linger-ms", "linger.ms"},
    {"batch-size", "batch.size"},
    {"compression-type", "compression.type"},
    {"request-timeout-ms", "request.timeout.ms"},
    {"retry-count", "message.send.max.retries"},
    {"delivery-timeout-ms", "delivery.timeout.ms"},
    {NULL, NULL},
};

static const kfk_map_t kfk_consumer_map[] = {
    {"auto-offset-reset", "auto.offset.reset"},
    {"session-timeout-ms", "session.timeout.ms"},
    {"heartbeat-interval-ms", "heartbeat.interval.ms"},
    {"max-poll-interval-ms", "max.poll.interval.ms"},
    {"max-partition-fetch-bytes-default", "max.partition.fetch.bytes"},
    {"fetch-max-wait-ms", "fetch.wait.max.ms"},
    {"fetch-min-bytes", "fetch.min.bytes"},
    {"group-id", "group.id"},
    {NULL, NULL},
};

const char *kfk_seed_key(kfk_role_t role, size_t i)
{
    const kfk_map_t *map = role == KFK_PRODUCER ? kfk_producer_map : kfk_consumer_map;
    for (size_t k = 0; map[k].seed != NULL; k++)
        if (k == i)
            return map[k].seed;
    return NULL;
}

int kfk_conf_apply(rd_kafka_conf_t *conf, kfk_role_t role, const char *key, const char *value, char *err,
                   size_t errlen)
{
    static const char pfx[] = "properties.";
    const kfk_map_t *map = role == KFK_PRODUCER ? kfk_producer_map : kfk_consumer_map;
    const char *section = role == KFK_PRODUCER ? "kafka-producer-config" : "kafka-consumer-config";
    char e[512];

    if (key == NULL)
        return 1;
    if (strncmp(key, pfx, sizeof pfx - 1) == 0 && key[sizeof pfx - 1] != '\0') {
        if (kfk_conf_set(conf, key + sizeof pfx - 1, value, e, sizeof e) != 0) {
            errbuf_set(err, errlen, "%s.%s: %s", section, key, e);
            return -1;
        }
        return 0;
    }
    for (size_t i = 0; map[i].seed != NULL; i++) {
        if (strcmp(map[i].seed, key) != 0)
            continue;
        const char *v = value;
        /* The seed writes compression-type "none"/"snappy"/…, librdkafka agrees. */
        if (kfk_conf_set(conf, map[i].rdk, v, e, sizeof e) != 0) {
            errbuf_set(err, errlen, "%s.%s: %s", section, key, e);
            return -1;
        }
        return 0;
    }
    return 1;
}

int kfk_conf_apply_all(rd_kafka_conf_t *conf, kfk_role_t role, const kfk_kv_t *kv, size_t n, char *err,
                       size_t errlen)
{
    const char *batch = NULL, *boost = NULL;
    for (size_t i = 0; i < n; i++) {
        if (role == KFK_PRODUCER && kv[i].key && strcmp(kv[i].key, "batch-size") == 0) {
            batch = kv[i].value;
            continue;
        }
        if (role == KFK_PRODUCER && kv[i].key && strcmp(kv[i].key, "batch-size-boost-factor") == 0) {
            boost = kv[i].value;
            continue;
        }
        if (kfk_conf_apply(conf, role, kv[i].key, kv[i].value, err, errlen) < 0)
            return -1;
    }
    if (batch != NULL) {
        char *end = NULL, num[32];
        long long b = strtoll(batch, &end, 10), f = 1;
        if (end == batch || *end != '\0' || b <= 0) {
            errbuf_set(err, errlen, "kafka-producer-config.batch-size: '%s' is not a positive integer",
                       batch);
            return -1;
        }
        if (boost != NULL) {
            f = strtoll(boost, &end, 10);
            if (end == boost || *end != '\0' || f <= 0) {
                errbuf_set(err, errlen,
                           "kafka-producer-config.batch-size-boost-factor: '%s' is not a positive integer",
                           boost);
                return -1;
            }
        }
        b = (b > 2147483647LL / f) ? 2147483647LL : b * f;
        if (b > 2147483647LL - 1000000LL) /* librdkafka also caps batch.size by message.max.bytes */
            b = 2147483647LL - 1000000LL;
        snprintf(num, sizeof num, "%lld", b);
        if (kfk_conf_apply(conf, role, "batch-size", num, err, errlen) < 0)
            return -1;
    }
    return 0;
}

rd_kafka_t *kfk_producer_new(rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    char e[512];
    rd_kafka_t *rk = NULL;
    if (conf == NULL) {
        errbuf_set(err, errlen, "no configuration");
        return NULL;
    }
    if (kfk_conf_set(conf, "enable.idempotence", "true", err, errlen) != 0 ||
        kfk_conf_set(conf, "acks", "all", err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (rk == NULL) {
        errbuf_set(err, errlen, "creating the Kafka producer: %s", e);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

rd_kafka_t *kfk_consumer_new(rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    char e[512];
    rd_kafka_t *rk = NULL;
    if (conf == NULL) {
        errbuf_set(err, errlen, "no configuration");
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (rk == NULL) {
        errbuf_set(err, errlen, "creating the Kafka consumer: %s", e);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

int kfk_ensure_topic(rd_kafka_t *rk, const char *topic, const kfk_topic_spec_t *spec, const kfk_kv_t *configs,
                     size_t nconfigs, int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_NewTopic_t *nt = NULL;
    rd_kafka_AdminOptions_t *opts = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **tr;
    size_t ntr = 0;
    char e[512], isr[16];
    int rc = -1;

    if (rk == NULL || topic == NULL || spec == NULL || spec->partitions < 1 || spec->replication < 1 ||
        spec->min_isr < 0 || spec->min_isr > spec->replication) {
        errbuf_set(err, errlen,
                   "ensure topic: invalid arguments (partitions %d, replication %d, min.insync.replicas %d)",
                   spec ? spec->partitions : 0, spec ? spec->replication : 0, spec ? spec->min_isr : 0);
        return -1;
    }
    nt = rd_kafka_NewTopic_new(topic, spec->partitions, spec->replication, e, sizeof e);
    if (nt == NULL) {
        errbuf_set(err, errlen, "topic %s: %s", topic, e);
        goto cleanup;
    }
    snprintf(isr, sizeof isr, "%d", spec->min_isr);
    if (spec->min_isr > 0 &&
        rd_kafka_NewTopic_set_config(nt, "min.insync.replicas", isr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_set(err, errlen, "topic %s: bad config min.insync.replicas=%s", topic, isr);
        goto cleanup;
    }
    for (size_t i = 0; i < nconfigs; i++) {
        if (rd_kafka_NewTopic_set_config(nt, configs[i].key, configs[i].value) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            errbuf_set(err, errlen, "topic %s: bad config %s=%s", topic, configs[i].key, configs[i].value);
            goto cleanup;
        }
    }
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (opts == NULL ||
        rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, e, sizeof e) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, e, sizeof e) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_set(err, errlen, "topic %s: admin options: %s", topic, opts ? e : "out of memory");
        goto cleanup;
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
    if (ev == NULL) {
        errbuf_set(err, errlen, "topic %s: CreateTopics timed out after %d ms", topic, timeout_ms);
        goto cleanup;
    }
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_set(err, errlen, "topic %s: CreateTopics: %s", topic, rd_kafka_event_error_string(ev));
        goto cleanup;
    }
    res = rd_kafka_event_CreateTopics_result(ev);
    tr = res ? rd_kafka_CreateTopics_result_topics(res, &ntr) : NULL;
    if (tr == NULL || ntr != 1) {
        errbuf_set(err, errlen, "topic %s: CreateTopics returned no result", topic);
        goto cleanup;
    }
    switch (rd_kafka_topic_result_error(tr[0])) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        rc = 1;
        break;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
        rc = 0;
        break;
    default:
        errbuf_set(
            err, errlen, "topic %s: %s (%s)", topic, rd_kafka_err2name(rd_kafka_topic_result_error(tr[0])),
            rd_kafka_topic_result_error_string(tr[0]) ? rd_kafka_topic_result_error_string(tr[0]) : "");
        break;
    }
cleanup:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    return rc;
}

int kfk_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    int n = -1;
    if (rk == NULL || topic == NULL)
        return -1;
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rkt == NULL)
        return -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR && md != NULL &&
        md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

int kfk_reachable(rd_kafka_t *rk, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    int ok = 0;
    if (rk == NULL)
        return 0;
    /* all_topics=0 and no topic: a brokers-only metadata request. */
    if (rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR && md != NULL)
        ok = md->broker_cnt > 0;
    if (md)
        rd_kafka_metadata_destroy(md);
    return ok;
}

/* Whether `entry` ("host:port") is advertised by one of the metadata's brokers. */
static int kfk_advertised(const struct rd_kafka_metadata *md, const char *entry, size_t len)
{
    char want[300];
    if (len == 0 || len >= sizeof want)
        return 0;
    memcpy(want, entry, len);
    want[len] = '\0';
    for (int i = 0; i < md->broker_cnt; i++) {
        char have[300];
        snprintf(have, sizeof have, "%s:%d", md->brokers[i].host, md->brokers[i].port);
        if (strcmp(have, want) == 0)
            return 1;
    }
    return 0;
}

int kfk_brokers_down(rd_kafka_t *rk, const char *bootstrap, int timeout_ms, char *down, size_t downlen)
{
    const struct rd_kafka_metadata *md = NULL;
    dbuf_t b;
    int n = -1;
    if (down != NULL && downlen > 0)
        down[0] = '\0';
    if (rk == NULL)
        return -1;
    if (rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR || md == NULL)
        goto cleanup;
    n = md->broker_cnt;
    dbuf_init(&b, 1024);
    for (const char *p = bootstrap ? bootstrap : ""; *p != '\0';) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        size_t l = len;
        while (l > 0 && *s == ' ') /* "a:1, b:2" */
            s++, l--;
        while (l > 0 && s[l - 1] == ' ')
            l--;
        if (l > 0 && !kfk_advertised(md, s, l)) {
            if (dbuf_len(&b) > 0)
                dbuf_adds(&b, ",");
            dbuf_add(&b, s, l);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (down != NULL && downlen > 0)
        errbuf_set(down, downlen, "%.*s", (int)dbuf_len(&b), dbuf_len(&b) ? dbuf_ptr(&b) : "");
    dbuf_free(&b);
cleanup:
    if (md)
        rd_kafka_metadata_destroy(md);
    return n;
}
