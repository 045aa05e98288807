/* fake_workers.c — fakes of the live projector's ports. See fake_workers.h. */
#include "fake_workers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void fw_id(char *out, int n)
{
    snprintf(out, 40, "00000000-0000-4000-8000-%012d", n);
}

/* ---- the topic ---- */

void fw_topic_init(fw_topic_t *t, int nparts)
{
    memset(t, 0, sizeof *t);
    fw_topic_assign_all(t, nparts);
}

void fw_topic_assign_all(fw_topic_t *t, int nparts)
{
    t->rebalance_at = 1;
    t->nreassign = nparts;
    for (int p = 0; p < nparts; p++)
        t->reassign[p] = p;
}

void fw_topic_free(fw_topic_t *t)
{
    for (int p = 0; p < FW_PARTS; p++)
        for (int i = 0; i < t->len[p]; i++)
            free(t->log[p][i].val);
}

static fw_rec_t *fw_append(fw_topic_t *t, int part, int n)
{
    assert_true(part >= 0 && part < FW_PARTS && t->len[part] < FW_RECS);
    fw_rec_t *r = &t->log[part][t->len[part]++];
    fw_id(r->key, n);
    return r;
}

void fw_send(fw_topic_t *t, const evcodec_t *codec, int part, int n, int64_t version, const char *name)
{
    fw_rec_t *r = fw_append(t, part, n);
    if (name == NULL)
        return; /* tombstone */
    evcodec_customer_t ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.id, r->key, sizeof ev.id - 1); /* 36 characters */
    ev.username = (char *)name;
    ev.first_name = "F";
    ev.last_name = "L";
    ev.version = version;
    ev.event_type = version == 1 ? EVCODEC_CREATED : EVCODEC_UPDATED;
    ev.occurred_at_ms = 1700000000000LL + version;
    assert_int_equal(evcodec_encode_customer(codec, &ev, &r->val, &r->len), EVCODEC_OK);
}

void fw_send_raw(fw_topic_t *t, int part, int n, const void *val, size_t len)
{
    fw_rec_t *r = fw_append(t, part, n);
    r->val = malloc(len);
    assert_non_null(r->val);
    memcpy(r->val, val, len);
    r->len = len;
}

static void fw_rebalance(fw_topic_t *t, const os_rebalance_t *rb)
{
    int64_t from[FW_PARTS];
    if (t->nheld > 0)
        rb->revoked(rb->self, (size_t)t->nheld);
    t->nheld = t->nreassign;
    memcpy(t->held, t->reassign, sizeof t->held);
    rb->assigned(rb->self, t->held, from, (size_t)t->nheld);
    for (int i = 0; i < t->nheld; i++)
        t->pos[t->held[i]] = from[i] < 0 ? 0 : from[i];
}

static int fw_poll(void *self, int timeout_ms, const os_rebalance_t *rb, os_msg_t *out)
{
    fw_topic_t *t = self;
    (void)timeout_ms;
    if (++t->polls == t->rebalance_at) {
        fw_rebalance(t, rb);
        t->rebalance_at = t->rebalance_again;
    }
    for (int k = 0; k < t->nheld && !t->paused; k++) {
        int p = t->held[(t->next + k) % t->nheld];
        if (t->pos[p] >= t->len[p])
            continue;
        const fw_rec_t *r = &t->log[p][t->pos[p]];
        memset(out, 0, sizeof *out);
        out->partition = p;
        out->offset = t->pos[p]++;
        out->key = r->key;
        out->key_len = strlen(r->key);
        out->value = r->val;
        out->len = r->len;
        t->next = (t->next + k + 1) % t->nheld;
        return 1;
    }
    return 0;
}

static void fw_release(void *self, os_msg_t *m)
{
    (void)self;
    m->key = NULL;
}

static int fw_assignment(void *self, int32_t *out, int cap)
{
    fw_topic_t *t = self;
    int n = t->nheld < cap ? t->nheld : cap;
    memcpy(out, t->held, (size_t)n * sizeof *out);
    return n;
}

static int fw_seek(void *self, const os_offset_t *offs, size_t n, char *err, size_t errlen)
{
    fw_topic_t *t = self;
    (void)err;
    (void)errlen;
    t->seeks++;
    for (size_t i = 0; i < n; i++)
        t->pos[offs[i].partition] = offs[i].next_offset < 0 ? 0 : offs[i].next_offset;
    return 0;
}

static void fw_kcommit(void *self, const os_offset_t *offs, size_t n)
{
    fw_topic_t *t = self;
    for (size_t i = 0; i < n; i++)
        t->kcommitted[offs[i].partition] = offs[i];
}

static int fw_hwm(void *self, int32_t partition, int64_t *hi)
{
    fw_topic_t *t = self;
    *hi = t->len[partition];
    return 0;
}

