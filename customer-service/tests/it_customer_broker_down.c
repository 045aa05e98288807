/* it_customer_broker_down.c — the outbox keeps every event while Kafka is down: stop the
 * broker (scripts/stack.sh stop-kafka), create and update customers (every request must
 * succeed), check /health shows Kafka DOWN while readiness stays 200 (the outbox takes the
 * writes: the service must stay in its Kubernetes Service), start the broker, then find every event on the
 * topic exactly once and in version order per key. Needs the ctest stack (it stops and
 * starts ITS broker): registered with FIXTURES "stack;services"; never run it against a
 * shared dev stack. Env: CQ_CUSTOMER_URL, CQ_KAFKA_BOOTSTRAP, CQ_SOURCE_DIR,
 * CQ_CUSTOMER_TOPIC (default "customer"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cs_it.h"
#include "ts.h"

#define N_CUST 50
#define N_UPD 10 /* the first N_UPD customers get two updates each */

typedef struct want {
    char ids[N_CUST][37];
} want_t;

static int want_count(int i)
{
    return i < N_UPD ? 3 : 1;
}

static int have_all(const cs_recs_t *r, void *ud)
{
    want_t *w = ud;
    const cs_rec_t *x[8];
    for (int i = 0; i < N_CUST; i++)
        if ((int)cs_recs_for_key(r, w->ids[i], x, 8) < want_count(i))
            return 0;
    return 1;
}

static int stack(const char *verb)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "bash '%s/scripts/stack.sh' %s", ts_env("CQ_SOURCE_DIR", "."), verb);
    return system(cmd);
}

/* GET /health/readiness: its status code; *kafka_down = 1 when its kafka component says DOWN. */
static long readiness_kafka(const char *base, int *kafka_down)
{
    char url[512];
    ts_resp_t r = {0};
    long st;
    snprintf(url, sizeof url, "%s/health/readiness", base);
    ts_http("GET", url, NULL, 0, NULL, &r);
    st = r.status;
    if (kafka_down != NULL)
        *kafka_down = r.body != NULL && strstr(r.body, "\"kafka\":{\"status\":\"DOWN\"}") != NULL;
    ts_resp_free(&r);
    return st;
}

static long readiness(const char *base)
{
    return readiness_kafka(base, NULL);
}

static void t_broker_down(void **state)
{
    const char *base = ts_env("CQ_CUSTOMER_URL", "http://127.0.0.1:28184");
    const char *bs = ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092");
    const char *topic = ts_env("CQ_CUSTOMER_TOPIC", "customer");
    int64_t hi[CS_IT_MAX_PARTITIONS];
    static want_t w;
    cs_recs_t recs = {0};
    int np = -1, created = 0, updated = 0, down_seen = 0;
    long long t0 = ts_now_ms();

    for (int i = 0; i < 50 && np < 1; i++) {
        np = cs_it_watermarks(bs, topic, hi);
        if (np < 1)
            ts_sleep_ms(200);
    }
    assert_true(np >= 1);
    assert_int_equal(stack("stop-kafka"), 0);
    for (int i = 0; i < N_CUST; i++) {
        char user[64];
        snprintf(user, sizeof user, "down-%lld-%d", t0, i);
        assert_int_equal(cs_it_create(base, NULL, user, "Down", "Under", w.ids[i]), 201);
        created++;
        if (i < N_UPD) {
            assert_int_equal(cs_it_update(base, w.ids[i], user, "Down2", "Under"), 200);
            assert_int_equal(cs_it_update(base, w.ids[i], user, "Down3", "Under"), 200);
            updated += 2;
        }
    }
    for (int i = 0; i < 120 && !down_seen; i++) { /* the relay probes the broker every 2 s */
        assert_int_equal(readiness_kafka(base, &down_seen), 200);
        if (!down_seen)
            ts_sleep_ms(250);
    }
    assert_true(down_seen);
    assert_int_equal(stack("start-kafka"), 0);
    assert_int_equal(cs_it_consume(bs, topic, hi, np, have_all, &w, 120000, &recs), 0);
    for (int i = 0; i < N_CUST; i++) {
        const cs_rec_t *x[8];
        size_t n = cs_recs_for_key(&recs, w.ids[i], x, 8);
        if ((int)n != want_count(i))
            fail_msg("customer %s: %zu records, want %d", w.ids[i], n, want_count(i));
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(x[k]->decode_rc, EVCODEC_OK);
            assert_int_equal(x[k]->ev.version, (int64_t)k + 1);
        }
    }
    for (int i = 0; i < 60 && readiness(base) != 200; i++)
        ts_sleep_ms(250);
    assert_int_equal(readiness(base), 200);
    printf("# broker down: %d creates (all 201) + %d updates (all 200) while Kafka was stopped; "
           "%zu records after restart, each exactly once, versions in order; %lld ms\n",
           created, updated, recs.n, ts_now_ms() - t0);
    cs_recs_free(&recs);
}

/* Whatever happened in the test, the broker the whole test run shares is running again,
 * and the whole flow works again before the next test starts: after a broker restart the
 * read side's consumer group has to be re-formed, so wait until a fresh customer reaches
 * order-service's read model (up to 60 s). */
static int restart_broker(void **state)
{
    (void)state;
    char id[40], user[64], url[512];
    if (stack("start-kafka") != 0)
        return -1;
    snprintf(user, sizeof user, "after-restart-%lld", ts_now_ms());
    if (cs_it_create(ts_env("CQ_CUSTOMER_URL", "http://127.0.0.1:28184"), NULL, user, "After", "Restart",
                     id) != 201)
        return -1;
    snprintf(url, sizeof url, "%s/customers/%s", ts_env("CQ_ORDER_URL", "http://127.0.0.1:28181"), id);
    for (long long t0 = ts_now_ms(); ts_now_ms() - t0 < 60000; ts_sleep_ms(100)) {
        ts_resp_t r = {0};
        long st = ts_http("GET", url, NULL, 0, NULL, &r) == 0 ? r.status : 0;
        ts_resp_free(&r);
        if (st == 200) {
            printf("# read side caught up %lld ms after the broker restart\n", ts_now_ms() - t0);
            return 0;
        }
    }
    return -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(t_broker_down, restart_broker)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
