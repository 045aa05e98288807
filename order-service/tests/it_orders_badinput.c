/* it_orders_badinput.c — hostile and malformed requests against the running order-service
 * (the ctest `services` fixture, backed by the real read model): each must get a 4xx
 * application/problem+json whose detail names the problem, and nothing stored changes —
 * no order, item or address row is added, and the read model's customer is untouched.
 * Unusual but valid input (quotes, SQL meta-characters, multi-byte UTF-8) is stored
 * verbatim. Env: CQ_ORDER_URL, CQ_CUSTOMER_URL, CQ_PG_CONNINFO (the services' database).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <uuid/uuid.h>

#include "ts.h"

typedef struct bad {
    const char *method;
    const char *path;  /* appended to the base URL; {C} and {R} are replaced */
    const char *ctype; /* NULL → application/json */
    const char *body;  /* NULL → none; {C} = a customer in the read model, {R} = another UUID */
    long status;
    const char *needle; /* must appear in the problem's detail */
} bad_t;

#define ITEMS "\"items\":[{\"productId\":\"{R}\",\"quantity\":1,\"price\":200,\"subTotal\":200.00}]"
#define ADDR "\"address\":{\"street\":\"s\",\"postalCode\":\"1000AB\",\"city\":\"c\"}"
#define HEAD "\"customerId\":\"{C}\",\"restaurantId\":\"{R}\""
#define ITEM(q, p, s)                                                                                        \
    "\"items\":[{\"productId\":\"{R}\",\"quantity\":" q ",\"price\":" p ",\"subTotal\":" s "}]"

static const bad_t cases[] = {
    {"POST", "/orders", NULL, "{nope", 400, "malformed JSON"},
    {"POST", "/orders", NULL, "[1,2]", 400, "must be a JSON object"},
    {"POST", "/orders", NULL, "", 400, "request body is required"},
    {"POST", "/orders", "text/plain", "{" HEAD ",\"price\":200," ITEMS "," ADDR "}", 415, "Content-Type"},
    {"POST", "/orders", "application/jsonx", "{" HEAD ",\"price\":200," ITEMS "," ADDR "}", 415,
     "Content-Type"},
    {"POST", "/orders", "application/json5", "{" HEAD ",\"price\":200," ITEMS "," ADDR "}", 415,
     "Content-Type"},
    {"POST", "/orders", "application/json-seq", "{" HEAD ",\"price\":200," ITEMS "," ADDR "}", 415,
     "Content-Type"},
    {"GET", "/%ff%fe/default", NULL, NULL, 404, "%ff%fe"},
    {"POST", "/orders", NULL, "{\"restaurantId\":\"{R}\",\"price\":200," ITEMS "," ADDR "}", 400,
     "customerId is required"},
    {"POST", "/orders", NULL, "{\"customerId\":5,\"restaurantId\":\"{R}\",\"price\":200," ITEMS "," ADDR "}",
     400, "customerId must be a UUID"},
    {"POST", "/orders", NULL,
     "{\"customerId\":\"{C}'; DELETE FROM "
     "\\\"order\\\".customers;--\",\"restaurantId\":\"{R}\",\"price\":200," ITEMS "," ADDR "}",
     400, "customerId must be a UUID"},
    {"POST", "/orders", NULL, "{\"customerId\":\"{C}\",\"price\":200," ITEMS "," ADDR "}", 400,
     "restaurantId is required"},
    {"POST", "/orders", NULL,
     "{\"customerId\":\"{C}\",\"restaurantId\":\"r1\",\"price\":200," ITEMS "," ADDR "}", 400,
     "restaurantId must be a UUID"},
    {"POST", "/orders", NULL, "{" HEAD "," ITEMS "," ADDR "}", 400, "price is required"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":\"abc\"," ITEMS "," ADDR "}", 400, "not a valid amount"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":true," ITEMS "," ADDR "}", 400, "price"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":0," ITEMS "," ADDR "}", 400,
     "Total price must be greater than zero!"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":-200," ITEMS "," ADDR "}", 400,
     "Total price must be greater than zero!"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":200.001," ITEMS "," ADDR "}", 400, "more than 2 decimals"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":1e20," ITEMS "," ADDR "}", 400, "out of range"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":210," ITEMS "," ADDR "}", 400,
     "Total price: 210.00 is not equal to Order items total: 200.00!"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":200," ADDR "}", 400, "items is required"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":200,\"items\":[]," ADDR "}", 400,
     "is not equal to Order items total: 0.00!"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":200,\"items\":[5]," ADDR "}", 400,
     "items[0] must be an object"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":200," ITEM("0", "200", "0") "," ADDR "}", 400,
     "Order item quantity: 0 is not valid"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":300," ITEM("1.5", "200", "300") "," ADDR "}", 400,
     "items[0].quantity must be an integer"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":200," ITEM("1", "150", "200") "," ADDR "}", 400,
     "Order item price: 150.00 is not valid for product"},
    {"POST", "/orders", NULL,
     "{" HEAD ",\"price\":200," ITEM("99999999999999999999", "200", "200") "," ADDR "}", 400,
     "too big integer"},
    {"POST", "/orders", NULL,
     "{" HEAD
     ",\"price\":200,\"items\":[{\"productId\":\"p\",\"quantity\":1,\"price\":200,\"subTotal\":200}]," ADDR
     "}",
     400, "items[0].productId must be a UUID"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":200," ITEMS "}", 400, "address is required"},
    {"POST", "/orders", NULL,
     "{" HEAD ",\"price\":200," ITEMS ",\"address\":{\"postalCode\":\"1\",\"city\":\"c\"}}", 400,
     "address.street is required"},
    {"POST", "/orders", NULL,
     "{" HEAD ",\"price\":200," ITEMS
     ",\"address\":{\"street\":\"s\",\"postalCode\":\"12345678901\",\"city\":\"c\"}}",
     400, "address.postalCode must be at most 10 characters"},
    {"POST", "/orders", NULL,
     "{" HEAD ",\"price\":200," ITEMS
     ",\"address\":{\"street\":\"a\\u0000b\",\"postalCode\":\"1\",\"city\":\"c\"}}",
     400, "malformed JSON"},
    {"POST", "/orders", NULL,
     "{" HEAD ",\"price\":200," ITEMS
     ",\"address\":{\"street\":\"\xff\xfe\",\"postalCode\":\"1\",\"city\":\"c\"}}",
     400, "malformed JSON"},
    {"POST", "/orders", NULL, "{" HEAD ",\"price\":200,\"price\":100," ITEMS "," ADDR "}", 400, "duplicate"},
    {"GET", "/orders/not-a-uuid", NULL, NULL, 400, "UUID"},
    {"GET", "/orders/{R}", NULL, NULL, 404, "{R}"},
    {"GET", "/customers/%27%20OR%201=1--", NULL, NULL, 400, "UUID"},
    {"GET", "/customers/{R}", NULL, NULL, 404, "{R}"},
    {"PUT", "/orders", NULL, "{}", 405, "POST"},
    {"DELETE", "/customers/{C}", NULL, NULL, 405, "GET"},
};

