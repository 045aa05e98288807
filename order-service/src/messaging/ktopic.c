/* ktopic.c — the topic's description for the operations API (os_topicinfo_port_t) on a
 * borrowed librdkafka handle. See ktopic.h. */
#include "messaging/ktopic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int os_kt_part_cmp(const void *a, const void *b)
{
    const os_part_info_t *x = a, *y = b;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

/* The bound handle, or NULL after writing why into err. */
static rd_kafka_t *os_kt_rk(void *self, char *err, size_t errlen)
{
    rd_kafka_t *rk = atomic_load(&((os_ktopic_t *)self)->rk);
    if (rk == NULL)
        snprintf(err, errlen, "the Kafka consumer is not running");
    return rk;
}

static int os_kt_describe(void *self, const char *topic, os_part_info_t *out, size_t cap, int timeout_ms,
                          char *err, size_t errlen)
{
    rd_kafka_t *rk = os_kt_rk(self, err, errlen);
    if (rk == NULL)
        return -1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    int n = -1;
    if (t == NULL) {
        snprintf(err, errlen, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "metadata of %s: %s", topic, rd_kafka_err2str(e));
        goto cleanup;
    }
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "metadata of %s: %s", topic,
                 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no such topic");
        goto cleanup;
    }
    n = 0;
    for (int i = 0; i < md->topics[0].partition_cnt && (size_t)n < cap; i++) {
        const rd_kafka_metadata_partition_t *mp = &md->topics[0].partitions[i];
        os_part_info_t *o = &out[n++];
        o->partition = mp->id;
        o->leader = mp->leader;
        o->low = o->high = -1;
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, mp->id, &lo, &hi, timeout_ms) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            o->low = lo;
            o->high = hi;
        }
    }
    qsort(out, (size_t)n, sizeof *out, os_kt_part_cmp);
cleanup:
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return n;
}

static int os_kt_for_time(void *self, const char *topic, const int32_t *parts, size_t n, int64_t ts_ms,
                          int64_t *out, int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_t *rk = os_kt_rk(self, err, errlen);
    if (rk == NULL)
        return -1;
    int rc = -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, topic, parts[i])->offset = ts_ms;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "offsets for a time on %s: %s", topic, rd_kafka_err2str(e));
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(l, topic, parts[i]);
        if (tp == NULL || tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "offsets for a time on %s[%d]: %s", topic, (int)parts[i],
                     tp ? rd_kafka_err2str(tp->err) : "not answered");
            goto cleanup;
        }
        out[i] = tp->offset;
        if (out[i] < 0) { /* RD_KAFKA_OFFSET_END: no record that new → the end */
            int64_t lo, hi;
            e = rd_kafka_query_watermark_offsets(rk, topic, parts[i], &lo, &hi, timeout_ms);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(err, errlen, "watermarks of %s[%d]: %s", topic, (int)parts[i], rd_kafka_err2str(e));
                goto cleanup;
            }
            out[i] = hi;
        }
    }
    rc = 0;
cleanup:
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

void os_ktopic_bind(os_ktopic_t *kt, rd_kafka_t *rk)
{
    atomic_store(&kt->rk, rk);
}

os_topicinfo_port_t os_ktopic_port(os_ktopic_t *kt)
{
    os_topicinfo_port_t p = {kt, os_kt_describe, os_kt_for_time};
    return p;
}
