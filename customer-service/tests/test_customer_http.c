/* test_customer_http.c — the HTTP layer (JSON <-> commands, status codes, problem+json,
 * headers) with the application wired to in-memory fake ports, beside health and metrics
 * (common/svc/svc.h) wired as main.c wires them. The server runs in-process on an ephemeral
 * loopback port; no database, no Kafka. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "fake_ports.h"
#include "http/customer_http.h"
#include "svc.h"
#include "ts.h"

typedef struct hx {
    fx_t *fx;
    metrics_t *m;
    customer_http_t http;
    svc_check_t checks[2];
    svc_http_t sh;
    httpd_t *srv;
    clog_t log;
    int db_up, kafka_up;
    char base[64];
} hx_t;

static int h_db(void *self)
{
    return ((hx_t *)self)->db_up;
}
static int h_kafka(void *self)
{
    return ((hx_t *)self)->kafka_up;
}

static int setup(void **state)
{
    hx_t *h = calloc(1, sizeof *h);
    httpd_opts_t o = {0};
    clog_init(&h->log, "test", "error", stderr);
    h->fx = fx_new();
    h->m = metrics_new();
    h->db_up = h->kafka_up = 1;
    h->http = (customer_http_t){&h->fx->app, &h->log};
    h->checks[0] = (svc_check_t){"db", h_db, h, 0};
    h->checks[1] = (svc_check_t){"kafka", h_kafka, h, 1}; /* as main.c: shown, not required */
    h->sh = (svc_http_t){.metrics = h->m, .checks = h->checks, .n_checks = 2};
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    o.max_body = 4096;
    o.log = &h->log;
    h->srv = svc_http_start(&o, &h->sh, customer_http_register, &h->http);
    assert_non_null(h->srv);
    snprintf(h->base, sizeof h->base, "http://127.0.0.1:%d", httpd_port(h->srv));
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    hx_t *h = *state;
    httpd_free(h->srv);
    metrics_free(h->m);
    free(h->fx);
    free(h);
    return 0;
}

static json_t *req(hx_t *h, const char *method, const char *path, const char *body, const char *extra_hdr,
                   long want, ts_resp_t *keep)
{
    char url[256];
    const char *hdrs[3] = {"Content-Type: application/json", extra_hdr, NULL};
    ts_resp_t r = {0};
    json_t *j;
    snprintf(url, sizeof url, "%s%s", h->base, path);
    assert_int_equal(ts_http(method, url, body, body ? strlen(body) : 0, hdrs, &r), 0);
    if (r.status != want)
        fprintf(stderr, "%s %s → %ld %s\n", method, path, r.status, r.body);
    assert_int_equal(r.status, want);
    j = json_loads(r.body, 0, NULL);
    if (keep)
        *keep = r;
    else
        ts_resp_free(&r);
    return j;
}

#define ID "3fa85f64-5717-4562-b3fc-2c963f66afa6"

static void t_crud(void **state)
{
    hx_t *h = *state;
    ts_resp_t r;
    json_t *j = req(h, "POST", "/customers",
                    "{\"customerId\":\"" ID "\",\"username\":\"u\",\"firstName\":\"F\",\"lastName\":\"L\"}",
                    NULL, 201, &r);
    assert_string_equal(json_string_value(json_object_get(j, "customerId")), ID);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "Customer saved successfully!");
    char *loc = ts_resp_header(&r, "location"), *etag = ts_resp_header(&r, "etag");
    assert_string_equal(loc, "/customers/" ID);
    assert_string_equal(etag, "\"1\"");
    free(loc);
    free(etag);
    ts_resp_free(&r);
    json_decref(j);

    j = req(h, "POST", "/customers",
            "{\"username\":\"u2\",\"firstName\":\"F\",\"lastName\":\"L\",\"customerId\":null}", NULL, 201,
            NULL);
    assert_string_equal(json_string_value(json_object_get(j, "customerId")),
                        "00000000-0000-4000-8000-000000000001");
    json_decref(j);

    j = req(h, "GET", "/customers/" ID, NULL, NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "firstName")), "F");
    assert_non_null(json_string_value(json_object_get(j, "createdAt")));
    json_decref(j);

    j = req(h, "PUT", "/customers/" ID, "{\"username\":\"u\",\"firstName\":\"G\",\"lastName\":\"L\"}",
            "If-Match: \"1\"", 200, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
    json_decref(j);
    json_decref(req(h, "PUT", "/customers/" ID, "{\"username\":\"u\",\"firstName\":\"G\",\"lastName\":\"L\"}",
                    "If-Match: 1", 412, NULL));
    json_decref(req(h, "PUT", "/customers/" ID,
                    "{\"username\":\"u2\",\"firstName\":\"G\",\"lastName\":\"L\"}", NULL, 409, NULL));
    j = req(h, "PUT", "/customers/" ID,
            "{\"customerId\":\"00000000-0000-4000-8000-000000000001\",\"username\":\"u\",\"firstName\":\"G\","
            "\"lastName\":\"L\"}",
            NULL, 400, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "customerId");
    json_decref(j);
    json_decref(req(h, "PUT", "/customers/" ID, "{}", "If-Match: banana", 400, NULL));
    json_decref(req(h, "DELETE", "/customers/" ID, NULL, NULL, 204, NULL));
    json_decref(req(h, "GET", "/customers/" ID, NULL, NULL, 404, NULL));
    assert_int_equal(h->fx->repo.nout, 4); /* created ×2, updated, tombstone */
    assert_true(h->fx->repo.outbox[3].tombstone);
}

static void t_errors(void **state)
{
    hx_t *h = *state;
    json_t *j = req(h, "POST", "/customers", "{\"username\":\"u\",\"firstName\":[],\"lastName\":\"L\"}", NULL,
                    400, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "firstName");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
    json_decref(j);
    json_decref(req(h, "POST", "/customers", "{\"username\":", NULL, 400, NULL));
    json_decref(req(h, "POST", "/customers/" ID, "{}", NULL, 405, NULL));
    json_decref(req(h, "GET", "/customers/" ID "/x", NULL, NULL, 404, NULL));
    char big[5000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_decref(req(h, "POST", "/customers", big, NULL, 413, NULL));
    h->fx->repo.force = REPO_UNAVAILABLE;
    json_decref(req(h, "POST", "/customers", "{\"username\":\"z\",\"firstName\":\"F\",\"lastName\":\"L\"}",
                    NULL, 503, NULL));
    h->fx->repo.force = REPO_OK;
    assert_int_equal(h->fx->repo.nout, 0);
}

static void t_ops(void **state)
{
    hx_t *h = *state;
    ts_resp_t r;
    json_decref(req(h, "GET", "/health/liveness", NULL, NULL, 200, NULL));
    json_t *j = req(h, "GET", "/health/readiness", NULL, NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "UP");
    json_decref(j);
    h->kafka_up = 0;
    j = req(h, "GET", "/health/readiness", NULL, NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "components"), "kafka"), "status")),
                        "DOWN");
    json_decref(j);
    h->db_up = 0;
    json_decref(req(h, "GET", "/health/readiness", NULL, NULL, 503, NULL));
    h->db_up = 1;
    req(h, "GET", "/metrics", NULL, NULL, 200, &r);
    assert_non_null(
        strstr(r.body, "http_requests_total{method=\"GET\",route=\"/health/readiness\",status=\"503\"} 1"));
    ts_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(t_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(t_ops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
