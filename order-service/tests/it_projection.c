/* it_projection.c — order-service against the real PostgreSQL and Kafka (private database
 * and topics per run): events in → rows out, versions out of order, tombstones, poison →
 * DLQ with headers while the next good event is still applied, the orders API (validation
 * messages, read-your-writes, 404s), a rebuild through the admin endpoint while reads are
 * served (the rebuilt table is identical), and SIGTERM → exit 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "os_it.h"
#include "ts.h"

#define REST "d215b5f8-0249-4dc5-89a3-51fd148cfb45"
#define PROD "d215b5f8-0249-4dc5-89a3-51fd148cfb48"
#define HASH_SQL                                                                                             \
    "SELECT md5(coalesce(string_agg(id::text||'|'||username||'|'||first_name||'|'||last_name||'|'"           \
    "||version||'|'||updated_at::text, ',' ORDER BY id), '')) FROM \"order\".customers"

typedef struct world {
    os_it_t t;
    pid_t pid;
    char base[64];
} world_t;

static char *url(world_t *w, const char *path)
{
    static char buf[256]; /* test-only scratch */
    snprintf(buf, sizeof buf, "%s%s", w->base, path);
    return buf;
}

static long http(world_t *w, const char *method, const char *path, const char *body, json_t **out)
{
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    ts_resp_t r;
    long st = -1;
    if (ts_http(method, url(w, path), body, body ? strlen(body) : 0, hdrs, &r) == 0) {
        st = r.status;
        if (out)
            *out = json_loads(r.body ? r.body : "", 0, NULL);
    }
    ts_resp_free(&r);
    return st;
}

static int setup(void **state)
{
    static world_t w;
    memset(&w, 0, sizeof w);
    if (os_it_setup(&w.t, "proj", 3) != 0)
        return -1;
    int port = ts_free_port(); /* not a fixed one: parallel runs do not meet */
    char logf[128];
    snprintf(logf, sizeof logf, "/tmp/it_order_projection_%d.log", (int)getpid());
    snprintf(w.base, sizeof w.base, "http://127.0.0.1:%d", port);
    static const char *env[] = {"ORDER_ADMIN_TOKEN=it-secret", "ORDER_SERVICE_CUSTOMER_WAIT_MS=800", NULL};
    w.pid = os_it_start(&w.t, port, env, logf);
    if (w.pid < 0 || os_it_wait_ready(port, 30000) != 0)
        return -1;
    *state = &w;
    return 0;
}

static int teardown(void **state)
{
    world_t *w = *state;
    if (w->pid > 0)
        os_it_kill9(w->pid);
    os_it_teardown(&w->t);
    return 0;
}

static void test_events_in_rows_out(void **state)
{
    world_t *w = *state;
    char id[37];
    for (long i = 1; i <= 3; i++) {
        os_it_uuid(id, i);
        assert_int_equal(os_it_send(&w->t, id, 1, "user", 0), 0);
    }
    assert_int_equal(os_it_flush(&w->t), 0);
    assert_int_equal(os_it_wait_scalar(&w->t, "SELECT count(*) FROM \"order\".customers", 3, 20000), 3);
    json_t *j = NULL;
    os_it_uuid(id, 2);
    char path[128];
    snprintf(path, sizeof path, "/customers/%s", id);
    assert_int_equal(http(w, "GET", path, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "customerId")), id);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "username")), "user");
    json_decref(j);
    /* offsets stored with the rows */
    assert_true(os_it_scalar(&w->t, "SELECT sum(next_offset) FROM \"order\".projection_offsets") >= 3);
}

static void test_versions_out_of_order(void **state)
{
    world_t *w = *state;
    char id[37], marker[37];
    os_it_uuid(id, 10);
    os_it_uuid(marker, 11);
    assert_int_equal(os_it_send(&w->t, id, 3, "v3", 0), 0);
    assert_int_equal(os_it_send(&w->t, id, 1, "v1", 0), 0);
    assert_int_equal(os_it_send(&w->t, id, 2, "v2", 0), 0);
    assert_int_equal(os_it_send(&w->t, id, 3, "v3-repeat", 0), 0);
    assert_int_equal(os_it_send(&w->t, marker, 1, "marker", 1), 0);
    /* same key → same partition → the marker of another key is not enough: wait on id too */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT version FROM \"order\".customers WHERE id = '%s'", id);
    assert_int_equal(os_it_wait_scalar(&w->t, sql, 3, 20000), 3);
    ts_sleep_ms(500);
    char *name;
    snprintf(sql, sizeof sql, "SELECT username FROM \"order\".customers WHERE id = '%s'", id);
    name = os_it_text(&w->t, sql);
    assert_non_null(name);
    assert_string_equal(name, "v3");
    free(name);
    /* a newer version wins */
    assert_int_equal(os_it_send(&w->t, id, 4, "v4", 1), 0);
    snprintf(sql, sizeof sql, "SELECT version FROM \"order\".customers WHERE id = '%s'", id);
    assert_int_equal(os_it_wait_scalar(&w->t, sql, 4, 20000), 4);
}

