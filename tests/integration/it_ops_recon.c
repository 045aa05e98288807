/* it_ops_recon.c — order-service's live reconciliation on the real stack, against a real
 * customer-service (instances of the test's own: private databases, topic, consumer group):
 *   - 200 customers written and projected: a round finds no drift (GET /admin/reconciliation);
 *   - the read model corrupted by hand — one row's names changed at the same version, one
 *     row deleted, one bogus row inserted: within a few rounds (1 s apart) the check names
 *     exactly those three ids, /health shows the component "reconciliation" DOWN (readiness
 *     stays 200) and order_reconciliation_drift is 3; nothing is repaired with repair off;
 *   - order-service restarted with reconciliation.repair: the repair resets and re-requests
 *     them through customer-service's backfill, and the read model equals the write side
 *     row for row again; a later round is clean;
 *   - POST /admin/reconciliation/run answers 202; without the token 401.
 */
#include <setjmp.h>
#include <stdarg.h>
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

#define NCUST 200
#define BOGUS "ffffffff-ffff-4fff-8fff-fffffffffff0"

typedef struct ctx {
    pair_world_t w;
    char ids[NCUST][37];
} ctx_t;

static int setup(void **state)
{
    static ctx_t c;
    memset(&c, 0, sizeof c);
    if (pair_world_init(&c.w, "rc", 1) != 0)
        return -1;
    *state = &c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    return pair_world_cleanup(&c->w);
}

static void start_order(ctx_t *c, int repair)
{
    char url[128];
    snprintf(url, sizeof url, "RECONCILIATION_CUSTOMER_SERVICE_URL=%s", c->w.cs.url);
    const char *env[] = {url,
                         "RECONCILIATION_CUSTOMER_SERVICE_TOKEN=" OPS_TOKEN,
                         "RECONCILIATION_INTERVAL_MS=1000",
                         "RECONCILIATION_SETTLE_MS=300",
                         repair ? "RECONCILIATION_REPAIR=true" : "RECONCILIATION_REPAIR=false",
                         NULL};
    pair_start_order(&c->w.os, "rc", c->w.rdb, c->w.topic[0], c->w.group, env);
}

/* Polls GET /admin/reconciliation until a round completed after `after` rounds with `drift`
 * ids; that status (the caller frees), or fails the test after timeout_ms. */
static json_t *wait_round(ctx_t *c, long long after, int drift, long timeout_ms)
{
    json_t *st = NULL;
    long long end = ts_now_ms() + timeout_ms;
    do {
        json_decref(st);
        st = NULL;
        assert_int_equal(pair_admin(&c->w.os, "GET", "/admin/reconciliation", NULL, &st), 200);
        if (json_integer_value(json_object_get(st, "rounds")) > after &&
            json_integer_value(json_object_get(st, "drift")) == drift &&
            !json_is_string(json_object_get(st, "error")))
            return st;
        ts_sleep_ms(200);
    } while (ts_now_ms() < end);
    char *txt = json_dumps(st, JSON_COMPACT);
    fail_msg("no round with drift %d within %ld ms: %s", drift, timeout_ms, txt ? txt : "?");
    return NULL;
}

static int named(const json_t *st, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(st, "ids"), i, v) if (strcmp(json_string_value(v), id) == 0) return 1;
    return 0;
}