static int fw_close(void *self, int ms, const os_rebalance_t *rb)
{
    (void)self;
    (void)ms;
    (void)rb;
    return 1;
}

static int fw_pause(void *self, int on)
{
    ((fw_topic_t *)self)->paused = on;
    return 0;
}

os_consumer_port_t fw_consumer(fw_topic_t *t)
{
    os_consumer_port_t p = {t,          fw_poll, fw_release, fw_assignment, fw_seek,
                            fw_kcommit, fw_hwm,  fw_close,   fw_pause};
    return p;
}

/* ---- the database ---- */

void fw_db_init(fw_db_t *d)
{
    memset(d, 0, sizeof *d);
    for (int p = 0; p < FW_PARTS; p++)
        d->committed.offsets[p] = -1;
}

static fw_row_t *fw_find(fw_state_t *s, const char *id)
{
    for (int i = 0; i < FW_ROWS; i++)
        if (s->rows[i].used && strcmp(s->rows[i].id, id) == 0)
            return &s->rows[i];
    return NULL;
}

static int fw_fail(char *err, size_t errlen, const char *why)
{
    if (err != NULL)
        snprintf(err, errlen, "%s", why);
    return -1;
}

static int fw_begin(void *self, char *err, size_t errlen)
{
    fw_db_t *d = self;
    assert_false(d->in_tx);
    if (d->down)
        return fw_fail(err, errlen, "no connection to the server");
    d->tx = d->committed;
    d->in_tx = 1;
    return 0;
}

static int fw_load(void *self, const char *const *ids, size_t n, proj_stored_t *out, char *err, size_t errlen)
{
    fw_db_t *d = self;
    assert_true(d->in_tx);
    if (d->down)
        return fw_fail(err, errlen, "no connection to the server");
    for (size_t i = 0; i < n; i++) {
        fw_row_t *r = fw_find(&d->tx, ids[i]);
        out[i].found = r != NULL;
        out[i].version = r ? r->version : 0;
    }
    return 0;
}

static int fw_apply(void *self, const proj_op_t *ops, size_t n, char *err, size_t errlen)
{
    fw_db_t *d = self;
    assert_true(d->in_tx);
    for (size_t i = 0; i < n; i++) {
        const proj_event_t *ev = ops[i].ev;
        fw_row_t *r = fw_find(&d->tx, ev->customer_id);
        if (ops[i].kind == PROJ_OP_DELETE) {
            if (r != NULL)
                r->used = 0;
            continue;
        }
        if (d->refuse[0] != '\0' && strcmp(ev->username, d->refuse) == 0)
            return fw_fail(err, errlen, "new row violates check constraint \"no_evil\"");
        for (int k = 0; k < FW_ROWS && r == NULL; k++)
            if (!d->tx.rows[k].used) {
                r = &d->tx.rows[k];
                r->used = 1;
                snprintf(r->id, sizeof r->id, "%s", ev->customer_id);
            }
        assert_non_null(r);
        snprintf(r->username, sizeof r->username, "%s", ev->username);
        r->version = ev->version;
    }
    return 0;
}

static int fw_save_offsets(void *self, const char *topic, const os_offset_t *offs, size_t n, char *err,
                           size_t errlen)
{
    fw_db_t *d = self;
    (void)topic;
    for (size_t i = 0; i < n; i++) {
        if (d->tx.offsets[offs[i].partition] >= 0 && d->tx.epochs[offs[i].partition] != offs[i].epoch) {
            d->epoch_fail++;
            return fw_fail(err, errlen, "the stored position of the projection was moved by an operator");
        }
        d->tx.offsets[offs[i].partition] = offs[i].next_offset;
        d->tx.epochs[offs[i].partition] = offs[i].epoch;
    }
    return 0;
}

static int fw_commit(void *self, char *err, size_t errlen)
{
    fw_db_t *d = self;
    assert_true(d->in_tx);
    d->in_tx = 0;
    if (d->down || d->fail_commits > 0) {
        if (d->fail_commits > 0)
            d->fail_commits--;
        d->failed++;
        return fw_fail(err, errlen, "server closed the connection unexpectedly");
    }
    d->committed = d->tx;
    d->commits++;
    return 0;
}

static void fw_rollback(void *self)
{
    fw_db_t *d = self;
    d->in_tx = 0;
}

static int fw_session(void *self, char *err, size_t errlen)
{
    fw_db_t *d = self;
    if (d->down)
        return fw_fail(err, errlen, "no connection to the server");
    if (d->new_session) {
        d->new_session = 0;
        return 1;
    }
    return 0;
}

static int fw_ping(void *self)
{
    return !((fw_db_t *)self)->down;
}