static void test_tombstone(void **state)
{
    world_t *w = *state;
    char id[37], sql[256], path[128];
    os_it_uuid(id, 1);
    assert_int_equal(os_it_send_tombstone(&w->t, id, 1), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"order\".customers WHERE id = '%s'", id);
    assert_int_equal(os_it_wait_scalar(&w->t, sql, 0, 20000), 0);
    snprintf(path, sizeof path, "/customers/%s", id);
    json_t *j = NULL;
    assert_int_equal(http(w, "GET", path, NULL, &j), 404);
    assert_string_equal(json_string_value(json_object_get(j, "detail")),
                        "Could not find customer with customer id: 00000000-0000-4000-8000-000000000001");
    json_decref(j);
    /* a tombstone for an unknown customer changes nothing */
    os_it_uuid(id, 999);
    assert_int_equal(os_it_send_tombstone(&w->t, id, 1), 0);
}

static void test_poison_to_dlq(void **state)
{
    world_t *w = *state;
    char id[37], sql[256];
    os_it_uuid(id, 20);
    static const unsigned char bad_magic[] = {0x07, 0, 0, 0, 2, 1, 2, 3};
    static const unsigned char unknown_id[] = {0x00, 0, 0, 0x03, 0xe7, 2, 2, 2};
    static const unsigned char bad_avro[] = {0x00, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(os_it_send_raw(&w->t, id, bad_magic, sizeof bad_magic, 0), 0);
    assert_int_equal(os_it_send_raw(&w->t, id, unknown_id, sizeof unknown_id, 0), 0);
    assert_int_equal(os_it_send_raw(&w->t, id, bad_avro, sizeof bad_avro, 0), 0);
    assert_int_equal(os_it_send_raw(&w->t, "not-a-uuid", NULL, 0, 0), 0); /* bad tombstone key */
    assert_int_equal(os_it_send(&w->t, id, 1, "after-poison", 1), 0);
    snprintf(sql, sizeof sql, "SELECT version FROM \"order\".customers WHERE id = '%s'", id);
    assert_int_equal(os_it_wait_scalar(&w->t, sql, 1, 20000), 1);
    json_t *reasons = NULL;
    int n = os_it_dlq_read(&w->t, &reasons);
    char *dump = json_dumps(reasons, JSON_COMPACT);
    printf("DLQ: %s\n", dump);
    free(dump);
    assert_int_equal(n, 4);
    const char *want[] = {"bad-magic", "unknown-schema-id", "bad-avro", "bad-key"};
    for (int k = 0; k < 4; k++) {
        json_t *hit = NULL;
        for (size_t i = 0; i < json_array_size(reasons); i++)
            if (strcmp(json_string_value(json_object_get(json_array_get(reasons, i), "dlq.reason")),
                       want[k]) == 0)
                hit = json_array_get(reasons, i);
        assert_non_null(hit);
        assert_string_equal(json_string_value(json_object_get(hit, "dlq.source.topic")), w->t.topic);
        assert_non_null(json_object_get(hit, "dlq.source.offset"));
        assert_non_null(json_object_get(hit, "dlq.source.partition"));
        assert_non_null(json_object_get(hit, "dlq.detail"));
    }
    json_decref(reasons);
    /* the metric counts them */
    ts_resp_t r;
    assert_int_equal(ts_http("GET", url(w, "/metrics"), NULL, 0, NULL, &r), 0);
    assert_non_null(strstr(r.body, "order_projection_dlq_total{reason=\"bad-magic\"} 1"));
    assert_non_null(strstr(r.body, "order_consumer_lag{partition="));
    assert_non_null(strstr(r.body, "order_projection_newest_event_age_seconds"));
    ts_resp_free(&r);
}

static const char *order_body(char *buf, size_t len, const char *cust, const char *price, const char *sub2,
                              const char *postal)
{
    snprintf(buf, len,
             "{\"customerId\":\"%s\",\"restaurantId\":\"" REST "\",\"price\":%s,"
             "\"items\":[{\"productId\":\"" PROD "\",\"quantity\":1,\"price\":50.00,\"subTotal\":50.00},"
             "{\"productId\":\"" PROD "\",\"quantity\":3,\"price\":50,\"subTotal\":%s}],"
             "\"address\":{\"street\":\"street_1\",\"postalCode\":\"%s\",\"city\":\"Amsterdam\"}}",
             cust, price, sub2, postal);
    return buf;
}

static void expect_400(world_t *w, const char *body, const char *detail)
{
    json_t *j = NULL;
    assert_int_equal(http(w, "POST", "/orders", body, &j), 400);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "detail")), detail);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
    json_decref(j);
}

