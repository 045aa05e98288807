/* rebuild.c — replay the topic into a shadow table, catch up, swap. See rebuild.h. */
#include "messaging/rebuild.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "application/projection_svc.h"
#include "messaging/batch.h"
#include "messaging/kconsumer.h"

#define OS_RB_MAX_PARTS 1024

typedef struct os_rb {
    const os_rebuild_opts_t *o;
    rd_kafka_t *rk;
    os_projstore_port_t shadow; /* the store's batch port into the shadow table */
    int nparts;
    int64_t pos[OS_RB_MAX_PARTS]; /* next offset per partition */
    int64_t target[OS_RB_MAX_PARTS];
    os_batch_t b;
    os_rebuild_stats_t *st;
    int64_t apply_ms; /* time spent in database transactions (for the log) */
} os_rb_t;

static int64_t os_rb_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int os_rb_reached(const os_rb_t *r)
{
    for (int i = 0; i < r->nparts; i++)
        if (r->pos[i] < r->target[i])
            return 0;
    return 1;
}

/* Consumes and applies batches until every partition's position reaches its target. */
static int os_rb_catch_up(os_rb_t *r, char *err, size_t errlen)
{
    int64_t idle_since = os_rb_ms();
    while (!os_rb_reached(r)) {
        if (r->o->cancel && *r->o->cancel) {
            snprintf(err, errlen, "rebuild cancelled");
            return -1;
        }
        int timeout = 200;
        while ((int)r->b.n < r->o->batch_max) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, timeout);
            if (m == NULL)
                break;
            timeout = 0;
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (m->partition >= 0 && m->partition < r->nparts && m->offset > r->pos[m->partition])
                    r->pos[m->partition] = m->offset;
                rd_kafka_message_destroy(m);
                continue;
            }
            if (m->err) {
                snprintf(err, errlen, "consume: %s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                return -1;
            }
            if (m->partition >= 0 && m->partition < r->nparts)
                r->pos[m->partition] = m->offset + 1;
            os_msg_t msg;
            os_kmsg_wrap(m, &msg);
            if (os_batch_add(&r->b, &msg) != 0) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        if (r->b.n == 0) {
            if (os_rb_ms() - idle_since > 60000) {
                snprintf(err, errlen, "no progress for 60 s before reaching the end of the topic");
                return -1;
            }
            continue;
        }
        idle_since = os_rb_ms();
        if (os_batch_decode(&r->b, r->o->codec) == OS_BATCH_RETRY) { /* no poison: the registry is down */
            snprintf(err, errlen, "the schema registry gave no answer, the rebuild stops: %s", r->b.retry);
            os_batch_reset(&r->b);
            return -1;
        }
        r->st->events += r->b.n;
        r->st->poison += r->b.npoison;
        int64_t t0 = os_rb_ms();
        int rc =
            os_projection_apply(&r->shadow, r->o->topic, r->b.events, r->b.nev, NULL, 0, NULL, err, errlen);
        r->apply_ms += os_rb_ms() - t0;
        os_batch_reset(&r->b);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int os_rb_consumer(os_rb_t *r, kfk_opaque_t *opq, char *err, size_t errlen)
{
    char group[256];
    rd_kafka_conf_t *c = kfk_conf_new(r->o->kafka, "order-service-rebuild", opq, err, errlen);
    if (c == NULL)
        return -1;
    snprintf(group, sizeof group, "%s-rebuild-%d-%lld",
             r->o->group_prefix ? r->o->group_prefix : "order-service", (int)getpid(), (long long)os_rb_ms());
    if (kfk_conf_apply_all(c, KFK_CONSUMER, r->o->consumer_kv, r->o->n_consumer_kv, err, errlen) ||
        kfk_conf_set(c, "group.id", group, err, errlen) ||
        kfk_conf_set(c, "enable.auto.commit", "false", err, errlen) ||
        kfk_conf_set(c, "enable.partition.eof", "true", err, errlen) ||
        kfk_conf_set(c, "fetch.max.bytes", "52428800", err, errlen) ||
        kfk_conf_set(c, "queued.max.messages.kbytes", "262144", err, errlen)) {
        rd_kafka_conf_destroy(c);
        return -1;
    }
    r->rk = kfk_consumer_new(c, err, errlen);
    if (r->rk == NULL)
        return -1;
    r->nparts = kfk_partition_count(r->rk, r->o->topic, 10000);
    if (r->nparts <= 0 || r->nparts > OS_RB_MAX_PARTS) {
        snprintf(err, errlen, "topic %s: cannot read its partitions", r->o->topic);
        return -1;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->nparts);
    for (int i = 0; i < r->nparts; i++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(r->rk, r->o->topic, i, &lo, &hi, 10000);
        if (e) {
            rd_kafka_topic_partition_list_destroy(l);
            snprintf(err, errlen, "watermarks of %s[%d]: %s", r->o->topic, i, rd_kafka_err2str(e));
            return -1;
        }
        r->pos[i] = lo;
        r->target[i] = hi;
        rd_kafka_topic_partition_list_add(l, r->o->topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, errlen, "assign: %s", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* Under the lock: raise the targets to the live projector's stored offsets, catch up,
 * swap, commit. */
static int os_rb_swap(os_rb_t *r, char *err, size_t errlen)
{
    const os_rebuild_store_port_t *s = &r->o->store;
    os_offset_t live[OS_RB_MAX_PARTS];
    size_t n = 0;
    if (s->swap_begin(s->self, r->o->topic, live, OS_RB_MAX_PARTS, &n, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (live[i].partition >= 0 && live[i].partition < r->nparts &&
            live[i].next_offset > r->target[live[i].partition])
            r->target[live[i].partition] = live[i].next_offset;
    if (os_rb_catch_up(r, err, errlen) != 0)
        return -1;
    return s->swap_commit(s->self, &r->st->rows, err, errlen);
}

int os_rebuild_run(const os_rebuild_opts_t *o, os_rebuild_stats_t *st, char *err, size_t errlen)
{
    int rc = -1;
    os_rb_t *r = calloc(1, sizeof *r);
    kfk_opaque_t opq = {o->log, NULL};
    const os_rebuild_store_port_t *s = &o->store;
    int64_t t0 = os_rb_ms();
    memset(st, 0, sizeof *st);
    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->st = st;
    os_batch_init(&r->b, os_kmsg_release, NULL);
    os_rebuild_opts_t local = *o;
    if (local.batch_max <= 0)
        local.batch_max = 5000;
    r->o = &local;

    if (s->open(s->self, err, errlen) != 0)
        goto cleanup;
    r->shadow = s->shadow(s->self);
    if (os_rb_consumer(r, &opq, err, errlen) != 0)
        goto drop;
    clog_info(o->log, "rebuild: replaying %s (%d partitions) into the shadow table", o->topic, r->nparts);
    if (os_rb_catch_up(r, err, errlen) != 0)
        goto drop;
    clog_info(o->log, "rebuild: %" PRIu64 " events replayed (%lld ms in the database); swapping", st->events,
              (long long)r->apply_ms);
    if (s->set_logged(s->self, err, errlen) != 0)
        goto drop;
    int64_t ts = os_rb_ms();
    if (os_rb_swap(r, err, errlen) != 0)
        goto drop;
    st->swap_ms = os_rb_ms() - ts;
    st->elapsed_ms = os_rb_ms() - t0;
    clog_info(o->log,
              "rebuild: done, %" PRIu64 " events, %" PRIu64 " rows, %" PRIu64
              " poison skipped, %lld ms (live table locked %lld ms)",
              st->events, st->rows, st->poison, (long long)st->elapsed_ms, (long long)st->swap_ms);
    rc = 0;
    goto cleanup;
drop:
    s->abort(s->self);
cleanup:
    os_batch_free(&r->b);
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    s->close(s->self);
    free(r);
    return rc;
}
