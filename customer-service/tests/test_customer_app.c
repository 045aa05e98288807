/* test_customer_app.c — unit tests of the command handlers with fake ports (an in-memory
 * repository that records outbox rows, a fake encoder, clock and id generator). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "application/customer_app.h"

#define MAXC 16

typedef struct fake_outbox {
    char id[CUSTOMER_ID_LEN + 1];
    int64_t version;
    customer_event_type_t type;
    int tombstone;
    char payload[64];
} fake_outbox_t;

typedef struct fake_repo {
    customer_t rows[MAXC];
    int used[MAXC];
    fake_outbox_t outbox[64];
    int nout;
    repo_rc_t force;     /* when not REPO_OK, every write returns it */
    int bump_before_update; /* simulate a concurrent writer: n times */
} fake_repo_t;

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
    if (p)
        snprintf(o->payload, sizeof o->payload, "%.*s", (int)len, (const char *)p);
}

static repo_rc_t f_insert(void *self, const customer_t *c, const customer_event_t *ev,
                          const unsigned char *p, size_t len)
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

static int idn;
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

typedef struct fx {
    fake_repo_t repo;
    int64_t clock;
    customer_app_t app;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    idn = 0;
    f->app.repo = (customer_repo_t){&fake_repo_ops, &f->repo};
    f->app.encoder = (customer_encoder_t){&fake_enc_ops, NULL};
    f->app.idgen = (customer_idgen_t){&fake_id_ops, &idn};
    f->app.clock = (customer_clock_t){&fake_clock_ops, &f->clock};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static const char *const ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

static void t_create(void **state)
{
    fx_t *f = *state;
    customer_result_t res;
    customer_cmd_t cmd = {NULL, "u1", "F", "L", -1};
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_OK);
    assert_string_equal(res.customer.id, "00000000-0000-4000-8000-000000000001");
    assert_int_equal(res.customer.version, 1);
    assert_int_equal(f->repo.nout, 1);
    assert_string_equal(f->repo.outbox[0].payload, "CREATED:u1:1");
    cmd.id = ID;
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_CONFLICT); /* username */
    assert_non_null(strstr(res.detail, "username"));
    cmd.username = "u2";
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_OK);
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_CONFLICT); /* id */
    assert_non_null(strstr(res.detail, ID));
    assert_int_equal(f->repo.nout, 2);
}

static void t_create_invalid(void **state)
{
    fx_t *f = *state;
    customer_result_t res;
    customer_cmd_t cmd = {"12345", "u1", "F", "L", -1};
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_INVALID);
    assert_string_equal(res.violation.field, "customerId");
    cmd.id = "3fa85f64-5717-4562-b3fc-2c963f66afa6-and-much-more";
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_INVALID);
    cmd.id = ID;
    cmd.last_name = NULL;
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_INVALID);
    assert_string_equal(res.violation.field, "lastName");
    assert_int_equal(f->repo.nout, 0);
    f->repo.force = REPO_UNAVAILABLE;
    cmd.last_name = "L";
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_UNAVAILABLE);
}

static void t_update_delete(void **state)
{
    fx_t *f = *state;
    customer_result_t res;
    customer_cmd_t cmd = {ID, "u1", "F", "L", -1};
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_OK);
    cmd.first_name = "F2";
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_OK);
    assert_int_equal(res.customer.version, 2);
    cmd.if_match = 1;
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_PRECONDITION);
    cmd.if_match = 2;
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_OK);
    assert_int_equal(res.customer.version, 3);
    /* a concurrent writer without If-Match: retried, succeeds with the next version */
    cmd.if_match = -1;
    f->repo.bump_before_update = 1;
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_OK);
    assert_int_equal(res.customer.version, 5);
    /* with If-Match it is a 412 */
    f->repo.bump_before_update = 1;
    cmd.if_match = 5;
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_PRECONDITION);
    cmd.if_match = -1;
    cmd.username = "";
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_INVALID);
    assert_string_equal(res.violation.field, "username");
    assert_int_equal(customer_app_get(&f->app, ID, &res), APP_OK);
    assert_int_equal(res.customer.version, 6);
    cmd.if_match = 1;
    assert_int_equal(customer_app_delete(&f->app, &cmd, &res), APP_PRECONDITION);
    cmd.if_match = -1;
    assert_int_equal(customer_app_delete(&f->app, &cmd, &res), APP_OK);
    fake_outbox_t *last = &f->repo.outbox[f->repo.nout - 1];
    assert_true(last->tombstone);
    assert_int_equal(last->version, 7);
    assert_int_equal(last->type, CUSTOMER_EV_DELETED);
    assert_int_equal(customer_app_get(&f->app, ID, &res), APP_NOT_FOUND);
    assert_int_equal(customer_app_delete(&f->app, &cmd, &res), APP_NOT_FOUND);
    cmd.username = "x";
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_NOT_FOUND);
    assert_int_equal(customer_app_get(&f->app, "nope", &res), APP_INVALID);
    /* the outbox holds one row per successful command, in order (4 and 6 were the
     * simulated concurrent writers' versions, written outside this fake's outbox) */
    const int64_t want[] = {1, 2, 3, 5, 7};
    assert_int_equal(f->repo.nout, 5);
    for (int i = 0; i < f->repo.nout; i++)
        assert_int_equal(f->repo.outbox[i].version, want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_create, setup, teardown),
        cmocka_unit_test_setup_teardown(t_create_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(t_update_delete, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