/* An event written with the seed's original 4-field schema (id 1) still projects: version
 * defaults to 1, and without occurredAt the row's updatedAt is null. */
static void test_seed_schema_event(void **state)
{
    world_t *w = *state;
    char id[37], sql[256], path[128];
    unsigned char frame[128];
    size_t n = 0;
    os_it_uuid(id, 3000);
    frame[n++] = 0;
    frame[n++] = 0;
    frame[n++] = 0;
    frame[n++] = 0;
    frame[n++] = 1; /* schema id 1 */
    const char *fields[] = {id, "seed-user", "Seed", "Schema"};
    for (int i = 0; i < 4; i++) {
        size_t len = strlen(fields[i]);
        frame[n++] = (unsigned char)(len * 2); /* zigzag varint (len < 64) */
        memcpy(frame + n, fields[i], len);
        n += len;
    }
    assert_int_equal(os_it_send_raw(&w->t, id, frame, n, 1), 0);
    snprintf(sql, sizeof sql, "SELECT version FROM \"order\".customers WHERE id = '%s'", id);
    assert_int_equal(os_it_wait_scalar(&w->t, sql, 1, 20000), 1);
    json_t *j = NULL;
    snprintf(path, sizeof path, "/customers/%s", id);
    assert_int_equal(http(w, "GET", path, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "username")), "seed-user");
    assert_true(json_is_null(json_object_get(j, "updatedAt")));
    json_decref(j);
}

static void test_orders_api(void **state)
{
    world_t *w = *state;
    char cust[37], body[1024], path[128];
    json_t *j = NULL;
    os_it_uuid(cust, 2);
    /* 200 == 200.00 */
    assert_int_equal(
        http(w, "POST", "/orders", order_body(body, sizeof body, cust, "200", "150", "1000AB"), &j), 201);
    assert_string_equal(json_string_value(json_object_get(j, "orderStatus")), "PENDING");
    assert_string_equal(json_string_value(json_object_get(j, "message")), "Order created successfully");
    snprintf(path, sizeof path, "/orders/%s", json_string_value(json_object_get(j, "orderTrackingId")));
    json_decref(j);
    assert_int_equal(http(w, "GET", path, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "orderStatus")), "PENDING");
    assert_int_equal(json_array_size(json_object_get(j, "failureMessages")), 0);
    json_decref(j);
    assert_int_equal(os_it_scalar(&w->t, "SELECT count(*) FROM \"order\".order_items"), 2);
    assert_int_equal(os_it_scalar(&w->t, "SELECT (price * 100)::bigint FROM \"order\".orders"), 20000);

    expect_400(w, order_body(body, sizeof body, cust, "0", "150.00", "1000AB"),
               "Total price must be greater than zero!");
    expect_400(w, order_body(body, sizeof body, cust, "200.00", "149.99", "1000AB"),
               "Order item price: 50.00 is not valid for product " PROD);
    expect_400(w, order_body(body, sizeof body, cust, "210.00", "150.00", "1000AB"),
               "Total price: 210.00 is not equal to Order items total: 200.00!");
    expect_400(w, order_body(body, sizeof body, cust, "200.00", "150.00", "12345678901"),
               "address.postalCode must be at most 10 characters");
    expect_400(w, order_body(body, sizeof body, cust, "200.001", "150.00", "1000AB"),
               "price: 200.001 has more than 2 decimals");
    expect_400(w, "{\"customerId\":\"x\"}", "customerId must be a UUID");
    assert_int_equal(http(w, "POST", "/orders", "{nope", &j), 400);
    assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "malformed JSON"));
    json_decref(j);
    assert_int_equal(http(w, "POST", "/orders", "[1,2]", &j), 400);
    assert_string_equal(json_string_value(json_object_get(j, "detail")),
                        "request body must be a JSON object");
    json_decref(j);
    /* unknown customer: waits (800 ms here), then names the id */
    os_it_uuid(cust, 4242);
    long long t0 = ts_now_ms();
    expect_400(w, order_body(body, sizeof body, cust, "200", "150", "1000AB"),
               "Could not find customer with customer id: 00000000-0000-4000-8000-000000004242");
    assert_true(ts_now_ms() - t0 >= 750);
    assert_int_equal(http(w, "GET", "/orders/" REST, NULL, NULL), 404);
    assert_int_equal(http(w, "GET", "/orders/not-a-uuid", NULL, NULL), 400);
    assert_int_equal(http(w, "GET", "/customers/not-a-uuid", NULL, NULL), 400);
    assert_int_equal(http(w, "DELETE", "/orders", NULL, NULL), 405);
}

