/* it_redrive.c — the dead-letter redrive (POST /admin/dlq/redrive) on the real PostgreSQL and
 * Kafka (order-service started by the test on its own database, topic and dead-letter topic):
 *  - a poison record (bytes that are no event) is dead-lettered by the projection itself;
 *  - three records that decode are put on the dead-letter topic by the test, with the dlq.*
 *    headers the projection writes, as records an older build refused (unknown-schema-id)
 *    would be: customer A version 3 (not in the read model), customer B version 1 (the read
 *    model has B at version 2 already) and a tombstone of customer D (in the read model);
 *  - one record by partition+offset: A is applied (insert), its position is in
 *    "order".dlq_redrives;
 *  - all: A is already handled, B is skipped by the version guard (stays at version 2), D's
 *    row is deleted, the poison record fails with its decoding error and is not recorded;
 *  - all again changes nothing (already handled; the poison still fails), by key and reason
 *    filters too; bad bodies are 400s naming the problem, a missing offset a failed outcome,
 *    no token a 401; the records are counted in order_dlq_redrive_records_total{outcome};
 *    scripts/cqadmin.sh order redrive sends the same requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "os_it.h"
#include "ts.h"

#define TOKEN "it-redrive-token"
#define AUTH "Authorization: Bearer " TOKEN

typedef os_it_run_t ctx_t;

/* An admin request: status, and the body parsed as JSON into *out (may be NULL). */
static long admin(ctx_t *c, const char *method, const char *path, const char *body, json_t **out)
{
    char url[256];
    ts_resp_t r;
    const char *hdrs[] = {AUTH, "Content-Type: application/json", NULL};
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->port, path);
    assert_int_equal(ts_http(method, url, body, body ? strlen(body) : 0, hdrs, &r), 0);
    if (out != NULL)
        *out = json_loads(r.body ? r.body : "", 0, NULL);
    fprintf(stderr, "%s %s %s: %ld %s\n", method, path, body ? body : "", r.status, r.body ? r.body : "");
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

/* Puts a record on the dead-letter topic as the projection would have: key `id`, the event
 * (version ≥ 1) or a tombstone (version 0), reason unknown-schema-id. */
static void dlq_put(ctx_t *c, long n, int64_t version)
{
    char id[37];
    unsigned char *buf = NULL;
    size_t len = 0;
    os_it_uuid(id, n);
    if (version > 0) {
        evcodec_customer_t ev;
        memset(&ev, 0, sizeof ev);
        snprintf(ev.id, sizeof ev.id, "%s", id);
        ev.username = (char *)"redriven";
        ev.first_name = (char *)"First";
        ev.last_name = (char *)"Last";
        ev.version = version;
        ev.event_type = version > 1 ? EVCODEC_UPDATED : EVCODEC_CREATED;
        ev.occurred_at_ms = 1700000000000;
        assert_int_equal(evcodec_encode_customer(c->t.codec, &ev, &buf, &len), EVCODEC_OK);
    }
    rd_kafka_resp_err_t e = rd_kafka_producev(
        c->t.producer, RD_KAFKA_V_TOPIC(c->t.dlq), RD_KAFKA_V_KEY(id, strlen(id)), RD_KAFKA_V_VALUE(buf, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER("dlq.reason", "unknown-schema-id", -1),
        RD_KAFKA_V_HEADER("dlq.detail", "unknown schema id 7 (an older build)", -1),
        RD_KAFKA_V_HEADER("dlq.source.topic", c->t.topic, -1),
        RD_KAFKA_V_HEADER("dlq.source.partition", "0", -1),
        RD_KAFKA_V_HEADER("dlq.source.offset", "1000", -1), RD_KAFKA_V_END);
    free(buf);
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(os_it_flush(&c->t), 0);
}

static int setup(void **state)
{
    static ctx_t c;
    static char tok[] = "ORDER_ADMIN_TOKEN=" TOKEN;
    const char *env[] = {tok, NULL};
    if (os_it_up(&c, "redrive", 1, env) != 0)
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

/* The record of the answer's "records" whose `field` is `want`, or NULL. */
static json_t *rec_by(json_t *res, const char *field, const char *want)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(res, "records"), i, v)
    {
        const char *s = json_string_value(json_object_get(v, field));
        if (s != NULL && strcmp(s, want) == 0)
            return v;
    }
    return NULL;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : "";
}

