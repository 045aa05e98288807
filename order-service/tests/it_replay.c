/* it_replay.c — the projection's operations API on the real PostgreSQL and Kafka
 * (order-service started by the test on its own database, topic of 2 partitions and group):
 *  - status: every partition with its stored position = high watermark, lag 0, a leader,
 *    held here; the admin token is required (401 without); scripts/cqadmin.sh says the same;
 *  - pause: an event produced while paused is not applied (status "paused"); resume applies it;
 *  - replay from a timestamp: events of round 1 (before T) and round 2 (after T); the rows of
 *    some customers are deleted by hand, another's version is raised by hand; replay from T
 *    brings the deleted ones back at their round-2 version, leaves the raised one alone (the
 *    version guard: no row moves backwards) and ends with the stored offsets where they were;
 *    the move and its request are in "order".projection_moves and in the status;
 *  - replay from the beginning of one partition re-applies nothing (every row already newer
 *    or equal: counted skip-stale); an offset outside the log and an unknown partition are 400s
 *    naming the problem; the actions are counted in order_admin_actions_total;
 *  - the dead-letter listing (GET /admin/dlq): a record the projection refused is listed with
 *    its reason and source coordinates equal to its dlq.* headers, the error it would still
 *    get, its key and size; partition/offset/limit page it (next names where to go on), reason
 *    and key filter it; a bad partition, limit or offset is a 400; no token a 401.
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

#include "os_it.h"
#include "ts.h"

#define NCUST 40
#define TOKEN "it-replay-token"
#define AUTH "Authorization: Bearer " TOKEN

typedef os_it_run_t ctx_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An admin request: status, and the body parsed as JSON into *out (may be NULL). */
static long admin(ctx_t *c, const char *method, const char *path, const char *body, json_t **out)
{
    char url[256];
    ts_resp_t r;
    const char *hdrs[] = {AUTH, "Content-Type: application/json", NULL};
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->port, path);
    assert_int_equal(ts_http(method, url, body, body ? strlen(body) : 0, hdrs, &r), 0);
    if (out != NULL) {
        *out = json_loads(r.body ? r.body : "", 0, NULL);
        if (*out == NULL)
            fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status, r.body ? r.body : "");
    }
    if (r.status >= 400)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status, r.body ? r.body : "");
    long st = r.status;
    ts_resp_free(&r);
    return st;
}

static long long version_of(ctx_t *c, long n)
{
    char id[37], sql[160];
    os_it_uuid(id, n);
    snprintf(sql, sizeof sql, "SELECT coalesce(max(version), 0) FROM \"order\".customers WHERE id = '%s'",
             id);
    return os_it_scalar(&c->t, sql);
}

static long long stored_sum(ctx_t *c)
{
    return os_it_scalar(&c->t, "SELECT coalesce(sum(next_offset), 0) FROM \"order\".projection_offsets");
}

static void send_round(ctx_t *c, int version)
{
    char id[37], name[32];
    for (long n = 1; n <= NCUST; n++) {
        os_it_uuid(id, n);
        snprintf(name, sizeof name, "c%ld-v%d", n, version);
        assert_int_equal(os_it_send(&c->t, id, version, name, 0), 0);
    }
    assert_int_equal(os_it_flush(&c->t), 0);
}

static int setup(void **state)
{
    static ctx_t c;
    static char tok[] = "ORDER_ADMIN_TOKEN=" TOKEN;
    static char batch[] = "PROJECTION_BATCH_SIZE=16";
    const char *env[] = {tok, batch, NULL};
    if (os_it_up(&c, "replay", 2, env) != 0)
        return -1;
    *state = &c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    if (c == NULL)
        return 0;
    return os_it_down(c) == 0 ? 0 : -1;
}