static void test_read_your_writes(void **state)
{
    world_t *w = *state;
    char cust[37], body[1024];
    for (long i = 0; i < 5; i++) {
        os_it_uuid(cust, 5000 + i);
        assert_int_equal(os_it_send(&w->t, cust, 1, "fresh", 0), 0);
        rd_kafka_poll(w->t.producer, 0);
        /* immediately: the customer is (most likely) not projected yet */
        assert_int_equal(
            http(w, "POST", "/orders", order_body(body, sizeof body, cust, "200", "150", "1000AB"), NULL),
            201);
    }
}

static void test_rebuild_while_reading(void **state)
{
    world_t *w = *state;
    char id[37], path[128];
    /* more data: 2000 customers with updates */
    long long want = os_it_scalar(&w->t, "SELECT count(*) FROM \"order\".customers") + 2000;
    for (long i = 100; i < 2100; i++) {
        os_it_uuid(id, i);
        os_it_send(&w->t, id, 1, "bulk", 0);
        if (i % 3 == 0)
            os_it_send(&w->t, id, 2, "bulk-v2", 0);
    }
    assert_int_equal(os_it_flush(&w->t), 0);
    assert_int_equal(os_it_wait_scalar(&w->t, "SELECT count(*) FROM \"order\".customers", want, 30000), want);
    ts_sleep_ms(300);
    char *before = os_it_text(&w->t, HASH_SQL);
    assert_non_null(before);

    const char *noauth[] = {NULL};
    ts_resp_t r;
    assert_int_equal(ts_http("POST", url(w, "/admin/rebuild-read-model"), "", 0, noauth, &r), 0);
    assert_int_equal(r.status, 401);
    ts_resp_free(&r);
    const char *bad[] = {"Authorization: Bearer wrong", NULL};
    assert_int_equal(ts_http("POST", url(w, "/admin/rebuild-read-model"), "", 0, bad, &r), 0);
    assert_int_equal(r.status, 401);
    ts_resp_free(&r);
    const char *auth[] = {"Authorization: Bearer it-secret", NULL};
    assert_int_equal(ts_http("POST", url(w, "/admin/rebuild-read-model"), "", 0, auth, &r), 0);
    assert_int_equal(r.status, 202);
    ts_resp_free(&r);
    /* reads keep working during the rebuild */
    int reads = 0, failures = 0;
    json_t *st = NULL;
    long long end = ts_now_ms() + 60000;
    const char *basic[] = {"Authorization: Basic YWRtaW46aXQtc2VjcmV0", NULL}; /* admin:it-secret */
    for (;;) {
        os_it_uuid(id, 100 + (reads % 2000));
        snprintf(path, sizeof path, "/customers/%s", id);
        if (http(w, "GET", path, NULL, NULL) != 200)
            failures++;
        reads++;
        if (reads % 20 == 0) {
            assert_int_equal(ts_http("GET", url(w, "/admin/rebuild-read-model"), NULL, 0, basic, &r), 0);
            assert_int_equal(r.status, 200);
            st = json_loads(r.body, 0, NULL);
            ts_resp_free(&r);
            const char *s = json_string_value(json_object_get(st, "state"));
            if (strcmp(s, "running") != 0)
                break;
            json_decref(st);
            st = NULL;
        }
        assert_true(ts_now_ms() < end);
    }
    char *dump = json_dumps(st, JSON_COMPACT);
    printf("rebuild: %s; %d reads during it, %d failed\n", dump, reads, failures);
    free(dump);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "succeeded");
    json_decref(st);
    assert_int_equal(failures, 0);
    char *after = os_it_text(&w->t, HASH_SQL);
    assert_non_null(after);
    assert_string_equal(before, after); /* identical table from an unchanged topic */
    free(before);
    free(after);
    assert_int_equal(
        os_it_scalar(
            &w->t,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'order' AND tablename LIKE 'customers_%'"),
        0);
    /* the projection goes on after the swap */
    os_it_uuid(id, 7777);
    assert_int_equal(os_it_send(&w->t, id, 1, "after-rebuild", 1), 0);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"order\".customers WHERE id = '%s'", id);
    assert_int_equal(os_it_wait_scalar(&w->t, sql, 1, 20000), 1);
}

