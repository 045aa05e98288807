/* kconsumer.c — the live projection's consumer on librdkafka. See kconsumer.h. */
#include "messaging/kconsumer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svc.h"

#define OS_KC_MAX_PARTS 1024
#define OS_KC_DESTROY_MS 4000 /* bound on destroying the handle after the close */

struct os_kconsumer {
    os_kconsumer_opts_t o;
    kfk_opaque_t opq;
    rd_kafka_t *rk;
    const os_rebalance_t *rb; /* the listener, while poll() or close() runs */
    int closed;               /* the consumer left its group */
    int abandoned;            /* the handle outlived OS_KC_DESTROY_MS */
    int64_t kcommit_ms;       /* last Kafka offset commit */
    int paused;               /* the operator paused the projection: assignments start paused */
    int32_t parts[OS_KC_MAX_PARTS];
    int64_t from[OS_KC_MAX_PARTS];
};

void os_kmsg_wrap(rd_kafka_message_t *m, os_msg_t *out)
{
    memset(out, 0, sizeof *out);
    out->handle = m;
    out->err = m->err == RD_KAFKA_RESP_ERR_NO_ERROR         ? OS_MSG_OK
               : m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ? OS_MSG_EOF
                                                            : OS_MSG_ERROR;
    out->errstr = m->err ? rd_kafka_message_errstr(m) : NULL;
    out->partition = m->partition;
    out->offset = m->offset;
    out->key = m->key;
    out->key_len = m->key_len;
    out->value = m->payload;
    out->len = m->len;
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t vl = 0;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(h, "traceparent", &v, &vl) == RD_KAFKA_RESP_ERR_NO_ERROR && v != NULL &&
        vl == TRC_TRACEPARENT_LEN) {
        memcpy(out->traceparent, v, vl);
        out->traceparent[vl] = '\0';
    }
}

void os_kmsg_release(void *self, os_msg_t *m)
{
    (void)self;
    if (m->handle != NULL)
        rd_kafka_message_destroy(m->handle);
    m->handle = NULL;
}

/* Starts the assigned partitions where the listener says (the offsets stored in PostgreSQL). */
static void os_kc_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                            void *opaque)
{
    os_kconsumer_t *k = kfk_user(rk);
    (void)opaque;
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (k->rb != NULL)
            k->rb->revoked(k->rb->self, (size_t)parts->cnt);
        rd_kafka_assign(rk, NULL);
        return;
    }
    size_t n = 0;
    for (int i = 0; i < parts->cnt && n < OS_KC_MAX_PARTS; i++)
        if (strcmp(parts->elems[i].topic, k->o.topic) == 0) {
            k->parts[n] = parts->elems[i].partition;
            k->from[n++] = OS_OFFSET_BEGINNING;
        }
    if (k->rb != NULL)
        k->rb->assigned(k->rb->self, k->parts, k->from, n);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        tp->offset = RD_KAFKA_OFFSET_BEGINNING;
        for (size_t j = 0; j < n && strcmp(tp->topic, k->o.topic) == 0; j++)
            if (k->parts[j] == tp->partition)
                tp->offset = k->from[j] < 0 ? RD_KAFKA_OFFSET_BEGINNING : k->from[j];
    }
    rd_kafka_assign(rk, parts);
    if (k->paused)
        rd_kafka_pause_partitions(rk, parts);
}