static void test_status_and_auth(void **state)
{
    ctx_t *c = *state;
    send_round(c, 1);
    assert_int_equal(os_it_wait_scalar(&c->t, "SELECT count(*) FROM \"order\".customers", NCUST, 30000),
                     NCUST);
    assert_int_equal(
        os_it_wait_scalar(&c->t, "SELECT coalesce(sum(next_offset), 0) FROM \"order\".projection_offsets",
                          NCUST, 30000),
        NCUST);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/admin/projection", c->port);
    assert_int_equal(ts_http_status(url), 401);
    json_t *st = NULL;
    assert_int_equal(admin(c, "GET", "/admin/projection", NULL, &st), 200);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "running");
    json_t *parts = json_object_get(st, "partitions");
    assert_int_equal(json_array_size(parts), 2);
    size_t i;
    json_t *p;
    long long sum = 0;
    json_array_foreach(parts, i, p)
    {
        assert_int_equal(json_integer_value(json_object_get(p, "lag")), 0);
        assert_int_equal(json_integer_value(json_object_get(p, "position")),
                         json_integer_value(json_object_get(p, "highWatermark")));
        assert_true(json_integer_value(json_object_get(p, "leader")) >= 0);
        assert_true(json_is_true(json_object_get(p, "assignedHere")));
        sum += json_integer_value(json_object_get(p, "position"));
    }
    assert_int_equal(sum, NCUST);
    json_decref(st);
    /* the same through the shell client */
    char cmd[1024];
    snprintf(
        cmd, sizeof cmd,
        "ORDER_ADMIN_TOKEN=%s bash '%s/scripts/cqadmin.sh' --order http://127.0.0.1:%d order status "
        ">/dev/null && ! ORDER_ADMIN_TOKEN=wrong bash '%s/scripts/cqadmin.sh' --order http://127.0.0.1:%d "
        "order status >/dev/null 2>&1",
        TOKEN, ts_env("CQ_SOURCE_DIR", "."), c->port, ts_env("CQ_SOURCE_DIR", "."), c->port);
    assert_int_equal(system(cmd), 0);
}

static void test_pause_resume(void **state)
{
    ctx_t *c = *state;
    char id[37];
    json_t *st = NULL;
    assert_int_equal(admin(c, "POST", "/admin/projection/pause", NULL, &st), 200);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "paused");
    json_decref(st);
    os_it_uuid(id, 1);
    long long v = version_of(c, 1);
    assert_int_equal(os_it_send(&c->t, id, v + 1, "while-paused", 1), 0);
    ts_sleep_ms(2500);
    assert_int_equal(version_of(c, 1), v); /* not applied while paused */
    assert_int_equal(admin(c, "POST", "/admin/projection/resume", NULL, &st), 200);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "running");
    json_decref(st);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT version FROM \"order\".customers WHERE id = '%s'", id);
    assert_int_equal(os_it_wait_scalar(&c->t, sql, v + 1, 20000), v + 1);
}

static void test_replay_from_timestamp(void **state)
{
    ctx_t *c = *state;
    char body[160], sql[256], id[37];
    json_t *res = NULL;
    /* round 1 is in (test_status_and_auth, plus one update of customer 1); now round 2 */
    ts_sleep_ms(1200);
    long long t = now_ms();
    ts_sleep_ms(200);
    send_round(c, 5);
    assert_int_equal(
        os_it_wait_scalar(&c->t, "SELECT count(*) FROM \"order\".customers WHERE version = 5", NCUST, 30000),
        NCUST);
    long long stored = os_it_wait_scalar(&c->t,
                                         "SELECT coalesce(sum(next_offset), 0) FROM "
                                         "\"order\".projection_offsets",
                                         2 * NCUST + 1, 30000);
    assert_int_equal(stored, 2 * NCUST + 1);
    /* damage by hand: customers 1..5 lost, customer 6 "newer" than anything on the topic */
    assert_int_equal(os_it_scalar(&c->t,
                                  "WITH d AS (DELETE FROM \"order\".customers WHERE id <= "
                                  "'00000000-0000-4000-8000-000000000005' RETURNING 1) SELECT count(*) "
                                  "FROM d"),
                     5);
    os_it_uuid(id, 6);
    snprintf(sql, sizeof sql,
             "WITH u AS (UPDATE \"order\".customers SET version = 9, username = 'hand' WHERE id = '%s' "
             "RETURNING 1) SELECT count(*) FROM u",
             id);
    assert_int_equal(os_it_scalar(&c->t, sql), 1);
    snprintf(body, sizeof body, "{\"to\":\"timestamp\",\"timestamp\":%lld}", t);
    assert_int_equal(admin(c, "POST", "/admin/projection/replay", body, &res), 200);
    json_t *moved = json_object_get(res, "moved");
    assert_int_equal(json_array_size(moved), 2);
    long long from_sum = 0, to_sum = 0;
    size_t i;
    json_t *m;
    json_array_foreach(moved, i, m)
    {
        from_sum += json_integer_value(json_object_get(m, "from"));
        to_sum += json_integer_value(json_object_get(m, "to"));
        assert_true(json_integer_value(json_object_get(m, "epoch")) >= 1);
    }
    json_decref(res);
    assert_int_equal(from_sum, 2 * NCUST + 1);
    assert_int_equal(to_sum, NCUST + 1); /* round 1 and the paused update are before T */
    /* the lost rows come back at version 5; the raised one stays at 9; offsets back at the end */
    assert_int_equal(os_it_wait_scalar(&c->t, "SELECT count(*) FROM \"order\".customers WHERE version = 5",
                                       NCUST - 1, 30000),
                     NCUST - 1);
    assert_int_equal(version_of(c, 6), 9);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM \"order\".customers WHERE id = '%s' AND username = 'hand'", id);
    assert_int_equal(os_it_scalar(&c->t, sql), 1);
    assert_int_equal(
        os_it_wait_scalar(&c->t, "SELECT coalesce(sum(next_offset), 0) FROM \"order\".projection_offsets",
                          2 * NCUST + 1, 30000),
        2 * NCUST + 1);
    assert_true(os_it_scalar(&c->t, "SELECT count(*) FROM \"order\".projection_moves WHERE request LIKE "
                                    "'timestamp %'") == 2);
    assert_int_equal(admin(c, "GET", "/admin/projection", NULL, &res), 200);
    assert_true(json_array_size(json_object_get(res, "recentMoves")) >= 2);
    json_decref(res);
}

