/* test_handlers.c — unit tests of the application handlers with fake ports (no I/O):
 * create order (validation first, read-your-writes wait bounded by customer-wait-ms, the
 * customer id in the not-found message, ids and PENDING on success, store errors), get
 * order, get customer, get customer at a minimum version (read-your-writes on a read: at
 * once, after waiting, stale, absent, bounded), and the real change counter waking a waiting
 * create. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "application/changes.h"
#include "application/handlers.h"

#define CUST "d215b5f8-0249-4dc5-89a3-51fd148cfb41"
#define REST "d215b5f8-0249-4dc5-89a3-51fd148cfb45"
#define PROD "d215b5f8-0249-4dc5-89a3-51fd148cfb48"

typedef struct fake {
    pthread_mutex_t mu;
    int customer_present; /* read model has CUST */
    int appear_after;     /* CUST appears at this lookup number (0 = never) */
    int lookups;
    int store_error; /* readmodel fails */
    int save_error;
    int saved;
    order_t last_saved;
    int64_t now; /* fake monotonic clock */
    int waits;
    int uuid_n;
    int64_t version; /* CUST's version in the read model (0 → 3) */
    int newer_after; /* from this lookup on, CUST has version + 1 (0 = never) */
} fake_t;

static int fk_get_customer(void *self, const char *id, os_customer_t *out, char *err, size_t errlen)
{
    fake_t *f = self;
    int rc;
    pthread_mutex_lock(&f->mu);
    f->lookups++;
    if (f->appear_after && f->lookups >= f->appear_after)
        f->customer_present = 1;
    if (f->store_error) {
        snprintf(err, errlen, "connection lost");
        rc = -1;
    } else if (f->customer_present && strcmp(id, CUST) == 0) {
        strcpy(out->id, CUST);
        out->username = strdup("user_1");
        out->first_name = strdup("First");
        out->last_name = strdup("User");
        out->version = (f->version ? f->version : 3) + (f->newer_after && f->lookups >= f->newer_after);
        rc = 1;
    } else {
        rc = 0;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int fk_save(void *self, const order_t *o, char *err, size_t errlen)
{
    fake_t *f = self;
    if (f->save_error) {
        snprintf(err, errlen, "disk full");
        return -1;
    }
    f->saved++;
    f->last_saved = *o;
    return 0;
}

static int fk_find(void *self, const char *tracking_id, os_order_view_t *out, char *err, size_t errlen)
{
    fake_t *f = self;
    (void)err;
    (void)errlen;
    if (f->store_error)
        return -1;
    if (f->saved && strcmp(tracking_id, f->last_saved.tracking_id) == 0) {
        strcpy(out->tracking_id, tracking_id);
        out->status = f->last_saved.status;
        out->failure_messages = strdup("");
        return 1;
    }
    return 0;
}

static int64_t fk_wall(void *self)
{
    (void)self;
    return 1700000000000;
}
static int64_t fk_mono(void *self)
{
    return ((fake_t *)self)->now;
}
static void fk_uuid(void *self, char out[ORDER_UUID_LEN + 1])
{
    fake_t *f = self;
    snprintf(out, ORDER_UUID_LEN + 1, "00000000-0000-4000-8000-%012d", ++f->uuid_n);
}
static uint64_t fk_gen(void *self)
{
    (void)self;
    return 0;
}
static int fk_wait(void *self, uint64_t seen, int64_t timeout_ms)
{
    fake_t *f = self;
    (void)seen;
    f->waits++;
    f->now += timeout_ms; /* time passes while waiting */
    return 0;
}

static os_app_t app_for(fake_t *f)
{
    os_app_t a;
    memset(&a, 0, sizeof a);
    a.readmodel = (os_readmodel_port_t){f, fk_get_customer};
    a.orders = (os_order_repo_port_t){f, fk_save, fk_find};
    a.clock = (os_clock_port_t){f, fk_wall, fk_mono};
    a.ids = (os_idgen_port_t){f, fk_uuid};
    a.changes = (os_changes_port_t){f, fk_gen, fk_wait, NULL};
    a.customer_wait_ms = 2000;
    a.wait_poll_ms = 25;
    return a;
}

static money_t M(const char *s)
{
    money_t m;
    assert_int_equal(money_parse(s, strlen(s), &m), MONEY_OK);
    return m;
}

typedef struct req {
    order_t o;
    order_item_t items[2];
} req_t;

static void sample(req_t *r)
{
    memset(r, 0, sizeof *r);
    strcpy(r->o.customer_id, CUST);
    strcpy(r->o.restaurant_id, REST);
    r->o.price = M("200");
    for (int i = 0; i < 2; i++) {
        strcpy(r->items[i].product_id, PROD);
        r->items[i].price = M("50.00");
    }
    r->items[0].quantity = 1;
    r->items[0].sub_total = M("50");
    r->items[1].quantity = 3;
    r->items[1].sub_total = M("150.00");
    r->o.items = r->items;
    r->o.n_items = 2;
    strcpy(r->o.address.street, "street_1");
    strcpy(r->o.address.postal_code, "1000AB");
    strcpy(r->o.address.city, "Amsterdam");
}

static void fake_init(fake_t *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
}

static void test_create_ok(void **st)
{
    (void)st;
    fake_t f;
    fake_init(&f);
    f.customer_present = 1;
    os_app_t a = app_for(&f);
    req_t r;
    os_result_t res;
    sample(&r);
    assert_int_equal(os_create_order(&a, &r.o, &res), OS_OK);
    assert_string_equal(res.msg, "Order created successfully");
    assert_int_equal(f.saved, 1);
    assert_int_equal(f.last_saved.status, ORDER_PENDING);
    assert_string_equal(f.last_saved.id, "00000000-0000-4000-8000-000000000001");
    assert_string_equal(r.o.tracking_id, "00000000-0000-4000-8000-000000000002");
    assert_int_equal(f.waits, 0);

    os_order_view_t v;
    memset(&v, 0, sizeof v);
    assert_int_equal(os_get_order(&a, r.o.tracking_id, &v, &res), OS_OK);
    assert_int_equal(v.status, ORDER_PENDING);
    os_order_view_clear(&v);
    os_order_view_clear(NULL);
}

static void test_create_invalid_skips_lookup(void **st)
{
    (void)st;
    fake_t f;
    fake_init(&f);
    os_app_t a = app_for(&f);
    req_t r;
    os_result_t res;
    sample(&r);
    r.o.price = M("0");
    assert_int_equal(os_create_order(&a, &r.o, &res), OS_EINVALID);
    assert_string_equal(res.msg, "Total price must be greater than zero!");
    assert_int_equal(f.lookups, 0); /* no waiting for a customer when the order is invalid */
    assert_int_equal(f.saved, 0);
}

static void test_create_unknown_customer_waits_bounded(void **st)
{
    (void)st;
    fake_t f;
    fake_init(&f);
    os_app_t a = app_for(&f);
    req_t r;
    os_result_t res;
    sample(&r);
    assert_int_equal(os_create_order(&a, &r.o, &res), OS_EINVALID);
    assert_string_equal(res.msg, "Could not find customer with customer id: " CUST);
    assert_int_equal(f.now, 2000);        /* waited exactly customer-wait-ms */
    assert_int_equal(f.waits, 2000 / 25); /* re-checking every poll interval */
    assert_int_equal(f.lookups, f.waits + 1);
    assert_int_equal(f.saved, 0);
}

static void test_create_no_wait_configured(void **st)
{
    (void)st;
    fake_t f;
    fake_init(&f);
    os_app_t a = app_for(&f);
    a.customer_wait_ms = 0;
    req_t r;
    os_result_t res;
    sample(&r);
    assert_int_equal(os_create_order(&a, &r.o, &res), OS_EINVALID);
    assert_int_equal(f.lookups, 1);
    assert_int_equal(f.waits, 0);
}

static void test_create_customer_appears(void **st)
{
    (void)st;
    fake_t f;
    fake_init(&f);
    f.appear_after = 4;
    os_app_t a = app_for(&f);
    req_t r;
    os_result_t res;
    sample(&r);
    assert_int_equal(os_create_order(&a, &r.o, &res), OS_OK);
    assert_int_equal(f.lookups, 4);
    assert_int_equal(f.waits, 3);
    assert_int_equal(f.saved, 1);
}

static void test_create_store_errors(void **st)
{
    (void)st;
    fake_t f;
    fake_init(&f);
    f.store_error = 1;
    os_app_t a = app_for(&f);
    req_t r;
    os_result_t res;
    sample(&r);
    assert_int_equal(os_create_order(&a, &r.o, &res), OS_EINTERNAL);
    assert_string_equal(res.msg, "connection lost");
    fake_init(&f);
    f.customer_present = 1;
    f.save_error = 1;
    sample(&r);
    assert_int_equal(os_create_order(&a, &r.o, &res), OS_EINTERNAL);
    assert_string_equal(res.msg, "disk full");
}

static void test_get_customer_and_order(void **st)
{
    (void)st;
    fake_t f;
    fake_init(&f);
    os_app_t a = app_for(&f);
    os_customer_t c;
    os_result_t res;
    memset(&c, 0, sizeof c);
    assert_int_equal(os_get_customer(&a, CUST, &c, &res), OS_ENOTFOUND);
    assert_string_equal(res.msg, "Could not find customer with customer id: " CUST);
    f.customer_present = 1;
    assert_int_equal(os_get_customer(&a, CUST, &c, &res), OS_OK);
    assert_int_equal(c.version, 3);
    assert_string_equal(c.username, "user_1");
    os_customer_clear(&c);
    os_customer_clear(NULL);
    os_order_view_t v;
    memset(&v, 0, sizeof v);
    assert_int_equal(os_get_order(&a, REST, &v, &res), OS_ENOTFOUND);
    assert_string_equal(res.msg, "Could not find order with tracking id: " REST);
    f.store_error = 1;
    assert_int_equal(os_get_order(&a, REST, &v, &res), OS_EINTERNAL);
    assert_int_equal(os_get_customer(&a, CUST, &c, &res), OS_EINTERNAL);
}

/* ---- the real change counter with a real clock and a "projector" thread ---- */

typedef struct bumper {
    fake_t *f;
    os_changes_port_t ch;
} bumper_t;

static void *bump_later(void *arg)
{
    bumper_t *b = arg;
    usleep(100 * 1000);
    pthread_mutex_lock(&b->f->mu);
    b->f->customer_present = 1;
    pthread_mutex_unlock(&b->f->mu);
    b->ch.bump(b->ch.self);
    return NULL;
}

static int64_t real_mono(void *self)
{
    struct timespec ts;
    (void)self;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_changes_wake_waiter(void **st)
{
    (void)st;
    fake_t f;
    fake_init(&f);
    os_changes_t *ch = os_changes_new();
    assert_non_null(ch);
    os_app_t a = app_for(&f);
    a.changes = os_changes_port(ch);
    a.clock.mono_ms = real_mono;
    a.wait_poll_ms = 10000; /* only the bump can wake it in time */
    bumper_t b = {&f, a.changes};
    pthread_t th;
    req_t r;
    os_result_t res;
    sample(&r);
    int64_t t0 = real_mono(NULL);
    assert_int_equal(pthread_create(&th, NULL, bump_later, &b), 0);
    assert_int_equal(os_create_order(&a, &r.o, &res), OS_OK);
    int64_t took = real_mono(NULL) - t0;
    pthread_join(th, NULL);
    assert_true(took >= 90 && took < 1500);
    /* wait times out when nothing changes */
    uint64_t g = a.changes.generation(a.changes.self);
    assert_int_equal(a.changes.wait(a.changes.self, g, 20), 0);
    a.changes.bump(a.changes.self);
    assert_int_equal(a.changes.wait(a.changes.self, g, 20), 1);
    os_changes_free(ch);
    os_changes_free(NULL);
}

/* GET /customers/{id}?minVersion: answered at once when the read model has it, after waits
 * when it arrives, OS_ESTALE with the current version when the (bounded) wait ends. */
static void test_get_customer_min_version(void **state)
{
    (void)state;
    fake_t f = {.mu = PTHREAD_MUTEX_INITIALIZER, .customer_present = 1};
    os_app_t a = app_for(&f);
    os_customer_t c;
    os_result_t res;
    int64_t cur = -1;

    memset(&c, 0, sizeof c); /* has it already: no wait */
    assert_int_equal(os_get_customer_min(&a, CUST, 3, 1000, &c, &cur, &res), OS_OK);
    assert_int_equal(c.version, 3);
    assert_int_equal(f.waits, 0);
    os_customer_clear(&c);

    f.newer_after = f.lookups + 4; /* version 4 arrives on the 4th look */
    assert_int_equal(os_get_customer_min(&a, CUST, 4, 1000, &c, &cur, &res), OS_OK);
    assert_int_equal(c.version, 4);
    assert_int_equal(f.waits, 3);
    os_customer_clear(&c);

    f.newer_after = 0; /* never: stale after the wait asked for (below the cap) */
    f.waits = 0;
    int64_t t0 = f.now;
    assert_int_equal(os_get_customer_min(&a, CUST, 7, 300, &c, &cur, &res), OS_ESTALE);
    assert_int_equal(cur, 3);
    assert_int_equal(f.now - t0, 300);
    assert_non_null(strstr(res.msg, "has version 3"));
    assert_non_null(strstr(res.msg, "version 7 was asked"));
    assert_null(c.username); /* nothing half-filled is handed out */

    t0 = f.now; /* a longer wait than customer-wait-ms is capped by it */
    assert_int_equal(os_get_customer_min(&a, CUST, 7, 60000, &c, &cur, &res), OS_ESTALE);
    assert_int_equal(f.now - t0, 2000);

    t0 = f.now; /* waitMs=0: one look */
    f.waits = 0;
    assert_int_equal(os_get_customer_min(&a, CUST, 7, 0, &c, &cur, &res), OS_ESTALE);
    assert_int_equal(f.waits, 0);
    assert_int_equal(f.now, t0);

    f.customer_present = 0; /* not there at all */
    assert_int_equal(os_get_customer_min(&a, CUST, 1, 100, &c, &cur, &res), OS_ESTALE);
    assert_int_equal(cur, 0);
    assert_non_null(strstr(res.msg, "is not in the read model"));

    f.store_error = 1;
    assert_int_equal(os_get_customer_min(&a, CUST, 1, 100, &c, &cur, &res), OS_EINTERNAL);
    assert_string_equal(res.msg, "connection lost");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_ok),
        cmocka_unit_test(test_create_invalid_skips_lookup),
        cmocka_unit_test(test_create_unknown_customer_waits_bounded),
        cmocka_unit_test(test_create_no_wait_configured),
        cmocka_unit_test(test_create_customer_appears),
        cmocka_unit_test(test_create_store_errors),
        cmocka_unit_test(test_get_customer_and_order),
        cmocka_unit_test(test_get_customer_min_version),
        cmocka_unit_test(test_changes_wake_waiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
