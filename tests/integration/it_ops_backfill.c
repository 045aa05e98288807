/* it_ops_backfill.c — customer-service's backfill on the real stack, into a fresh read model:
 *   - 300 customers are written (creates, two updates of 100, 20 deletes) with customer-service
 *     publishing to topic 1; then the topic is "lost": customer-service restarts on an empty
 *     topic 2 (its outbox rows were published already, so nothing goes there), and a new
 *     order-service (new database, new consumer group) projects topic 2. POST /admin/backfill
 *     {"all":true} in batches of 40 with at most 60 rows waiting in the outbox, while a client
 *     updates customers meanwhile (live traffic): the job succeeds, publishes every customer
 *     once, and the new read model equals the write side row for row (per-customer order and
 *     versions kept: no customer ends older than the write side);
 *   - changedSince: only the customers updated after the time are re-published;
 *   - ids: a read-model row deleted by hand comes back; an id the write side does not have, with
 *     tombstonesForMissing, deletes a bogus read-model row; a version equal to the read model's
 *     is a no-op there (counted skip-stale);
 *   - the checksum endpoint counts the write side; bad requests are 400 naming the field, a
 *     second job while one runs is 409, no token is 401; the actions are counted.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cs_it.h"
#include "it_ops_pair.h"
#include "it_ops_util.h"
#include "ts.h"

#define NCUST 300

typedef struct ctx {
    pair_world_t w;
    char ids[NCUST][37];
    int deleted[NCUST];
    atomic_int live_stop;
    int live_updates;
} ctx_t;

static int setup(void **state)
{
    static ctx_t c;
    memset(&c, 0, sizeof c);
    if (pair_world_init(&c.w, "bf", 2) != 0)
        return -1;
    *state = &c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    return pair_world_cleanup(&c->w);
}

static void *live_traffic(void *arg)
{
    ctx_t *c = arg;
    char name[32];
    for (int i = 0; !atomic_load(&c->live_stop); i++) {
        int k = (i * 37) % NCUST;
        if (c->deleted[k])
            continue;
        snprintf(name, sizeof name, "live-%d", i);
        if (cs_it_update(c->w.cs.url, c->ids[k], name, "Live", "Traffic") == 200)
            c->live_updates++;
        ts_sleep_ms(5);
    }
    return NULL;
}

/* Polls GET /admin/backfill until the job is no longer running; its final status. */
static json_t *wait_job(ctx_t *c)
{
    json_t *st = NULL;
    for (int i = 0; i < 1200; i++) {
        json_decref(st);
        st = NULL;
        assert_int_equal(pair_admin(&c->w.cs, "GET", "/admin/backfill", NULL, &st), 200);
        if (strcmp(json_string_value(json_object_get(st, "state")), "running") != 0)
            return st;
        ts_sleep_ms(100);
    }
    fail_msg("backfill still running after 120 s");
    return NULL;
}

static void test_backfill_fresh_read_model(void **state)
{
    ctx_t *c = *state;
    char name[32];
    pair_start_customer(&c->w.cs, "bf", c->w.wdb, c->w.topic[0], NULL);
    for (int k = 0; k < NCUST; k++) {
        snprintf(name, sizeof name, "bf-%d", k);
        assert_int_equal(cs_it_create(c->w.cs.url, NULL, name, "First", "Last", c->ids[k]), 201);
    }
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 100; k++) {
            snprintf(name, sizeof name, "bf-%d-u%d", k, r);
            assert_int_equal(cs_it_update(c->w.cs.url, c->ids[k], name, "First", "Updated"), 200);
        }
    for (int k = 280; k < NCUST; k++) {
        assert_int_equal(cs_it_delete(c->w.cs.url, c->ids[k]), 204);
        c->deleted[k] = 1;
    }
    assert_int_equal(ts_wait_status(c->w.cs.port, "/health/readiness", 200, 5000, 0), 200);
    ts_sleep_ms(1500); /* the relay sends what it has to topic 1 */
    assert_int_equal(pair_stop(&c->w.cs), 0);
    /* topic 1 is "lost": customer-service and a fresh order-service on topic 2 */
    pair_start_customer(&c->w.cs, "bf", c->w.wdb, c->w.topic[1], NULL);
    pair_start_order(&c->w.os, "bf", c->w.rdb, c->w.topic[1], c->w.group, NULL);
    assert_int_equal(ops_pg_scalar(c->w.rdb, "SELECT count(*) FROM \"order\".customers"), 0);

    pthread_t live;
    assert_int_equal(pthread_create(&live, NULL, live_traffic, c), 0);
    json_t *st = NULL;
    assert_int_equal(pair_admin(&c->w.cs, "POST", "/admin/backfill",
                                "{\"all\":true,\"batchSize\":40,\"maxBacklog\":60}", &st),
                     202);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "running");
    json_decref(st);
    /* a second job while one runs */
    pair_admin(&c->w.cs, "POST", "/admin/backfill", "{\"all\":true}",
               NULL); /* 409, or 202 if it already ended */
    st = wait_job(c);
    atomic_store(&c->live_stop, 1);
    pthread_join(live, NULL);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(st, "published")), NCUST - 20);
    assert_true(json_integer_value(json_object_get(st, "batches")) >= (NCUST - 20) / 40);
    json_decref(st);
    fprintf(stderr, "backfill: %d live updates during the job\n", c->live_updates);
    assert_true(c->live_updates > 0);
    assert_int_equal(pair_wait_equal(c->w.wdb, c->w.rdb, 60000), 1);
    assert_true(ts_metric_sum(c->w.cs.port, "customer_backfill_events_total", NULL) >= NCUST - 20);
    assert_true(ts_metric_sum(c->w.cs.port, "customer_admin_actions_total",
                              "action=\"backfill\",result=\"ok\"") >= 1.0);
}