static void test_replay_beginning_and_bad_requests(void **state)
{
    ctx_t *c = *state;
    json_t *res = NULL;
    long long before = stored_sum(c);
    double stale = ts_metric_sum(c->port, "order_projection_events_total", "skip-stale");
    assert_int_equal(
        admin(c, "POST", "/admin/projection/replay", "{\"to\":\"beginning\",\"partitions\":[0]}", &res), 200);
    assert_int_equal(json_array_size(json_object_get(res, "moved")), 1);
    long long p0 =
        json_integer_value(json_object_get(json_array_get(json_object_get(res, "moved"), 0), "from"));
    json_decref(res);
    assert_int_equal(
        os_it_wait_scalar(&c->t, "SELECT coalesce(sum(next_offset), 0) FROM \"order\".projection_offsets",
                          before, 30000),
        before);
    /* every event of partition 0 read again; nothing newer than the rows: all skipped */
    for (int i = 0;
         i < 100 && ts_metric_sum(c->port, "order_projection_events_total", "skip-stale") - stale < p0; i++)
        ts_sleep_ms(100);
    assert_true(ts_metric_sum(c->port, "order_projection_events_total", "skip-stale") - stale >= (double)p0);
    assert_int_equal(version_of(c, 6), 9);
    assert_int_equal(
        admin(c, "POST", "/admin/projection/replay", "{\"to\":\"offset\",\"offset\":99999}", NULL), 400);
    assert_int_equal(admin(c, "POST", "/admin/projection/replay",
                           "{\"to\":\"offset\",\"offset\":0,\"partitions\":[7]}", NULL),
                     400);
    assert_int_equal(admin(c, "POST", "/admin/projection/replay", "{\"to\":\"yesterday\"}", NULL), 400);
    assert_int_equal(
        admin(c, "POST", "/admin/projection/replay", "{\"to\":\"timestamp\",\"timestamp\":\"soon\"}", NULL),
        400);
    assert_true(ts_metric_sum(c->port, "order_admin_actions_total", "action=\"replay\",result=\"ok\"") >=
                2.0);
    assert_true(ts_metric_sum(c->port, "order_admin_actions_total", "action=\"pause\",result=\"ok\"") >= 1.0);
    assert_true(ts_metric_sum(c->port, "order_projection_moves_total", NULL) >= 3.0);
}

/* A record of `arr` whose `field` is the string `want`, or NULL. */
static json_t *find_by(json_t *arr, const char *field, const char *want)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(json_object_get(v, field));
        if (s != NULL && strcmp(s, want) == 0)
            return v;
    }
    return NULL;
}

