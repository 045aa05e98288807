/* it_customer_flow.c — the write path end to end against the running customer-service,
 * the real PostgreSQL and the real Kafka topic: create, update, delete over HTTP, then
 * read the records off the topic, decode them and check every field, the version
 * sequence per key, the tombstone, and that nothing arrived twice.
 * Env: CQ_CUSTOMER_URL, CQ_KAFKA_BOOTSTRAP, CQ_CUSTOMER_TOPIC (default "customer"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include <cmocka.h>

#include "cs_it.h"
#include "ts.h"

typedef struct want {
    char a[37], b[37];
} want_t;

static int have_all(const cs_recs_t *r, void *ud)
{
    want_t *w = ud;
    const cs_rec_t *x[16];
    return cs_recs_for_key(r, w->a, x, 16) >= 2 && cs_recs_for_key(r, w->b, x, 16) >= 3;
}

static void t_flow(void **state)
{
    const char *base = ts_env("CQ_CUSTOMER_URL", "http://127.0.0.1:8184");
    const char *bs = ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
    const char *topic = ts_env("CQ_CUSTOMER_TOPIC", "customer");
    int64_t hi[CS_IT_MAX_PARTITIONS];
    want_t w;
    char ua[64], ub[64];
    uuid_t u;
    cs_recs_t recs = {0};
    const cs_rec_t *x[16];
    long long t0 = ts_now_ms();
    long long wall0 = (long long)time(NULL) * 1000;

    /* The topic exists once the service's relay ran; wait for it. */
    int np = -1;
    for (int i = 0; i < 50 && np < 1; i++) {
        np = cs_it_watermarks(bs, topic, hi);
        if (np < 1)
            ts_sleep_ms(200);
    }
    assert_true(np >= 1);

    snprintf(ua, sizeof ua, "it-a-%lld", t0);
    snprintf(ub, sizeof ub, "it-b-%lld", t0);
    uuid_generate_random(u);
    uuid_unparse_lower(u, w.b);
    assert_int_equal(cs_it_create(base, NULL, ua, "Ann", "Lee", w.a), 201);
    assert_int_equal(strlen(w.a), 36);
    assert_int_equal(cs_it_create(base, w.b, ub, "Zoë", "O'Brien \"日本\"", NULL), 201);
    assert_int_equal(cs_it_update(base, w.b, ub, "Zoë2", "X"), 200);
    assert_int_equal(cs_it_update(base, w.b, ub, "Zoë3", "Y"), 200);
    assert_int_equal(cs_it_delete(base, w.a), 204);

    assert_int_equal(cs_it_consume(bs, topic, hi, np, have_all, &w, 30000, &recs), 0);

    /* A: CREATED v1, then the tombstone; nothing else, nothing twice. */
    assert_int_equal(cs_recs_for_key(&recs, w.a, x, 16), 2);
    assert_false(x[0]->tombstone);
    assert_int_equal(x[0]->decode_rc, EVCODEC_OK);
    assert_string_equal(x[0]->ev.id, w.a);
    assert_string_equal(x[0]->ev.username, ua);
    assert_string_equal(x[0]->ev.first_name, "Ann");
    assert_string_equal(x[0]->ev.last_name, "Lee");
    assert_int_equal(x[0]->ev.version, 1);
    assert_int_equal(x[0]->ev.event_type, EVCODEC_CREATED);
    assert_true(x[0]->ev.occurred_at_ms >= wall0 - 5000 &&
                x[0]->ev.occurred_at_ms <= (long long)time(NULL) * 1000 + 5000);
    assert_int_equal(x[0]->ev.schema_id, 2);
    assert_true(x[0]->outbox_id > 0);
    assert_true(x[1]->tombstone);
    assert_true(x[1]->outbox_id > x[0]->outbox_id);
    assert_int_equal(x[0]->partition, x[1]->partition);

    /* B: v1 CREATED, v2 UPDATED, v3 UPDATED, in that order, every field. */
    assert_int_equal(cs_recs_for_key(&recs, w.b, x, 16), 3);
    const char *firsts[3] = {"Zoë", "Zoë2", "Zoë3"};
    const char *lasts[3] = {"O'Brien \"日本\"", "X", "Y"};
    for (int i = 0; i < 3; i++) {
        assert_false(x[i]->tombstone);
        assert_int_equal(x[i]->decode_rc, EVCODEC_OK);
        assert_string_equal(x[i]->ev.id, w.b);
        assert_string_equal(x[i]->ev.username, ub);
        assert_string_equal(x[i]->ev.first_name, firsts[i]);
        assert_string_equal(x[i]->ev.last_name, lasts[i]);
        assert_int_equal(x[i]->ev.version, i + 1);
        assert_int_equal(x[i]->ev.event_type, i == 0 ? EVCODEC_CREATED : EVCODEC_UPDATED);
        if (i > 0) {
            assert_true(x[i]->offset > x[i - 1]->offset);
            assert_true(x[i]->ev.occurred_at_ms >= x[i - 1]->ev.occurred_at_ms);
        }
    }
    printf("# flow: %zu records read, all decoded, versions in order, tombstone seen, %lld ms\n", recs.n,
           ts_now_ms() - t0);
    cs_recs_free(&recs);
}