/* ---- a rebuild while events keep flowing: the swap's catch-up under lock loses none ---- */
typedef struct flow {
    world_t *w;
    atomic_int stop;
    int64_t ver[2000]; /* customers 100..2099: the last version sent */
    long sent;
} flow_t;

static void *flow_main(void *arg)
{
    flow_t *f = arg;
    char id[37];
    long k = 0;
    while (!atomic_load(&f->stop)) {
        long c = (k * 7) % 2000;
        os_it_uuid(id, 100 + c);
        f->ver[c]++;
        if (os_it_send(&f->w->t, id, f->ver[c], "flowing", 0) != 0)
            break;
        f->sent++;
        if (++k % 20 == 0)
            ts_sleep_ms(2); /* ~5,000 events/s at most */
    }
    os_it_flush(&f->w->t);
    return NULL;
}

static json_t *rebuild_and_wait(world_t *w)
{
    const char *auth[] = {"Authorization: Bearer it-secret", NULL};
    ts_resp_t r;
    json_t *st = NULL;
    assert_int_equal(ts_http("POST", url(w, "/admin/rebuild-read-model"), "", 0, auth, &r), 0);
    assert_int_equal(r.status, 202);
    ts_resp_free(&r);
    long long end = ts_now_ms() + 60000;
    for (;;) {
        ts_sleep_ms(20);
        assert_int_equal(ts_http("GET", url(w, "/admin/rebuild-read-model"), NULL, 0, auth, &r), 0);
        st = json_loads(r.body, 0, NULL);
        ts_resp_free(&r);
        if (strcmp(json_string_value(json_object_get(st, "state")), "running") != 0)
            return st;
        json_decref(st);
        assert_true(ts_now_ms() < end);
    }
}

static void test_rebuild_while_events_flow(void **state)
{
    world_t *w = *state;
    static flow_t f;
    char sql[256];
    memset(&f, 0, sizeof f);
    f.w = w;
    for (long c = 0; c < 2000; c++)
        f.ver[c] = (100 + c) % 3 == 0 ? 2 : 1; /* as test_rebuild_while_reading left them */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, flow_main, &f), 0);
    ts_sleep_ms(300);
    json_t *st = rebuild_and_wait(w);
    ts_sleep_ms(300);
    atomic_store(&f.stop, 1);
    pthread_join(th, NULL);
    char *dump = json_dumps(st, JSON_COMPACT);
    printf("rebuild with events flowing (%ld sent meanwhile): %s\n", f.sent, dump);
    free(dump);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "succeeded");
    json_decref(st);
    long long want = 0;
    for (long c = 0; c < 2000; c++)
        want += f.ver[c];
    snprintf(sql, sizeof sql,
             "SELECT sum(version) FROM \"order\".customers WHERE id BETWEEN "
             "'00000000-0000-4000-8000-000000000100' AND '00000000-0000-4000-8000-000000002099'");
    long long got = os_it_wait_scalar(&w->t, sql, want, 30000);
    printf("sum of versions: live %lld, expected %lld\n", got, want);
    assert_int_equal(got, want);
    /* and a rebuild of the now-quiet topic equals the live table */
    ts_sleep_ms(300);
    char *before = os_it_text(&w->t, HASH_SQL);
    st = rebuild_and_wait(w);
    assert_string_equal(json_string_value(json_object_get(st, "state")), "succeeded");
    json_decref(st);
    char *after = os_it_text(&w->t, HASH_SQL);
    assert_non_null(before);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_sigterm_exit_0(void **state)
{
    world_t *w = *state;
    assert_int_equal(os_it_stop(w->pid), 0);
    w->pid = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_in_rows_out),
        cmocka_unit_test(test_versions_out_of_order),
        cmocka_unit_test(test_tombstone),
        cmocka_unit_test(test_poison_to_dlq),
        cmocka_unit_test(test_seed_schema_event),
        cmocka_unit_test(test_orders_api),
        cmocka_unit_test(test_read_your_writes),
        cmocka_unit_test(test_rebuild_while_reading),
        cmocka_unit_test(test_rebuild_while_events_flow),
        cmocka_unit_test(test_sigterm_exit_0),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
