/* outbox_relay_takeover.c — what a new relay leader does first: find out which outbox
 * rows the previous leader published after it last stored its position, so they are not
 * sent twice — and never count a row as published that is not on the topic, so none is lost.
 *
 * Per partition the relay's records are produced in outbox-id order by one idempotent
 * producer at a time, and a leader stores a position that counts every row whose delivery
 * report it has seen (with nothing in flight), so the records that are on the topic but
 * past the stored position form a SUFFIX of each partition, and every one of them is a row
 * past the position. With u[p] such rows mapped to partition p (librdkafka's
 * murmur2_random partitioner, the one the producer uses), the last u[p] records of p
 * therefore contain all of them — and so do the records from the offset the position
 * stored for p (the offset after the last delivered record then). The scan reads from the
 * later of the two, collects the `outbox-id` headers, and records in the position only
 * rows past it whose id it SAW.
 *
 * Ids alone would not do: a transaction that took a lower id but committed after a higher
 * id was published is past the position with an id below the partition's last one; it must
 * be sent, not counted. (Per key there is no such race: a customer's next event is written
 * only after the previous one's transaction committed, under the row lock.)
 *
 * relay_takeover is that decision over two ports — the outbox store and the topic — so the
 * unit tests drive it with fakes; relay_takeover_scan runs it on the relay's store and on the
 * topic read with librdkafka (a one-off consumer that assigns the tails, takeover_tails).
 */
#include "messaging/outbox_relay_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAKEOVER_TIMEOUT_MS 30000

/* The topic port on librdkafka (the relay's producer for metadata and partitioning). */
typedef struct takeover_kafka {
    outbox_relay_t *r;
    rd_kafka_topic_t *rkt; /* for the partitioner */
} takeover_kafka_t;

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Reads the last want[p] records of every partition p (none before from[p] when that is
 * >= 0) and stores their outbox-ids in seen[0..cap). Returns the number of ids, or -1 when a
 * partition could not be read to its end in time. */
