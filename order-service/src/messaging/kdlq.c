/* kdlq.c — the projection's dead-letter producer on librdkafka. See kdlq.h. */
#include "messaging/kdlq.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <librdkafka/rdkafka.h>

#include "svc.h"

struct os_kdlq {
    os_kdlq_opts_t o;
    kfk_opaque_t opq;
    rd_kafka_t *rk;
    atomic_int failed;             /* delivery failures of the current send */
    atomic_llong kafka_checked_ms; /* readiness cache: when Kafka was last asked */
    atomic_int kafka_ok;
};

static void os_kdlq_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    os_kdlq_t *d = kfk_user(rk);
    (void)opaque;
    if (m->err) {
        atomic_fetch_add(&d->failed, 1);
        clog_error(d->o.log, "projection: dead-letter delivery failed: %s", rd_kafka_err2str(m->err));
    }
}

os_kdlq_t *os_kdlq_new(const os_kdlq_opts_t *o, char *err, size_t errlen)
{
    os_kdlq_t *d = calloc(1, sizeof *d);
    rd_kafka_conf_t *pc;
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->o = *o;
    d->opq.log = o->log;
    d->opq.user = d;
    pc = kfk_conf_new(o->kafka, "order-service-dlq", &d->opq, err, errlen);
    if (pc == NULL)
        goto fail;
    if (kfk_conf_set(pc, "linger.ms", "0", err, errlen)) {
        rd_kafka_conf_destroy(pc);
        goto fail;
    }
    rd_kafka_conf_set_dr_msg_cb(pc, os_kdlq_dr);
    d->rk = kfk_producer_new(pc, err, errlen);
    if (d->rk == NULL)
        goto fail;
    return d;
fail:
    free(d);
    return NULL;
}

static int os_kdlq_send(void *self, const os_poison_t *list, size_t n, const atomic_int *stop)
{
    os_kdlq_t *d = self;
    atomic_store(&d->failed, 0);
    for (size_t i = 0; i < n; i++) {
        const os_poison_t *x = &list[i];
        const os_msg_t *m = x->msg;
        char part[16], off[32];
        snprintf(part, sizeof part, "%d", (int)m->partition);
        snprintf(off, sizeof off, "%" PRId64, m->offset);
        rd_kafka_headers_t *h = rd_kafka_headers_new(5);
        rd_kafka_header_add(h, "dlq.reason", -1, x->reason, -1);
        rd_kafka_header_add(h, "dlq.detail", -1, x->detail, -1);
        rd_kafka_header_add(h, "dlq.source.topic", -1, d->o.source_topic, -1);
        rd_kafka_header_add(h, "dlq.source.partition", -1, part, -1);
        rd_kafka_header_add(h, "dlq.source.offset", -1, off, -1);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            d->rk, RD_KAFKA_V_TOPIC(d->o.dlq_topic), RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE((void *)m->value, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e) {
            rd_kafka_headers_destroy(h);
            clog_error(d->o.log, "projection: dead-letter produce failed: %s", rd_kafka_err2str(e));
            return -1;
        }
    }
    /* Wait for the acks (≤ 30 s) in slices so that a stop request is not held up by an
     * unreachable broker: an unacknowledged batch is not committed and is read again. */
    for (int waited = 0; n > 0; waited += 200) {
        if (rd_kafka_flush(d->rk, 200) == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        if (waited >= 30000 || atomic_load(stop)) {
            clog_warn(d->o.log, "projection: dead-letter messages not acknowledged%s; batch not committed",
                      atomic_load(stop) ? " before stop" : " within 30 s");
            return -1;
        }
    }
    return atomic_load(&d->failed) ? -1 : 0;
}

static int os_kdlq_reachable(void *self)
{
    os_kdlq_t *d = self;
    long long now = svc_mono_ms();
    long long last = atomic_load(&d->kafka_checked_ms);
    if (last == 0 || now - last > 2000) {
        atomic_store(&d->kafka_checked_ms, now);
        atomic_store(&d->kafka_ok, kfk_reachable(d->rk, 1000));
    }
    return atomic_load(&d->kafka_ok);
}

os_dlq_port_t os_kdlq_port(os_kdlq_t *d)
{
    os_dlq_port_t p = {d, os_kdlq_send, os_kdlq_reachable};
    return p;
}

void os_kdlq_free(os_kdlq_t *d)
{
    if (d == NULL)
        return;
    if (d->rk != NULL) {
        /* Nothing is waiting here normally (each batch flushes its dead letters); what a
         * stop interrupted is dropped — that batch was not committed and is read again. */
        if (rd_kafka_flush(d->rk, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_purge(d->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(d->rk);
        clog_debug(d->o.log, "projection: dead-letter producer destroyed");
    }
    free(d);
}