/* ---- concurrent updates of one customer: versions on the topic have no gap, no
 * duplicate and are in order (outbox ids follow commit order per key) ---- */

#define CONC_THREADS 8
#define CONC_PUTS 15

typedef struct conc {
    const char *base;
    const char *id;
    const char *user;
    int ok, conflicts, other;
    pthread_mutex_t mu;
} conc_t;

static void *conc_worker(void *arg)
{
    conc_t *c = arg;
    for (int i = 0; i < CONC_PUTS; i++) {
        char first[32];
        snprintf(first, sizeof first, "T%d", i);
        long st = cs_it_update(c->base, c->id, c->user, first, "Concurrent");
        pthread_mutex_lock(&c->mu);
        if (st == 200)
            c->ok++;
        else if (st == 409)
            c->conflicts++;
        else
            c->other++;
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

typedef struct want1 {
    char id[37];
    int n;
} want1_t;

static int have_n(const cs_recs_t *r, void *ud)
{
    want1_t *w = ud;
    const cs_rec_t *x[1];
    return (int)cs_recs_for_key(r, w->id, x, 0) >= w->n;
}

static void t_concurrent_updates(void **state)
{
    const char *base = ts_env("CQ_CUSTOMER_URL", "http://127.0.0.1:8184");
    const char *bs = ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
    const char *topic = ts_env("CQ_CUSTOMER_TOPIC", "customer");
    int64_t hi[CS_IT_MAX_PARTITIONS];
    char user[64];
    want1_t w;
    conc_t c = {.base = base, .mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t th[CONC_THREADS];
    cs_recs_t recs = {0};
    const cs_rec_t *x[CONC_THREADS * CONC_PUTS + 1];
    int np = cs_it_watermarks(bs, topic, hi);
    assert_true(np >= 1);
    snprintf(user, sizeof user, "conc-%lld", ts_now_ms());
    assert_int_equal(cs_it_create(base, NULL, user, "C", "C", w.id), 201);
    c.id = w.id;
    c.user = user;
    for (int i = 0; i < CONC_THREADS; i++)
        pthread_create(&th[i], NULL, conc_worker, &c);
    for (int i = 0; i < CONC_THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(c.other, 0);
    assert_true(c.ok > 0);
    w.n = 1 + c.ok;
    assert_int_equal(cs_it_consume(bs, topic, hi, np, have_n, &w, 30000, &recs), 0);
    size_t n = cs_recs_for_key(&recs, w.id, x, CONC_THREADS * CONC_PUTS + 1);
    assert_int_equal(n, (size_t)w.n);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(x[k]->decode_rc, EVCODEC_OK);
        assert_int_equal(x[k]->ev.version, (int64_t)k + 1);
    }
    printf("# concurrent: %d threads x %d PUTs on one customer: %d ok, %d 409 (retries exhausted); "
           "%zu records, versions 1..%zu in order\n",
           CONC_THREADS, CONC_PUTS, c.ok, c.conflicts, n, n);
    cs_recs_free(&recs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_flow), cmocka_unit_test(t_concurrent_updates)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