static int fw_load_offsets(void *self, const char *topic, os_offset_t *out, size_t cap, size_t *n, char *err,
                           size_t errlen)
{
    fw_db_t *d = self;
    (void)topic;
    *n = 0;
    if (d->down)
        return fw_fail(err, errlen, "no connection to the server");
    d->loads++;
    for (int p = 0; p < FW_PARTS && *n < cap; p++)
        if (d->committed.offsets[p] >= 0)
            out[(*n)++] = (os_offset_t){p, d->committed.offsets[p], d->committed.epochs[p]};
    return 0;
}

static int fw_move(void *self, const char *topic, os_move_t *mv, size_t n, const char *request, char *err,
                   size_t errlen)
{
    fw_db_t *d = self;
    (void)topic;
    (void)request;
    assert_false(d->in_tx);
    if (d->down)
        return fw_fail(err, errlen, "no connection to the server");
    for (size_t i = 0; i < n; i++) {
        int p = mv[i].partition;
        mv[i].from = d->committed.offsets[p];
        d->committed.offsets[p] = mv[i].to;
        mv[i].epoch = ++d->committed.epochs[p];
    }
    d->moves++;
    return 0;
}

os_projdb_port_t fw_db_port(fw_db_t *d)
{
    os_projdb_port_t p = {d,
                          {d, fw_begin, fw_load, fw_apply, fw_save_offsets, fw_commit, fw_rollback},
                          fw_session,
                          fw_ping,
                          fw_load_offsets,
                          fw_move};
    return p;
}

int64_t fw_version(const fw_db_t *d, int n, const char **name)
{
    char id[40];
    fw_id(id, n);
    fw_row_t *r = fw_find((fw_state_t *)&d->committed, id);
    if (name != NULL)
        *name = r ? r->username : NULL;
    return r ? r->version : -1;
}

int fw_rows(const fw_db_t *d)
{
    int n = 0;
    for (int i = 0; i < FW_ROWS; i++)
        n += d->committed.rows[i].used;
    return n;
}

/* ---- the dead-letter sink and the clock ---- */

static int fw_dlq_send(void *self, const os_poison_t *list, size_t n, const atomic_int *stop)
{
    fw_dlq_t *q = self;
    (void)stop;
    for (size_t i = 0; i < n; i++) {
        assert_true(q->n < FW_DLQ);
        snprintf(q->reason[q->n], sizeof q->reason[q->n], "%s", list[i].reason);
        q->partition[q->n] = list[i].msg->partition;
        q->offset[q->n] = list[i].msg->offset;
        q->n++;
    }
    return 0;
}

static int fw_dlq_reachable(void *self)
{
    (void)self;
    return 1;
}

os_dlq_port_t fw_dlq_port(fw_dlq_t *q)
{
    os_dlq_port_t p = {q, fw_dlq_send, fw_dlq_reachable};
    return p;
}

static int64_t fw_wall(void *self)
{
    return 1700000000000LL + ((fw_clock_t *)self)->now;
}

static int64_t fw_mono(void *self)
{
    return ((fw_clock_t *)self)->now;
}

os_clock_port_t fw_clock_port(fw_clock_t *c)
{
    os_clock_port_t p = {c, fw_wall, fw_mono};
    return p;
}

/* ---- a live projector on these fakes ---- */

int fw_world_setup(fw_world_t *w, const char *name, int check_ms)
{
    char err[256];
    memset(w, 0, sizeof *w);
    w->codec = evcodec_new_default(err, sizeof err);
    w->metrics = metrics_new();
    w->check_ms = check_ms;
    clog_init(&w->log, name, "error", stderr);
    fw_db_init(&w->db);
    fw_topic_init(&w->topic, 1);
    return w->codec != NULL && w->metrics != NULL ? 0 : -1;
}

int fw_world_teardown(void **state)
{
    fw_world_t *w = *state;
    os_projector_free(w->p);
    fw_topic_free(&w->topic);
    evcodec_free(w->codec);
    metrics_free(w->metrics);
    return 0;
}

void fw_world_start(fw_world_t *w, int nparts, int batch_max)
{
    char err[256];
    fw_topic_assign_all(&w->topic, nparts);
    const os_projector_tuning_t t = {batch_max, 1, 3, 1, w->check_ms};
    const os_projector_ports_t ports = {.topic = "customer",
                                        .db = fw_db_port(&w->db),
                                        .consumer = fw_consumer(&w->topic),
                                        .dlq = fw_dlq_port(&w->dlq),
                                        .clock = fw_clock_port(&w->clock),
                                        .codec = w->codec,
                                        .metrics = w->metrics,
                                        .log = &w->log};
    w->p = os_projector_new(&t, &ports, err, sizeof err);
    assert_non_null(w->p);
}

void fw_world_steps(fw_world_t *w, int n)
{
    for (int i = 0; i < n; i++)
        os_projector_step(w->p);
}
