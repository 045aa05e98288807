/* test_watchreq.c — unit tests of the watch API's request parsing: the `wait` query
 * parameter (units, the cap, malformed values), If-None-Match matching, and a query's key
 * (all the watch hub keeps of a held request's query) read back into the query.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "http/answer.h"
#include "http/watchreq.h"

static void test_wait_param(void **state)
{
    (void)state;
    char why[256];
    long ms = -7;
    assert_int_equal(cs_watch_wait_param("", 60000, &ms, why, sizeof(why)), 0);
    assert_int_equal(cs_watch_wait_param("a=1&b=2", 60000, &ms, why, sizeof(why)), 0);
    assert_int_equal(ms, -7);
    static const struct {
        const char *q;
        long want;
    } ok[] = {{"wait=30", 30000},      {"wait=30s", 30000},     {"wait=500ms", 500},    {"wait=2m", 60000},
              {"wait=1m", 60000},      {"x=1&wait=5", 5000},    {"wait=0", 0},          {"wait=1h", 60000},
              {"wait=9999999", 60000}, {"wait=3&wait=x", 3000}, {"wait=59999ms", 59999}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(cs_watch_wait_param(ok[i].q, 60000, &ms, why, sizeof(why)), 1);
        assert_int_equal(ms, ok[i].want);
    }
    static const char *const bad[] = {"wait=",     "wait=x",   "wait=-1",
                                      "wait=1.5s", "wait=10d", "wait=30sec",
                                      "wait= 3",   "wait=3 ",  "wait=99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cs_watch_wait_param(bad[i], 60000, &ms, why, sizeof(why)), -1);
        assert_non_null(strstr(why, "wait="));
    }
}

static void test_etag_matches(void **state)
{
    (void)state;
    assert_true(cs_watch_etag_matches("\"ab\"", "\"ab\""));
    assert_true(cs_watch_etag_matches("W/\"ab\"", "\"ab\""));
    assert_true(cs_watch_etag_matches("\"x\", \"ab\"", "\"ab\""));
    assert_true(cs_watch_etag_matches("*", "\"ab\""));
    assert_false(cs_watch_etag_matches(NULL, "\"ab\""));
    assert_false(cs_watch_etag_matches("\"abc\"", "\"ab\""));
    assert_false(cs_watch_etag_matches("\"a\"", "\"ab\""));
    assert_false(cs_watch_etag_matches("", "\"ab\""));
}

/* The watch hub keeps only a query's key; the query comes back from it whole. */
static void test_query_key_round_trip(void **state)
{
    (void)state;
    static const cs_req_t reqs[] = {
        {.kind = CS_REQ_ENV, .app = "billing,application", .profiles = "dev,k8s", .label = "release/1.0"},
        {.kind = CS_REQ_FLAT, .fmt = CS_FMT_PROPERTIES, .app = "a", .profiles = "default", .label = ""},
    };
    for (size_t i = 0; i < 2; i++) {
        cs_query_t q, back;
        cs_query_init(&q, &reqs[i], 1, 1);
        assert_int_equal(cs_query_from_key(&back, q.key), 0);
        assert_int_equal(back.r.kind, q.r.kind);
        assert_int_equal(back.r.fmt, q.r.fmt);
        assert_int_equal(back.v2, q.v2);
        assert_int_equal(back.resolve, q.resolve);
        assert_string_equal(back.r.app, q.r.app);
        assert_string_equal(back.r.profiles, q.r.profiles);
        assert_string_equal(back.r.label, q.r.label);
        assert_string_equal(back.key, q.key);
    }
    cs_query_t q;
    assert_int_equal(cs_query_from_key(&q, "x|y"), -1);
    assert_int_equal(cs_query_from_key(&q, "0|0|0|0|a|b"), -1);
    assert_int_equal(cs_query_from_key(&q, "0|0|0|0|a|b|c|d"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_param),
        cmocka_unit_test(test_etag_matches),
        cmocka_unit_test(test_query_key_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
