/* fake_ports.c — in-memory fakes of the application ports. See fake_ports.h. */
#include "fake_ports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find_row(fake_repo_t *r, const char *id)
{
    for (int i = 0; i < MAXC; i++)
        if (r->used[i] && strcmp(r->rows[i].id, id) == 0)
            return i;
    return -1;
}

static void add_outbox(fake_repo_t *r, const customer_event_t *ev, const unsigned char *p, size_t len)
{
    fake_outbox_t *o = &r->outbox[r->nout++];
    strcpy(o->id, ev->customer.id);
    o->version = ev->customer.version;
    o->type = ev->type;
    o->tombstone = p == NULL;
    snprintf(o->traceparent, sizeof o->traceparent, "%s", ev->traceparent ? ev->traceparent : "");
    if (p)
        snprintf(o->payload, sizeof o->payload, "%.*s", (int)len, (const char *)p);
}

static repo_rc_t f_insert(void *self, const customer_t *c, const customer_event_t *ev, const unsigned char *p,
                          size_t len)
{
    fake_repo_t *r = self;
    if (r->force != REPO_OK)
        return r->force;
    if (find_row(r, c->id) >= 0)
        return REPO_DUP_ID;
    for (int i = 0; i < MAXC; i++)
        if (r->used[i] && strcmp(r->rows[i].username, c->username) == 0)
            return REPO_DUP_USERNAME;
    for (int i = 0; i < MAXC; i++)
        if (!r->used[i]) {
            r->used[i] = 1;
            r->rows[i] = *c;
            add_outbox(r, ev, p, len);
            return REPO_OK;
        }
    return REPO_ERROR;
}

static repo_rc_t f_update(void *self, const customer_t *c, int64_t expected, const customer_event_t *ev,
                          const unsigned char *p, size_t len)
{
    fake_repo_t *r = self;
    int i = find_row(r, c->id);
    if (r->force != REPO_OK)
        return r->force;
    if (i < 0)
        return REPO_NOT_FOUND;
    for (int k = 0; k < MAXC; k++)
        if (k != i && r->used[k] && strcmp(r->rows[k].username, c->username) == 0)
            return REPO_DUP_USERNAME;
    if (r->bump_before_update > 0) {
        r->bump_before_update--;
        r->rows[i].version++;
    }
    if (r->rows[i].version != expected)
        return REPO_CONFLICT;
    r->rows[i] = *c;
    add_outbox(r, ev, p, len);
    return REPO_OK;
}

static repo_rc_t f_remove(void *self, const char *id, int64_t expected, const customer_event_t *ev)
{
    fake_repo_t *r = self;
    int i = find_row(r, id);
    if (i < 0)
        return REPO_NOT_FOUND;
    if (r->rows[i].version != expected)
        return REPO_CONFLICT;
    r->used[i] = 0;
    add_outbox(r, ev, NULL, 0);
    return REPO_OK;
}

static repo_rc_t f_find(void *self, const char *id, customer_t *out)
{
    fake_repo_t *r = self;
    int i = find_row(r, id);
    if (r->force == REPO_UNAVAILABLE)
        return REPO_UNAVAILABLE;
    if (i < 0)
        return REPO_NOT_FOUND;
    *out = r->rows[i];
    return REPO_OK;
}

static const customer_repo_ops_t fake_repo_ops = {f_insert, f_update, f_remove, f_find};

static int f_encode(void *self, const customer_event_t *ev, unsigned char **out, size_t *len)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%s:%s:%lld", customer_event_type_name(ev->type), ev->customer.username,
                     (long long)ev->customer.version);
    *out = (unsigned char *)strdup(buf);
    *len = (size_t)n;
    return 0;
}
static const customer_encoder_ops_t fake_enc_ops = {f_encode};

static void f_new_id(void *self, char out[CUSTOMER_ID_LEN + 1])
{
    snprintf(out, CUSTOMER_ID_LEN + 1, "00000000-0000-4000-8000-%012d", ++*(int *)self);
}
static const customer_idgen_ops_t fake_id_ops = {f_new_id};

static int64_t f_now(void *self)
{
    return ++*(int64_t *)self;
}
static const customer_clock_ops_t fake_clock_ops = {f_now};

fx_t *fx_new(void)
{
    fx_t *f = calloc(1, sizeof *f);
    f->app.repo = (customer_repo_t){&fake_repo_ops, &f->repo};
    f->app.encoder = (customer_encoder_t){&fake_enc_ops, NULL};
    f->app.idgen = (customer_idgen_t){&fake_id_ops, &f->idn};
    f->app.clock = (customer_clock_t){&fake_clock_ops, &f->clock};
    return f;
}