os_kconsumer_t *os_kconsumer_new(const os_kconsumer_opts_t *o, char *err, size_t errlen)
{
    os_kconsumer_t *k = calloc(1, sizeof *k);
    rd_kafka_conf_t *cc = NULL;
    if (k == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    k->o = *o;
    k->opq.log = o->log;
    k->opq.user = k;
    cc = kfk_conf_new(o->kafka, "order-service-projection", &k->opq, err, errlen);
    if (cc == NULL)
        goto fail;
    if (kfk_conf_apply_all(cc, KFK_CONSUMER, o->consumer_kv, o->n_consumer_kv, err, errlen) != 0 ||
        kfk_conf_set(cc, "group.id", o->group_id, err, errlen) ||
        kfk_conf_set(cc, "enable.auto.commit", "false", err, errlen) ||
        kfk_conf_set(cc, "enable.auto.offset.store", "false", err, errlen) ||
        kfk_conf_set(cc, "partition.assignment.strategy", "range,roundrobin", err, errlen))
        goto fail;
    rd_kafka_conf_set_rebalance_cb(cc, os_kc_rebalance);
    k->rk = kfk_consumer_new(cc, err, errlen);
    cc = NULL;
    if (k->rk == NULL)
        goto fail;
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err, errlen, "projection: subscribe %s: %s", o->topic, rd_kafka_err2str(e));
        goto fail;
    }
    return k;
fail:
    if (cc)
        rd_kafka_conf_destroy(cc);
    os_kconsumer_free(k);
    return NULL;
}

static int os_kc_poll(void *self, int timeout_ms, const os_rebalance_t *rb, os_msg_t *out)
{
    os_kconsumer_t *k = self;
    k->rb = rb;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, timeout_ms);
    k->rb = NULL;
    if (m == NULL)
        return 0;
    os_kmsg_wrap(m, out);
    return 1;
}

static int os_kc_assignment(void *self, int32_t *out, int cap)
{
    os_kconsumer_t *k = self;
    rd_kafka_topic_partition_list_t *asg = NULL;
    int n = 0;
    if (rd_kafka_assignment(k->rk, &asg) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    for (int i = 0; i < asg->cnt && n < cap; i++)
        if (strcmp(asg->elems[i].topic, k->o.topic) == 0)
            out[n++] = asg->elems[i].partition;
    rd_kafka_topic_partition_list_destroy(asg);
    return n;
}

static int os_kc_seek(void *self, const os_offset_t *offs, size_t n, char *err, size_t errlen)
{
    os_kconsumer_t *k = self;
    int rc = -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, k->o.topic, offs[i].partition)->offset =
            offs[i].next_offset < 0 ? RD_KAFKA_OFFSET_BEGINNING : offs[i].next_offset;
    rd_kafka_error_t *se = rd_kafka_seek_partitions(k->rk, l, 5000);
    if (se != NULL) {
        snprintf(err, errlen, "%s", rd_kafka_error_string(se));
        rd_kafka_error_destroy(se);
        goto cleanup;
    }
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].err) {
            snprintf(err, errlen, "seek of %s[%d]: %s", l->elems[i].topic, (int)l->elems[i].partition,
                     rd_kafka_err2str(l->elems[i].err));
            goto cleanup;
        }
    rc = 0;
cleanup:
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* Async, at most once a second: a commit per batch queues heartbeats behind commits at the
 * group coordinator under load, and the session then times out (a 10 s stall). */
static void os_kc_commit(void *self, const os_offset_t *offs, size_t n)
{
    os_kconsumer_t *k = self;
    int64_t now = svc_mono_ms();
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, k->o.topic, offs[i].partition)->offset = offs[i].next_offset;
    rd_kafka_offsets_store(k->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (now - k->kcommit_ms >= 1000) {
        rd_kafka_commit(k->rk, NULL, 1); /* the stored offsets of every partition */
        k->kcommit_ms = now;
    }
}

static int os_kc_high_watermark(void *self, int32_t partition, int64_t *hi)
{
    os_kconsumer_t *k = self;
    int64_t lo;
    return rd_kafka_get_watermark_offsets(k->rk, k->o.topic, partition, &lo, hi) == RD_KAFKA_RESP_ERR_NO_ERROR
               ? 0
               : -1;
}

/* rd_kafka_consumer_close() waits without a limit for the group coordinator (pending offset
 * commits, LeaveGroup), so with the broker gone it never returns; the asynchronous close is
 * served here (rebalances go to the listener) until it completes or the deadline passes.
 * Nothing is lost by giving up: the read model and its offsets are in PostgreSQL. */