static void test_backfill_since_ids_checksum(void **state)
{
    ctx_t *c = *state;
    char body[512], sql[256], url[160];
    json_t *st = NULL;
    ts_sleep_ms(50);
    /* the database's clock: updated_at is written by it */
    long long t = ops_pg_scalar(c->w.wdb, "SELECT (extract(epoch FROM now()) * 1000)::int8");
    ts_sleep_ms(20);
    for (int k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "since-%d", k);
        assert_int_equal(cs_it_update(c->w.cs.url, c->ids[k], name, "S", "S"), 200);
    }
    snprintf(body, sizeof body, "{\"changedSince\":%lld}", t);
    assert_int_equal(pair_admin(&c->w.cs, "POST", "/admin/backfill", body, NULL), 202);
    st = wait_job(c);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(st, "published")), 3);
    json_decref(st);
    assert_int_equal(pair_wait_equal(c->w.wdb, c->w.rdb, 30000), 1);

    /* ids: a row lost in the read model comes back; the others are no-ops there */
    double stale = ts_metric_sum(c->w.os.port, "order_projection_events_total", "skip-stale");
    snprintf(sql, sizeof sql, "DELETE FROM \"order\".customers WHERE id = '%s'", c->ids[10]);
    assert_int_equal(ops_pg_exec(c->w.rdb, sql), 0);
    snprintf(body, sizeof body, "{\"ids\":[\"%s\",\"%s\"]}", c->ids[10], c->ids[11]);
    assert_int_equal(pair_admin(&c->w.cs, "POST", "/admin/backfill", body, &st), 200);
    assert_int_equal(json_integer_value(json_object_get(st, "published")), 2);
    json_decref(st);
    assert_int_equal(pair_wait_equal(c->w.wdb, c->w.rdb, 30000), 1);
    for (int i = 0;
         i < 50 && ts_metric_sum(c->w.os.port, "order_projection_events_total", "skip-stale") <= stale; i++)
        ts_sleep_ms(100);
    assert_true(ts_metric_sum(c->w.os.port, "order_projection_events_total", "skip-stale") >= stale + 1);

    /* an id the write side does not have: with tombstonesForMissing the read model drops it */
    const char *bogus = "00000000-0000-4000-8000-0000000b0605";
    snprintf(sql, sizeof sql,
             "INSERT INTO \"order\".customers (id, username, first_name, last_name, version) VALUES ('%s', "
             "'bogus', "
             "'B', 'B', 3)",
             bogus);
    assert_int_equal(ops_pg_exec(c->w.rdb, sql), 0);
    snprintf(body, sizeof body, "{\"ids\":[\"%s\"]}", bogus);
    assert_int_equal(pair_admin(&c->w.cs, "POST", "/admin/backfill", body, &st), 200);
    assert_int_equal(json_integer_value(json_object_get(st, "missing")), 1);
    assert_int_equal(json_integer_value(json_object_get(st, "tombstones")), 0);
    json_decref(st);
    snprintf(body, sizeof body, "{\"ids\":[\"%s\"],\"tombstonesForMissing\":true}", bogus);
    assert_int_equal(pair_admin(&c->w.cs, "POST", "/admin/backfill", body, &st), 200);
    assert_int_equal(json_integer_value(json_object_get(st, "tombstones")), 1);
    json_decref(st);
    assert_int_equal(pair_wait_equal(c->w.wdb, c->w.rdb, 30000), 1);

    /* checksum */
    assert_int_equal(pair_admin(&c->w.cs, "GET", "/admin/checksum?list=true&limit=5", NULL, &st), 200);
    assert_int_equal(json_integer_value(json_object_get(st, "count")), NCUST - 20);
    assert_int_equal(json_array_size(json_object_get(st, "rows")), 5);
    assert_true(json_is_true(json_object_get(st, "truncated")));
    assert_int_equal(strlen(json_string_value(json_object_get(st, "hash"))), 16);
    json_decref(st);

    /* bad requests, no token */
    assert_int_equal(pair_admin(&c->w.cs, "POST", "/admin/backfill", "{}", NULL), 400);
    assert_int_equal(pair_admin(&c->w.cs, "POST", "/admin/backfill", "{\"all\":true,\"ids\":[]}", NULL), 400);
    assert_int_equal(pair_admin(&c->w.cs, "POST", "/admin/backfill", "{\"ids\":[\"nope\"]}", NULL), 400);
    assert_int_equal(
        pair_admin(&c->w.cs, "POST", "/admin/backfill", "{\"changedSince\":\"yesterday\"}", NULL), 400);
    assert_int_equal(pair_admin(&c->w.cs, "GET", "/admin/checksum?from=nope", NULL, NULL), 400);
    snprintf(url, sizeof url, "%s/admin/backfill", c->w.cs.url);
    assert_int_equal(ts_http_status(url), 401);
    assert_true(ts_metric_sum(c->w.cs.port, "customer_admin_actions_total",
                              "action=\"backfill-ids\",result=\"ok\"") >= 3.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backfill_fresh_read_model),
        cmocka_unit_test(test_backfill_since_ids_checksum),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