/* Copies `in` into out (malloc'ed) with {C} → c and {R} → r. */
static char *expand(const char *in, const char *c, const char *r)
{
    size_t cap = strlen(in) * 2 + 64, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (const char *p = in; *p != '\0';) {
        const char *v = strncmp(p, "{C}", 3) == 0 ? c : strncmp(p, "{R}", 3) == 0 ? r : NULL;
        size_t len = v ? strlen(v) : 1;
        if (n + len + 1 > cap) {
            cap = (n + len + 1) * 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        memcpy(out + n, v ? v : p, len);
        n += len;
        p += v ? 3 : 1;
    }
    out[n] = '\0';
    return out;
}

static long long db_count(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long n = PQresultStatus(r) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return n;
}

static void new_uuid(char out[37])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

/* Creates a customer on customer-service and waits for it in order-service's read model. */
static void customer_in_read_model(const char *cust_url, const char *order_url, const char *id)
{
    char url[512], body[256];
    const char *hdrs[2] = {"Content-Type: application/json", NULL};
    ts_resp_t r = {0};
    snprintf(url, sizeof url, "%s/customers", cust_url);
    snprintf(body, sizeof body,
             "{\"customerId\":\"%s\",\"username\":\"badorder-%s\",\"firstName\":\"B\",\"lastName\":\"O\"}",
             id, id);
    assert_int_equal(ts_http("POST", url, body, strlen(body), hdrs, &r), 0);
    assert_int_equal(r.status, 201);
    ts_resp_free(&r);
    snprintf(url, sizeof url, "%s/customers/%s", order_url, id);
    long st = 0;
    for (int i = 0; i < 200 && (st = ts_http_status(url)) != 200; i++)
        ts_sleep_ms(50);
    assert_int_equal(st, 200);
}

#define COUNTS_SQL                                                                                           \
    "SELECT (SELECT count(*) FROM \"order\".orders) * 1000000 + (SELECT count(*) FROM "                      \
    "\"order\".order_items) "                                                                                \
    "* 1000 + (SELECT count(*) FROM \"order\".order_address)"

static void t_bad(void **state)
{
    (void)state;
    const char *base = ts_env("CQ_ORDER_URL", "http://127.0.0.1:8181");
    PGconn *pg = PQconnectdb(ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=5433 user=postgres dbname=cqrs"));
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    char cust[37], other[37], sql[256];
    new_uuid(cust);
    new_uuid(other);
    customer_in_read_model(ts_env("CQ_CUSTOMER_URL", "http://127.0.0.1:8184"), base, cust);
    snprintf(sql, sizeof sql,
             "SELECT version * 1000 + length(username) FROM \"order\".customers WHERE id = '%s'", cust);
    long long row0 = db_count(pg, sql);
    long long counts0 = db_count(pg, COUNTS_SQL);
    assert_true(row0 > 0 && counts0 >= 0);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_t *b = &cases[i];
        char url[512], ct[128], what[700];
        const char *hdrs[2] = {ct, NULL};
        ts_resp_t r = {0};
        char *path = expand(b->path, cust, other);
        char *body = b->body ? expand(b->body, cust, other) : NULL;
        char *needle = expand(b->needle, cust, other);
        snprintf(url, sizeof url, "%s%s", base, path);
        snprintf(ct, sizeof ct, "Content-Type: %s", b->ctype ? b->ctype : "application/json");
        snprintf(what, sizeof what, "case %zu: %s %s %.300s", i, b->method, path, body ? body : "");
        assert_int_equal(ts_http(b->method, url, body, body ? strlen(body) : 0, hdrs, &r), 0);
        assert_int_equal(ts_problem_check(&r, b->status, needle, what), 0);
        ts_resp_free(&r);
        free(path);
        free(body);
        free(needle);
    }
    /* Over the body limit (64 KiB): 413 problem+json. */
    {
        char url[512];
        ts_resp_t r = {0};
        snprintf(url, sizeof url, "%s/orders", base);
        assert_int_equal(ts_post_filled(url, 70000, ' ', &r), 0);
        assert_int_equal(ts_problem_check(&r, 413, "exceeds", "oversize body"), 0);
        ts_resp_free(&r);
    }
    assert_int_equal(db_count(pg, COUNTS_SQL), counts0);
    assert_int_equal(db_count(pg, sql), row0);

    /* Unusual but valid input is stored verbatim. */
    {
        static const char street[] = "Robert'); DROP TABLE \\\"order\\\".orders;-- 日本語 😀";
        static const char stored[] = "Robert'); DROP TABLE \"order\".orders;-- 日本語 😀";
        char body[1024], url[512], q[256];
        const char *hdrs[2] = {"Content-Type: application/json", NULL};
        ts_resp_t r = {0};
        snprintf(
            body, sizeof body,
            "{\"customerId\":\"%s\",\"restaurantId\":\"%s\",\"price\":\"200.00\",\"items\":[{\"productId\":"
            "\"%s\",\"quantity\":2,\"price\":100,\"subTotal\":200}],\"address\":{\"street\":\"%s\","
            "\"postalCode\":\"Ñ-1\",\"city\":\"Zürich\"}}",
            cust, other, other, street);
        snprintf(url, sizeof url, "%s/orders", base);
        assert_int_equal(ts_http("POST", url, body, strlen(body), hdrs, &r), 0);
        assert_int_equal(r.status, 201);
        json_t *j = json_loads(r.body, 0, NULL);
        const char *tid = json_string_value(json_object_get(j, "orderTrackingId"));
        assert_non_null(tid);
        snprintf(
            q, sizeof q,
            "SELECT a.street FROM \"order\".order_address a JOIN \"order\".orders o ON o.id = a.order_id "
            "WHERE o.tracking_id = '%s'",
            tid);
        PGresult *res = PQexec(pg, q);
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(res), 1);
        assert_string_equal(PQgetvalue(res, 0, 0), stored);
        PQclear(res);
        json_decref(j);
        ts_resp_free(&r);
    }
    PQfinish(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_bad)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