static int takeover_tails(void *self, int np, const int *want, const long long *from, long long *seen,
                          int cap)
{
    outbox_relay_t *r = ((takeover_kafka_t *)self)->r;
    char err[512];
    rd_kafka_conf_t *conf = kfk_conf_new(r->o.kafka, "customer-outbox-takeover", &r->op, err, sizeof err);
    rd_kafka_t *c = NULL;
    rd_kafka_topic_partition_list_t *tl = NULL;
    int64_t *end = NULL;
    int open = 0, n = 0, rc = -1;
    long long t0 = svc_wall_ms();

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
    end = calloc((size_t)np, sizeof *end);
    if (end == NULL)
        goto cleanup;
    for (int p = 0; p < np; p++) {
        int64_t lo = 0, hi = 0;
        if (want[p] == 0)
            continue;
        if (rd_kafka_query_watermark_offsets(c, r->o.topic, p, &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            goto cleanup;
        int64_t start = hi - want[p] > lo ? hi - want[p] : lo;
        if (from[p] > start)
            start = from[p];
        if (hi > start) {
            rd_kafka_topic_partition_list_add(tl, r->o.topic, p)->offset = start;
            end[p] = hi;
            open++;
        }
    }
    if (open > 0 && rd_kafka_assign(c, tl) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto cleanup;
    while (open > 0 && svc_wall_ms() - t0 < TAKEOVER_TIMEOUT_MS) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        rd_kafka_headers_t *hdrs = NULL;
        const void *hv = NULL;
        size_t hl = 0;
        if (m == NULL)
            continue;
        int p = m->partition;
        if (p >= 0 && p < np && end[p] > 0) {
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset < end[p]) {
                char num[24] = "";
                if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    rd_kafka_header_get_last(hdrs, RELAY_HEADER, &hv, &hl) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    hv != NULL && hl < sizeof num && n < cap) {
                    memcpy(num, hv, hl);
                    num[hl] = '\0';
                    seen[n++] = strtoll(num, NULL, 10);
                }
            }
            if ((m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset >= end[p] - 1) ||
                m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                end[p] = 0; /* this partition is read to the end we wanted */
                open--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    rc = open == 0 ? n : -1;
cleanup:
    free(end);
    rd_kafka_topic_partition_list_destroy(tl);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return rc;
}

static int takeover_partitions(void *self)
{
    takeover_kafka_t *k = self;
    return kfk_partition_count(k->r->rk, k->r->o.topic, 5000);
}

static int32_t takeover_partition_of(void *self, const char *key, size_t len, int np)
{
    takeover_kafka_t *k = self;
    return rd_kafka_msg_partitioner_murmur2_random(k->rkt, key, len, np, NULL, NULL);
}

int relay_takeover(const outbox_store_t *store, const relay_topic_t *topic, relay_pos_t *pos,
                   const char *topic_name, const clog_t *log)
{
    int np = topic->ops->partitions(topic->self);
    int *want = NULL, nrows, nseen = -1, n = 0, rc = -1;
    const outbox_row_t *rows = NULL;
    long long *seen = NULL, *ids = NULL, *from = NULL;
    outbox_pos_t v;
    char err[512];

    if (np < 1) {
        clog_warn(log, "outbox takeover: the topic's metadata is unavailable; skipping the scan");
        return -1;
    }
    relay_pos_view(pos, topic_name, &v);
    nrows = store->ops->unpublished(store->self, &v, &rows, err, sizeof err);
    if (nrows < 0) {
        clog_warn(log, "outbox takeover: %s", err);
        return -1;
    }
    if (nrows == 0)
        return 0;
    want = calloc((size_t)np, sizeof *want);
    from = calloc((size_t)np, sizeof *from);
    seen = calloc((size_t)nrows, sizeof *seen);
    ids = calloc((size_t)nrows, sizeof *ids);
    if (want == NULL || from == NULL || seen == NULL || ids == NULL)
        goto cleanup;
    for (int i = 0; i < nrows; i++) {
        int32_t p = topic->ops->partition_of(topic->self, rows[i].key, rows[i].key_len, np);
        if (p >= 0 && p < np)
            want[p]++;
    }
    for (int p = 0; p < np; p++)
        from[p] = p < pos->noffsets ? pos->offsets[p] : -1;
    /* A topic created a moment ago may not have partition leaders yet: retry briefly. */
    for (int attempt = 0; attempt < 5 && nseen < 0; attempt++) {
        nseen = topic->ops->tails(topic->self, np, want, from, seen, nrows);
        if (nseen < 0 && attempt < 4)
            svc_sleep_ms(500);
    }
    if (nseen < 0) {
        clog_warn(log, "outbox takeover: could not read the partition tails; rows may be re-sent");
        goto cleanup;
    }
    qsort(seen, (size_t)nseen, sizeof *seen, cmp_ll);
    for (int i = 0; i < nrows; i++) /* rows are in id order: so are ids */
        if (bsearch(&rows[i].id, seen, (size_t)nseen, sizeof *seen, cmp_ll) != NULL)
            ids[n++] = rows[i].id;
    rc = 0;
    if (n > 0) {
        if (relay_pos_seen(pos, ids, n, svc_mono_ms()) != 0) {
            clog_error(log, "outbox takeover: out of memory for the position");
            rc = -1;
            goto cleanup;
        }
        relay_pos_view(pos, topic_name, &v);
        if (store->ops->save(store->self, &v, err, sizeof err) != 0) {
            clog_error(log, "outbox takeover: %s", err);
            rc = -1;
            goto cleanup;
        }
        pos->changed = 0;
        clog_warn(log,
                  "outbox takeover: %d of %d unpublished rows were already on the topic (published by the "
                  "previous relay after it last stored its position); counted, not re-sent",
                  n, nrows);
        rc = n;
    }
cleanup:
    free(want);
    free(from);
    free(seen);
    free(ids);
    return rc;
}

void relay_takeover_scan(outbox_relay_t *r)
{
    static const relay_topic_ops_t kafka_ops = {takeover_partitions, takeover_partition_of, takeover_tails};
    takeover_kafka_t k = {r, rd_kafka_topic_new(r->rk, r->o.topic, NULL)};
    relay_topic_t topic = {&kafka_ops, &k};
    if (k.rkt == NULL) {
        clog_warn(r->log, "outbox takeover: no handle for topic %s; skipping the scan", r->o.topic);
        return;
    }
    relay_takeover(&r->store, &topic, &r->pos, r->o.topic, r->log);
    rd_kafka_topic_destroy(k.rkt);
}