static int os_kc_close(void *self, int ms, const os_rebalance_t *rb)
{
    os_kconsumer_t *k = self;
    int closed = 0;
    int64_t deadline = svc_mono_ms() + ms;
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(k->rk, q);
    k->rb = rb;
    if (e != NULL) {
        clog_warn(k->o.log, "projection: consumer close: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        goto cleanup;
    }
    while (!(closed = rd_kafka_consumer_closed(k->rk)) && svc_mono_ms() < deadline) {
        /* The event API (the callback one asserts on fetched messages still queued): a
         * rebalance goes to the usual callback, anything else is dropped. */
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
        if (ev != NULL && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
            os_kc_rebalance(k->rk, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev), NULL);
        rd_kafka_event_destroy(ev);
    }
    if (!closed)
        clog_warn(k->o.log,
                  "projection: the consumer did not leave the group within %d ms (Kafka unreachable?); "
                  "closing without it (offsets are safe in PostgreSQL)",
                  ms);
cleanup:
    k->rb = NULL;
    k->closed = closed;
    rd_kafka_queue_destroy(q);
    return closed;
}

static int os_kc_pause(void *self, int on)
{
    os_kconsumer_t *k = self;
    rd_kafka_topic_partition_list_t *asg = NULL;
    if (rd_kafka_assignment(k->rk, &asg) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    rd_kafka_resp_err_t e =
        on ? rd_kafka_pause_partitions(k->rk, asg) : rd_kafka_resume_partitions(k->rk, asg);
    rd_kafka_topic_partition_list_destroy(asg);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    k->paused = on;
    return 0;
}

os_consumer_port_t os_kconsumer_port(os_kconsumer_t *k)
{
    os_consumer_port_t p = {k,          os_kc_poll,   os_kmsg_release,      os_kc_assignment,
                            os_kc_seek, os_kc_commit, os_kc_high_watermark, os_kc_close,
                            os_kc_pause};
    return p;
}

rd_kafka_t *os_kconsumer_handle(os_kconsumer_t *k)
{
    return k != NULL ? k->rk : NULL;
}

/* Runs rd_kafka_destroy (the helper thread of os_kconsumer_shutdown). */
static void *os_kc_destroy(void *arg)
{
    os_kconsumer_t *k = arg;
    rd_kafka_destroy_flags(k->rk, k->closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return NULL;
}

int os_kconsumer_shutdown(os_kconsumer_t *k)
{
    pthread_t t;
    struct timespec until;
    if (k == NULL || k->abandoned)
        return k != NULL;
    if (k->rk == NULL)
        return 0;
    /* Even without the consumer close, librdkafka keeps the handle until offset commits still
     * waiting for an unreachable coordinator expire (session.timeout.ms after the close
     * began): the destroy gets OS_KC_DESTROY_MS, then the handle is abandoned. */
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += OS_KC_DESTROY_MS / 1000;
    if (pthread_create(&t, NULL, os_kc_destroy, k) != 0) {
        os_kc_destroy(k);
    } else if (pthread_timedjoin_np(t, NULL, &until) != 0) {
        pthread_detach(t);
        clog_warn(k->o.log,
                  "projection: the Kafka consumer did not shut down within %d ms (offset commits "
                  "waiting for an unreachable coordinator); abandoning it",
                  OS_KC_DESTROY_MS);
        k->abandoned = 1;
        return 1;
    }
    k->rk = NULL;
    clog_debug(k->o.log, "projection: consumer destroyed");
    return 0;
}

void os_kconsumer_free(os_kconsumer_t *k)
{
    if (k == NULL || os_kconsumer_shutdown(k) != 0)
        return; /* abandoned: librdkafka still uses it (see kconsumer.h) */
    free(k);
}
