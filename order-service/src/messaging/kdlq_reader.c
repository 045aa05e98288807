/* kdlq_reader.c — reading the dead-letter topic for the operations API (os_dlqread_port_t)
 * with a one-off librdkafka consumer. See kdlq_reader.h. */
#include "messaging/kdlq_reader.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "messaging/batch.h"
#include "messaging/kconsumer.h"
#include "svc.h"

#define OS_DR_TIMEOUT_MS 10000

/* Header `name` of m as text into out ("" when absent). */
static void os_dr_header(rd_kafka_message_t *m, const char *name, char *out, size_t len)
{
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t vl = 0;
    out[0] = '\0';
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, name, &v, &vl) != RD_KAFKA_RESP_ERR_NO_ERROR || v == NULL)
        return;
    snprintf(out, len, "%.*s", (int)(vl < len ? vl : len - 1), (const char *)v);
}

/* The record (headers, key) and what the projection's decoder makes of it now. `m` is
 * stolen. */
static void os_dr_record(const os_kdlqreader_t *r, rd_kafka_message_t *m, os_dlq_rec_t *o)
{
    char num[32];
    rd_kafka_timestamp_type_t tt;
    memset(o, 0, sizeof *o);
    o->partition = m->partition;
    o->offset = m->offset;
    o->timestamp_ms = rd_kafka_message_timestamp(m, &tt);
    snprintf(o->key, sizeof o->key, "%.*s",
             (int)(m->key_len < sizeof o->key ? m->key_len : sizeof o->key - 1),
             m->key ? (const char *)m->key : "");
    os_dr_header(m, "dlq.reason", o->reason, sizeof o->reason);
    os_dr_header(m, "dlq.detail", o->detail, sizeof o->detail);
    os_dr_header(m, "dlq.source.topic", o->src_topic, sizeof o->src_topic);
    os_dr_header(m, "dlq.source.partition", num, sizeof num);
    o->src_partition = num[0] ? (int32_t)strtol(num, NULL, 10) : -1;
    os_dr_header(m, "dlq.source.offset", num, sizeof num);
    o->src_offset = num[0] ? strtoll(num, NULL, 10) : -1;
    o->value_len = m->payload ? m->len : 0;
    o->tombstone = m->payload == NULL || m->len == 0;
    /* the live projection's own decoding, on a batch of this one message */
    os_batch_t b;
    os_msg_t msg;
    os_batch_init(&b, os_kmsg_release, NULL);
    os_kmsg_wrap(m, &msg);
    int dec = os_batch_add(&b, &msg) != 0 ? -1 : os_batch_decode(&b, r->codec);
    if (dec == OS_BATCH_RETRY) {
        snprintf(o->error, sizeof o->error, "not decoded now: %.280s", b.retry);
    } else if (dec != 0) {
        snprintf(o->error, sizeof o->error, "out of memory decoding it");
    } else if (b.nev == 1) {
        const proj_event_t *e = &b.events[0];
        o->ok = 1;
        snprintf(o->id, sizeof o->id, "%s", e->customer_id);
        o->version = e->tombstone ? 0 : e->version;
        o->occurred_at_ms = e->occurred_at_ms;
        if (!e->tombstone) {
            snprintf(o->username, sizeof o->username, "%s", e->username);
            snprintf(o->first_name, sizeof o->first_name, "%s", e->first_name);
            snprintf(o->last_name, sizeof o->last_name, "%s", e->last_name);
        }
    } else if (b.npoison == 1) {
        snprintf(o->error, sizeof o->error, "%s: %s", b.poison[0].reason, b.poison[0].detail);
    }
    os_batch_free(&b);
}

static int os_dr_read(void *self, int32_t partition, int64_t from, os_dlq_rec_t *out, size_t cap, size_t *n,
                      int *more, os_dlq_part_t *parts, size_t *nparts, char *err, size_t errlen)
{
    os_kdlqreader_t *r = self;
    kfk_opaque_t opq = {r->log, NULL};
    char group[300];
    int rc = -1;
    *n = 0;
    *more = 0;
    if (nparts != NULL)
        *nparts = 0;
    rd_kafka_conf_t *conf = kfk_conf_new(r->kafka, "order-service-dlq-reader", &opq, err, errlen);
    if (conf == NULL)
        return -1;
    snprintf(group, sizeof group, "%s-dlq-reader", r->group_prefix);
    if (kfk_conf_set(conf, "group.id", group, err, errlen) ||
        kfk_conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        kfk_conf_set(conf, "enable.partition.eof", "true", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_t *rk = kfk_consumer_new(conf, err, errlen);
    if (rk == NULL)
        return -1;
    int np = kfk_partition_count(rk, r->dlq_topic, OS_DR_TIMEOUT_MS);
    if (np < 0) {
        snprintf(err, errlen, "the dead-letter topic %s is not there (or Kafka did not answer)",
                 r->dlq_topic);
        goto cleanup;
    }
    for (int32_t p = 0; p < np; p++) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, r->dlq_topic, p, &lo, &hi, OS_DR_TIMEOUT_MS);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "watermarks of %s[%d]: %s", r->dlq_topic, (int)p, rd_kafka_err2str(e));
            goto cleanup;
        }
        if (parts != NULL && nparts != NULL && *nparts < OS_OPS_MAX_PARTS)
            parts[(*nparts)++] = (os_dlq_part_t){p, lo, hi};
        if ((partition >= 0 && p != partition) || *more)
            continue;
        int64_t start = from > lo ? from : lo;
        if (start >= hi)
            continue;
        if (*n >= cap) {
            *more = 1;
            continue;
        }
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, r->dlq_topic, p)->offset = start;
        e = rd_kafka_assign(rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "assign %s[%d]: %s", r->dlq_topic, (int)p, rd_kafka_err2str(e));
            goto cleanup;
        }
        int64_t at = start, deadline = svc_mono_ms() + OS_DR_TIMEOUT_MS;
        while (at < hi) {
            if (*n >= cap) {
                *more = 1;
                break;
            }
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
            if (m == NULL) {
                if (svc_mono_ms() > deadline) {
                    snprintf(err, errlen, "reading %s[%d]: no record for %d ms at offset %" PRId64,
                             r->dlq_topic, (int)p, OS_DR_TIMEOUT_MS, at);
                    goto cleanup;
                }
                continue;
            }
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                at = hi;
                rd_kafka_message_destroy(m);
                break;
            }
            if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(err, errlen, "reading %s[%d]: %s", r->dlq_topic, (int)p, rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                goto cleanup;
            }
            at = m->offset + 1;
            deadline = svc_mono_ms() + OS_DR_TIMEOUT_MS;
            os_dr_record(r, m, &out[(*n)++]); /* m stolen */
        }
        rd_kafka_assign(rk, NULL);
    }
    rc = 0;
cleanup:
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

os_dlqread_port_t os_kdlqreader_port(os_kdlqreader_t *r)
{
    os_dlqread_port_t p = {r, os_dr_read};
    return p;
}
