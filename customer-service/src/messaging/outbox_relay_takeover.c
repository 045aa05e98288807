/* outbox_relay_takeover.c — what a new relay leader does first: find out which outbox
 * rows the previous leader published but could not mark, so they are not sent twice.
 *
 * Per partition the relay's records are in outbox-id order (rows are produced in id order
 * by one idempotent producer at a time, with unlimited retries: no gaps, no reordering),
 * so the `outbox-id` header of a partition's LAST record says: every row of this partition
 * with an id up to here is on the topic. Rows are mapped to partitions with librdkafka's
 * murmur2_random partitioner, the one the producer is configured with.
 */
#include "messaging/outbox_relay_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAKEOVER_TIMEOUT_MS 10000

/* Reads the last record's outbox-id of every partition into maxid[0..np). Returns 0 when
 * every partition was read (empty partitions count as 0), -1 otherwise. */
static int takeover_tails(outbox_relay_t *r, int np, long long *maxid)
{
    char err[512];
    rd_kafka_conf_t *conf = kfk_conf_new(r->bootstrap, "customer-outbox-takeover", &r->op, err, sizeof err);
    rd_kafka_t *c = NULL;
    rd_kafka_topic_partition_list_t *tl = NULL;
    int want = 0, got = 0, rc = -1;
    long long t0 = relay_now_ms();

    if (conf == NULL || kfk_conf_set(conf, "group.id", "customer-outbox-takeover", err, sizeof err) != 0 ||
        kfk_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) != 0 ||
        kfk_conf_set(conf, "enable.partition.eof", "true", err, sizeof err) != 0) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        clog_warn(r->log, "outbox takeover: %s", err);
        return -1;
    }
    c = kfk_consumer_new(conf, err, sizeof err);
    if (c == NULL) {
        clog_warn(r->log, "outbox takeover: %s", err);
        return -1;
    }
    tl = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++) {
        int64_t lo = 0, hi = 0;
        maxid[p] = 0;
        if (rd_kafka_query_watermark_offsets(c, r->o.topic, p, &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            goto cleanup;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(tl, r->o.topic, p)->offset = hi - 1;
            want++;
        }
    }
    if (want > 0 && rd_kafka_assign(c, tl) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto cleanup;
    while (got < want && relay_now_ms() - t0 < TAKEOVER_TIMEOUT_MS) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        const void *hv = NULL;
        size_t hl = 0;
        rd_kafka_headers_t *hdrs = NULL;
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->partition >= 0 && m->partition < np) {
            char num[24] = "";
            if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                rd_kafka_header_get_last(hdrs, RELAY_HEADER, &hv, &hl) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                hv != NULL && hl < sizeof num) {
                memcpy(num, hv, hl);
                num[hl] = '\0';
                maxid[m->partition] = strtoll(num, NULL, 10);
            }
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    rc = got == want ? 0 : -1;
cleanup:
    rd_kafka_topic_partition_list_destroy(tl);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return rc;
}

void relay_takeover_scan(outbox_relay_t *r)
{
    int np = kfk_partition_count(r->rk, r->o.topic, 5000);
    long long *maxid = NULL, top = 0, *ids = NULL;
    rd_kafka_topic_t *rkt = NULL;
    PGresult *res = NULL;
    int n = 0, tails_ok = 0;
    char topbuf[24];
    const char *vals[1] = {topbuf};

    if (np < 1) {
        clog_warn(r->log, "outbox takeover: topic %s metadata unavailable; skipping the scan", r->o.topic);
        return;
    }
    maxid = calloc((size_t)np, sizeof *maxid);
    /* A topic created a moment ago may not have partition leaders yet: retry briefly. */
    for (int attempt = 0; maxid != NULL && attempt < 5; attempt++) {
        if (takeover_tails(r, np, maxid) == 0) {
            tails_ok = 1;
            break;
        }
        struct timespec ts = {0, 500 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!tails_ok) {
        clog_warn(r->log, "outbox takeover: could not read the partition tails; rows may be re-sent");
        goto cleanup;
    }
    for (int p = 0; p < np; p++)
        top = maxid[p] > top ? maxid[p] : top;
    if (top == 0)
        goto cleanup;
    snprintf(topbuf, sizeof topbuf, "%lld", top);
    res = PQexecParams(r->pg,
                       "SELECT id, aggregate_id::text FROM customer.outbox"
                       " WHERE published_at IS NULL AND id <= $1::bigint ORDER BY id",
                       1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        goto cleanup;
    ids = malloc(sizeof *ids * (size_t)(PQntuples(res) + 1));
    rkt = rd_kafka_topic_new(r->rk, r->o.topic, NULL);
    if (ids == NULL || rkt == NULL)
        goto cleanup;
    for (int i = 0; i < PQntuples(res); i++) {
        long long id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        const char *key = PQgetvalue(res, i, 1);
        int32_t p = rd_kafka_msg_partitioner_murmur2_random(rkt, key, strlen(key), np, NULL, NULL);
        if (p >= 0 && p < np && id <= maxid[p])
            ids[n++] = id;
    }
    if (n > 0 && relay_mark(r, ids, n) == 0)
        clog_warn(r->log, "outbox takeover: %d rows were already on the topic (published by the previous "
                  "relay before it could mark them); marked, not re-sent", n);
cleanup:
    PQclear(res);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    free(ids);
    free(maxid);
}