static void test_dlq_list(void **state)
{
    ctx_t *c = *state;
    char id[37], path[128];
    json_t *res = NULL, *hdrs = NULL;
    os_it_uuid(id, 901);
    assert_int_equal(os_it_send_raw(&c->t, id, "not an event", 12, 1), 0);
    /* dead-lettered by the projection: the record as the test reads it from the topic */
    long long until = now_ms() + 30000;
    while (os_it_dlq_read(&c->t, &hdrs) < 1 && now_ms() < until) {
        json_decref(hdrs);
        hdrs = NULL;
        usleep(200 * 1000);
    }
    assert_non_null(hdrs);
    assert_int_equal(json_array_size(hdrs), 1);
    json_t *h0 = json_array_get(hdrs, 0);

    assert_int_equal(admin(c, "GET", "/admin/dlq", NULL, &res), 200);
    assert_string_equal(json_string_value(json_object_get(res, "topic")), c->t.dlq);
    assert_int_equal(json_array_size(json_object_get(res, "partitions")), 1);
    assert_false(json_is_true(json_object_get(res, "more")));
    json_t *recs = json_object_get(res, "records");
    assert_int_equal(json_array_size(recs), 1);
    json_t *r = find_by(recs, "key", id);
    assert_non_null(r);
    /* the reason and the source coordinates are the record's dlq.* headers */
    assert_string_equal(json_string_value(json_object_get(r, "reason")),
                        json_string_value(json_object_get(h0, "dlq.reason")));
    assert_true(strlen(json_string_value(json_object_get(r, "reason"))) > 0);
    json_t *src = json_object_get(r, "source");
    assert_string_equal(json_string_value(json_object_get(src, "topic")), c->t.topic);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(json_object_get(src, "partition")));
    assert_string_equal(num, json_string_value(json_object_get(h0, "dlq.source.partition")));
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(json_object_get(src, "offset")));
    assert_string_equal(num, json_string_value(json_object_get(h0, "dlq.source.offset")));
    /* still poison: it does not decode now either, and says why */
    assert_false(json_is_true(json_object_get(r, "decodesNow")));
    assert_true(strlen(json_string_value(json_object_get(r, "error"))) > 0);
    assert_true(json_is_null(json_object_get(r, "event")));
    assert_int_equal(json_integer_value(json_object_get(r, "valueBytes")), 12);
    long long off = json_integer_value(json_object_get(r, "offset"));
    json_decref(res);
    json_decref(hdrs);

    /* offset: nothing after the last record; filters by reason and key */
    snprintf(path, sizeof path, "/admin/dlq?partition=0&offset=%lld&limit=5", off + 1);
    assert_int_equal(admin(c, "GET", path, NULL, &res), 200);
    assert_int_equal(json_array_size(json_object_get(res, "records")), 0);
    json_decref(res);
    assert_int_equal(os_it_send_raw(&c->t, "not-a-uuid", NULL, 0, 1), 0); /* a tombstone without a UUID key */
    until = now_ms() + 30000;
    long long n = 0;
    while (n < 2 && now_ms() < until) {
        assert_int_equal(admin(c, "GET", "/admin/dlq?limit=1", NULL, &res), 200);
        n = (long long)json_array_size(json_object_get(res, "records")) +
            (json_is_true(json_object_get(res, "more")) ? 1 : 0);
        if (n < 2)
            json_decref(res), usleep(200 * 1000);
    }
    assert_int_equal(n, 2); /* one shown, more: next names the second */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "next"), "offset")), off + 1);
    json_decref(res);
    snprintf(path, sizeof path, "/admin/dlq?key=%s", id);
    assert_int_equal(admin(c, "GET", path, NULL, &res), 200);
    assert_int_equal(json_array_size(json_object_get(res, "records")), 1);
    json_decref(res);
    assert_int_equal(admin(c, "GET", "/admin/dlq?reason=bad-key", NULL, &res), 200);
    recs = json_object_get(res, "records");
    assert_int_equal(json_array_size(recs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "key")), "not-a-uuid");
    assert_true(json_is_true(json_object_get(json_array_get(recs, 0), "tombstone")));
    assert_int_equal(json_integer_value(json_object_get(res, "scanned")), 2);
    json_decref(res);
    /* bad requests name the problem; no token: 401 */
    assert_int_equal(admin(c, "GET", "/admin/dlq?partition=7", NULL, NULL), 400);
    assert_int_equal(admin(c, "GET", "/admin/dlq?limit=0", NULL, NULL), 400);
    assert_int_equal(admin(c, "GET", "/admin/dlq?offset=soon", NULL, NULL), 400);
    ts_resp_t nr;
    snprintf(path, sizeof path, "http://127.0.0.1:%d/admin/dlq", c->port);
    assert_int_equal(ts_http("GET", path, NULL, 0, NULL, &nr), 0);
    assert_int_equal(nr.status, 401);
    ts_resp_free(&nr);
    assert_true(ts_metric_sum(c->port, "order_admin_actions_total", "action=\"dlq-list\",result=\"ok\"") >=
                2.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_and_auth),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_replay_from_timestamp),
        cmocka_unit_test(test_replay_beginning_and_bad_requests),
        cmocka_unit_test(test_dlq_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