static long long num(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void test_redrive(void **state)
{
    ctx_t *c = *state;
    char a[37], b[37], d[37], p[37], body[256];
    json_t *res = NULL;
    os_it_uuid(a, 1), os_it_uuid(b, 2), os_it_uuid(d, 4), os_it_uuid(p, 901);
    /* the read model: B at version 2, D at version 1 */
    assert_int_equal(os_it_send(&c->t, b, 1, "b1", 0), 0);
    assert_int_equal(os_it_send(&c->t, b, 2, "b2", 0), 0);
    assert_int_equal(os_it_send(&c->t, d, 1, "d1", 1), 0);
    assert_int_equal(os_it_wait_scalar(&c->t, "SELECT count(*) FROM \"order\".customers", 2, 30000), 2);
    assert_int_equal(version_of(c, 2), 2);
    /* a poison record, dead-lettered by the projection; then the three decodable ones */
    assert_int_equal(os_it_send_raw(&c->t, p, "not an event", 12, 1), 0);
    long long until = ts_now_ms() + 30000, n = 0;
    while (n < 1 && ts_now_ms() < until) {
        assert_int_equal(admin(c, "GET", "/admin/dlq", NULL, &res), 200);
        n = (long long)json_array_size(json_object_get(res, "records"));
        json_decref(res);
        if (n < 1)
            usleep(200 * 1000);
    }
    assert_int_equal(n, 1);
    dlq_put(c, 1, 3);
    dlq_put(c, 2, 1);
    dlq_put(c, 4, 0);
    assert_int_equal(admin(c, "GET", "/admin/dlq", NULL, &res), 200);
    assert_int_equal(json_array_size(json_object_get(res, "records")), 4);
    long long off_a = -1;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(res, "records"), i, v)
    {
        if (strcmp(str(v, "key"), a) == 0)
            off_a = num(v, "offset");
    }
    json_decref(res);
    assert_true(off_a >= 0);

    /* one record by its position: A applied (an insert) and recorded */
    snprintf(body, sizeof body, "{\"records\":[{\"partition\":0,\"offset\":%lld}]}", off_a);
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", body, &res), 200);
    assert_int_equal(num(res, "applied"), 1);
    json_t *r = rec_by(res, "key", a);
    assert_non_null(r);
    assert_string_equal(str(r, "outcome"), "applied");
    assert_string_equal(str(r, "decision"), "insert");
    assert_int_equal(num(r, "version"), 3);
    assert_string_equal(str(json_object_get(r, "source"), "topic"), c->t.topic);
    json_decref(res);
    assert_int_equal(version_of(c, 1), 3);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM \"order\".dlq_redrives WHERE dlq_topic = '%s' AND \"offset\" = %lld "
             "AND outcome = 'applied' AND version = 3 AND customer_id = '%s'",
             c->t.dlq, off_a, a);
    assert_int_equal(os_it_scalar(&c->t, sql), 1);

    /* all: A already handled, B skipped (the read model has version 2), D deleted, the poison
     * record failed with its reason */
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", "{\"all\":true}", &res), 200);
    assert_int_equal(num(res, "applied"), 1);
    assert_int_equal(num(res, "skipped"), 1);
    assert_int_equal(num(res, "alreadyHandled"), 1);
    assert_int_equal(num(res, "failed"), 1);
    assert_false(json_is_true(json_object_get(res, "more")));
    assert_string_equal(str(rec_by(res, "key", a), "outcome"), "already-handled");
    assert_non_null(strstr(str(rec_by(res, "key", a), "detail"), "applied"));
    assert_string_equal(str(rec_by(res, "key", b), "outcome"), "skipped");
    assert_string_equal(str(rec_by(res, "key", b), "decision"), "skip-stale");
    assert_string_equal(str(rec_by(res, "key", d), "outcome"), "applied");
    assert_string_equal(str(rec_by(res, "key", d), "decision"), "delete");
    assert_true(json_is_true(json_object_get(rec_by(res, "key", d), "tombstone")));
    assert_string_equal(str(rec_by(res, "key", p), "outcome"), "failed");
    assert_non_null(strstr(str(rec_by(res, "key", p), "detail"), "cannot be applied"));
    json_decref(res);
    assert_int_equal(version_of(c, 1), 3);
    assert_int_equal(version_of(c, 2), 2); /* never backwards */
    assert_int_equal(version_of(c, 4), 0); /* deleted */
    assert_int_equal(os_it_scalar(&c->t, "SELECT count(*) FROM \"order\".dlq_redrives"), 3);

    /* again: nothing is redriven twice; the poison record still fails and stays unrecorded */
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", "{\"all\":true}", &res), 200);
    assert_int_equal(num(res, "applied"), 0);
    assert_int_equal(num(res, "skipped"), 0);
    assert_int_equal(num(res, "alreadyHandled"), 3);
    assert_int_equal(num(res, "failed"), 1);
    json_decref(res);
    assert_int_equal(version_of(c, 2), 2);
    assert_int_equal(os_it_scalar(&c->t, "SELECT count(*) FROM \"order\".dlq_redrives"), 3);
    /* the live projection goes on: a newer event of A is applied over the redriven row */
    assert_int_equal(os_it_send(&c->t, a, 4, "a4", 1), 0);
    snprintf(sql, sizeof sql, "SELECT coalesce(max(version), 0) FROM \"order\".customers WHERE id = '%s'", a);
    assert_int_equal(os_it_wait_scalar(&c->t, sql, 4, 30000), 4);

    /* filters */
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", b);
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", body, &res), 200);
    assert_int_equal(json_array_size(json_object_get(res, "records")), 1);
    assert_int_equal(num(res, "alreadyHandled"), 1);
    json_decref(res);
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", "{\"reason\":\"no-such-reason\"}", &res), 200);
    assert_int_equal(json_array_size(json_object_get(res, "records")), 0);
    json_decref(res);
    assert_int_equal(
        admin(c, "POST", "/admin/dlq/redrive", "{\"reason\":\"unknown-schema-id\",\"partition\":0}", &res),
        200);
    assert_int_equal(json_array_size(json_object_get(res, "records")), 3);
    json_decref(res);

    /* the same through scripts/cqadmin.sh; a request that names nothing is a usage error */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ORDER_ADMIN_TOKEN=%s bash '%s/scripts/cqadmin.sh' --order http://127.0.0.1:%d order redrive "
             "--record 0:%lld | grep -q '\"alreadyHandled\":1' && ORDER_ADMIN_TOKEN=%s bash "
             "'%s/scripts/cqadmin.sh' --order http://127.0.0.1:%d order redrive --reason unknown-schema-id "
             "--partition 0 | grep -q '\"alreadyHandled\":3'",
             TOKEN, ts_env("CQ_SOURCE_DIR", "."), c->port, off_a, TOKEN, ts_env("CQ_SOURCE_DIR", "."),
             c->port);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "bash '%s/scripts/cqadmin.sh' order redrive 2>/dev/null; test $? -eq 2",
             ts_env("CQ_SOURCE_DIR", "."));
    assert_int_equal(system(cmd), 0);

    /* a position without a record: a failed outcome naming it; bad bodies: 400; no token: 401 */
    assert_int_equal(
        admin(c, "POST", "/admin/dlq/redrive", "{\"records\":[{\"partition\":0,\"offset\":999}]}", &res),
        200);
    assert_int_equal(num(res, "failed"), 1);
    assert_non_null(strstr(str(json_array_get(json_object_get(res, "records"), 0), "detail"), "no record"));
    json_decref(res);
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", "{}", NULL), 400);
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", "{\"records\":[]}", NULL), 400);
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", "{\"all\":true,\"reason\":\"x\"}", NULL), 400);
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", "{\"records\":[{\"partition\":0}]}", NULL), 400);
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", "{\"all\":true,\"soon\":1}", NULL), 400);
    assert_int_equal(admin(c, "POST", "/admin/dlq/redrive", "[1]", NULL), 400);
    ts_resp_t nr;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/admin/dlq/redrive", c->port);
    assert_int_equal(ts_http("POST", url, "{\"all\":true}", 12, NULL, &nr), 0);
    assert_int_equal(nr.status, 401);
    ts_resp_free(&nr);

    /* each record handled once per request: applied A and D, skipped B, failed the poison (twice)
     * and offset 999; already-handled 1 + 3 + 1 + 3 + 1 + 3 */
    const char *m = "order_dlq_redrive_records_total";
    assert_true(ts_metric_sum(c->port, m, "outcome=\"applied\"") == 2.0);
    assert_true(ts_metric_sum(c->port, m, "outcome=\"skipped\"") == 1.0);
    assert_true(ts_metric_sum(c->port, m, "outcome=\"already-handled\"") == 12.0);
    assert_true(ts_metric_sum(c->port, m, "outcome=\"failed\"") == 3.0);
    assert_true(ts_metric_sum(c->port, "order_admin_actions_total", "action=\"dlq-redrive\",result=\"ok\"") ==
                9.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redrive),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
