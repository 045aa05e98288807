/* it_customer_badinput.c — hostile and malformed requests against the running
 * customer-service: each must get a 4xx application/problem+json whose detail names the
 * problem, and the database (customers and outbox) must be unchanged afterwards. Valid
 * but unusual input (quotes, SQL meta-characters, multi-byte UTF-8) must be stored
 * verbatim. Env: CQ_CUSTOMER_URL, CQ_PG_CONNINFO (the service's database). */
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

#include "cs_it.h"
#include "ts.h"

static long long db_count(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    long long n = PQresultStatus(r) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return n;
}

typedef struct bad {
    const char *method;
    const char *path;  /* appended to the base URL */
    const char *ctype; /* NULL → application/json */
    const char *body;  /* NULL → none */
    size_t len;        /* 0 → strlen(body) */
    long status;
    const char *needle; /* must appear in the problem's detail (or field) */
} bad_t;

#define ID0 "3fa85f64-5717-4562-b3fc-2c963f66afa6"

static const bad_t cases[] = {
    {"POST", "/customers", NULL, "{\"username\":\"x\",", 0, 400, "malformed JSON"},
    {"POST", "/customers", NULL, "not json at all", 0, 400, "malformed JSON"},
    {"POST", "/customers", NULL, "[1,2,3]", 0, 400, "JSON object"},
    {"POST", "/customers", NULL, "", 0, 400, "empty"},
    {"POST", "/customers", NULL, "{\"username\":5,\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 400,
     "username"},
    {"POST", "/customers", NULL, "{\"username\":\"u\",\"firstName\":true,\"lastName\":\"b\"}", 0, 400,
     "firstName"},
    {"POST", "/customers", NULL, "{\"username\":\"u\",\"firstName\":\"a\",\"lastName\":{}}", 0, 400,
     "lastName"},
    {"POST", "/customers", NULL, "{\"username\":\"u\",\"firstName\":\"a\"}", 0, 400, "lastName"},
    {"POST", "/customers", NULL, "{}", 0, 400, "username"},
    {"POST", "/customers", NULL, "{\"username\":\"\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 400,
     "username"},
    {"POST", "/customers", NULL, "{\"username\":\"   \",\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 400,
     "blank"},
    {"POST", "/customers", NULL,
     "{\"customerId\":\"12345\",\"username\":\"u\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 400,
     "customerId"},
    {"POST", "/customers", NULL,
     "{\"customerId\":\"3fa85f64-5717-4562-b3fc-2c963f66afa6'; DROP TABLE "
     "customer.customers;--\",\"username\":\"u\",\"firstName\":\"a\",\"lastName\":\"b\"}",
     0, 400, "customerId"},
    {"POST", "/customers", NULL,
     "{\"customerId\":42,\"username\":\"u\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 400, "customerId"},
    {"POST", "/customers", NULL, "{\"username\":\"a\\u0000b\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0,
     400, "JSON"},
    {"POST", "/customers", NULL, "{\"username\":\"a\\tb\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 400,
     "control"},
    {"POST", "/customers", NULL, "{\"username\":\"\xff\xfe\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 400,
     "JSON"},
    {"POST", "/customers", NULL,
     "{\"username\":\"u\",\"username\":\"v\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 400, "duplicate"},
    {"POST", "/customers", "text/plain", "{\"username\":\"u\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0,
     415, "Content-Type"},
    /* look-alikes of application/json are not JSON */
    {"POST", "/customers", "application/jsonx", "{\"username\":\"u\",\"firstName\":\"a\",\"lastName\":\"b\"}",
     0, 415, "Content-Type"},
    {"POST", "/customers", "application/json5", "{\"username\":\"u\",\"firstName\":\"a\",\"lastName\":\"b\"}",
     0, 415, "Content-Type"},
    {"POST", "/customers", "application/json-seq",
     "{\"username\":\"u\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 415, "Content-Type"},
    /* a path that decodes to invalid UTF-8: 404, and the body says 404 */
    {"GET", "/%ff%fe/default", NULL, NULL, 0, 404, "%ff%fe"},
    {"PUT", "/customers/not-a-uuid", NULL, "{\"username\":\"u\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0,
     400, "UUID"},
    {"PUT", "/customers/" ID0, NULL, "{\"username\":7}", 0, 400, "username"},
    {"PUT", "/customers/" ID0, NULL, "{\"username\":\"u\",\"firstName\":\"a\",\"lastName\":\"b\"}", 0, 404,
     ID0},
    {"GET", "/customers/" ID0 "x", NULL, NULL, 0, 400, "UUID"},
    {"GET", "/customers/%27%20OR%201=1--", NULL, NULL, 0, 400, "UUID"},
    {"DELETE", "/customers/" ID0, NULL, NULL, 0, 404, ID0},
    {"GET", "/customers", NULL, NULL, 0, 405, "POST"},
    {"PATCH", "/customers/" ID0, NULL, "{}", 0, 405, "PUT"},
    {"GET", "/nothing-here", NULL, NULL, 0, 404, "/nothing-here"},
};

static void t_bad(void **state)
{
    const char *base = ts_env("CQ_CUSTOMER_URL", "http://127.0.0.1:8184");
    PGconn *c = PQconnectdb(ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=5433 user=postgres dbname=cqrs"));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    long long n0 = db_count(c, "SELECT count(*) FROM customer.customers");
    long long o0 = db_count(c, "SELECT count(*) FROM customer.outbox");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_t *b = &cases[i];
        char url[512], ct[128], what[600];
        const char *hdrs[2] = {ct, NULL};
        ts_resp_t r = {0};
        snprintf(url, sizeof url, "%s%s", base, b->path);
        snprintf(ct, sizeof ct, "Content-Type: %s", b->ctype ? b->ctype : "application/json");
        snprintf(what, sizeof what, "case %zu: %s %s %.200s", i, b->method, b->path, b->body ? b->body : "");
        assert_int_equal(
            ts_http(b->method, url, b->body, b->body ? (b->len ? b->len : strlen(b->body)) : 0, hdrs, &r), 0);
        assert_int_equal(ts_problem_check(&r, b->status, b->needle, what), 0);
        ts_resp_free(&r);
    }
    /* Oversize body: 413. */
    {
        char url[512];
        ts_resp_t r = {0};
        snprintf(url, sizeof url, "%s/customers", base);
        assert_int_equal(ts_post_filled(url, 2 * 1024 * 1024, 'a', &r), 0);
        /* h2o itself answers bodies far above the limit (text/plain); the limit is what
         * matters here: 413 and nothing stored. */
        assert_int_equal(r.status, 413);
        ts_resp_free(&r);
    }
    /* Just above the configured limit (64 KiB by default): httpd's problem+json 413. */
    {
        char url[512];
        ts_resp_t r = {0};
        snprintf(url, sizeof url, "%s/customers", base);
        assert_int_equal(ts_post_filled(url, 70000, 'a', &r), 0);
        assert_int_equal(ts_problem_check(&r, 413, "exceeds", "oversize body"), 0);
        ts_resp_free(&r);
    }
    /* Too long (101 characters). */
    {
        char name[128], first[128];
        memset(name, 'n', 101);
        name[101] = '\0';
        snprintf(first, sizeof first, "f");
        assert_int_equal(cs_it_create(base, NULL, name, first, "l", NULL), 400);
    }
    assert_int_equal(db_count(c, "SELECT count(*) FROM customer.customers"), n0);
    assert_int_equal(db_count(c, "SELECT count(*) FROM customer.outbox"), o0);

    /* Unusual but valid input is stored verbatim. */
    {
        char id[37], user[96], url[512];
        const char *nasty = "Robert'); DROP TABLE customer.customers;-- \"\\ %_ $1 日本語 😀";
        ts_resp_t r = {0};
        snprintf(user, sizeof user, "bobby-%lld-Ω", ts_now_ms());
        assert_int_equal(cs_it_create(base, NULL, user, nasty, "Ñandú", id), 201);
        snprintf(url, sizeof url, "%s/customers/%s", base, id);
        assert_int_equal(ts_http("GET", url, NULL, 0, NULL, &r), 0);
        json_t *j = json_loads(r.body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "firstName")), nasty);
        assert_string_equal(json_string_value(json_object_get(j, "lastName")), "Ñandú");
        assert_string_equal(json_string_value(json_object_get(j, "username")), user);
        json_decref(j);
        ts_resp_free(&r);
        assert_int_equal(db_count(c, "SELECT count(*) FROM customer.customers"), n0 + 1);
        assert_int_equal(cs_it_delete(base, id), 204);
    }
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_bad)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