static void test_reconciliation(void **state)
{
    ctx_t *c = *state;
    char name[32], sql[256], *body = NULL;
    pair_start_customer(&c->w.cs, "rc", c->w.wdb, c->w.topic[0], NULL);
    start_order(c, 0);
    for (int k = 0; k < NCUST; k++) {
        snprintf(name, sizeof name, "rc-%d", k);
        assert_int_equal(cs_it_create(c->w.cs.url, NULL, name, "First", "Last", c->ids[k]), 201);
    }
    for (int k = 0; k < 40; k++) {
        snprintf(name, sizeof name, "rc-%d-upd", k);
        assert_int_equal(cs_it_update(c->w.cs.url, c->ids[k], name, "First", "Updated"), 200);
    }
    assert_int_equal(pair_wait_equal(c->w.wdb, c->w.rdb, 30000), 1);
    /* a round that began before the last rows arrived counts fewer rows: wait for one that
     * began after the read model was complete (the one in progress now may not have) */
    json_t *st = NULL;
    assert_int_equal(pair_admin(&c->w.os, "GET", "/admin/reconciliation", NULL, &st), 200);
    long long begun = json_integer_value(json_object_get(st, "rounds")) + 1;
    json_decref(st);
    st = wait_round(c, begun, 0, 20000);
    long long rounds = json_integer_value(json_object_get(st, "rounds"));
    assert_int_equal(json_integer_value(json_object_get(st, "rows")), NCUST);
    json_decref(st);

    /* corrupt the read model by hand */
    snprintf(sql, sizeof sql, "UPDATE \"order\".customers SET first_name = 'Corrupted' WHERE id = '%s'",
             c->ids[7]);
    assert_int_equal(ops_pg_exec(c->w.rdb, sql), 0);
    snprintf(sql, sizeof sql, "DELETE FROM \"order\".customers WHERE id = '%s'", c->ids[120]);
    assert_int_equal(ops_pg_exec(c->w.rdb, sql), 0);
    assert_int_equal(ops_pg_exec(c->w.rdb,
                                 "INSERT INTO \"order\".customers (id, username, first_name, last_name, "
                                 "version) VALUES ('" BOGUS "', 'bogus', 'B', 'B', 1)"),
                     0);
    long long t0 = ts_now_ms();
    st = wait_round(c, rounds, 3, 20000);
    print_message("corruption found %lld ms after it was made (rounds every 1 s)\n", ts_now_ms() - t0);
    assert_true(named(st, c->ids[7]) && named(st, c->ids[120]) && named(st, BOGUS));
    assert_int_equal(json_integer_value(json_object_get(st, "repaired")), 0);
    rounds = json_integer_value(json_object_get(st, "rounds"));
    json_decref(st);
    assert_int_equal(ts_get(c->w.os.port, "/health", &body, NULL), 200);
    assert_non_null(strstr(body, "\"reconciliation\":{\"status\":\"DOWN\"}"));
    free(body);
    body = NULL;
    assert_int_equal(ts_get(c->w.os.port, "/metrics", &body, NULL), 200);
    assert_non_null(strstr(body, "\norder_reconciliation_drift 3\n"));
    assert_non_null(strstr(body, "order_reconciliation_rounds_total{result=\"drift\"}"));
    free(body);
    body = NULL;
    /* repair off: the read model is still corrupted */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"order\".customers WHERE first_name = 'Corrupted'");
    assert_int_equal(ops_pg_scalar(c->w.rdb, sql), 1);
    /* the admin API's gate and the run-now call */
    char url[128];
    ts_resp_t r = {0};
    snprintf(url, sizeof url, "%s/admin/reconciliation", c->w.os.url);
    ts_http("GET", url, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 401);
    ts_resp_free(&r);
    assert_int_equal(pair_admin(&c->w.os, "POST", "/admin/reconciliation/run", "", NULL), 202);

    /* repair on: the drifted rows are reset and published again by the write side */
    assert_int_equal(pair_stop(&c->w.os), 0);
    start_order(c, 1);
    t0 = ts_now_ms();
    assert_int_equal(pair_wait_equal(c->w.wdb, c->w.rdb, 30000), 1);
    print_message("repaired: read model = write side %lld ms after the restart with repair on\n",
                  ts_now_ms() - t0);
    st = wait_round(c, 0, 0, 20000); /* a clean round after the repair */
    json_decref(st);
    assert_int_equal(ts_get(c->w.os.port, "/health", &body, NULL), 200);
    assert_non_null(strstr(body, "\"reconciliation\":{\"status\":\"UP\"}"));
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_reconciliation)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
