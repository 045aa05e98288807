/* test_httpd.c — unit tests of common/httpd: starts a real server in-process on an
 * ephemeral 127.0.0.1 port and talks to it with libcurl (routing, 404/405/413 problem+json,
 * content_length/keep-alive on errors, headers, observe hook, drain with idle keep-alive,
 * a request in flight at stop time that still gets its answer, and a listening socket kept
 * past the stop and adopted by a second server, as a restart in place does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "dbuf.h"
#include "httpd.h"

typedef struct obs {
    atomic_int count;
    atomic_int last_status;
} obs_t;

static void observe(void *ctx, const char *route, const h2o_req_t *req, int status, uint64_t us)
{
    (void)route;
    (void)req;
    (void)us;
    obs_t *o = ctx;
    atomic_fetch_add(&o->count, 1);
    atomic_store(&o->last_status, status);
}

static int h_hello(void *ctx, h2o_req_t *req)
{
    (void)ctx;
    httpd_add_header(req, "X-Test", "yes");
    return httpd_send(req, 200, "text/plain", "hello", 5);
}

static int h_echo(void *ctx, h2o_req_t *req)
{
    (void)ctx;
    json_t *j = json_pack("{s:s%}", "body", req->entity.base ? req->entity.base : "", req->entity.len);
    return httpd_send_json(req, 201, j);
}

/* Answers what httpd_query_get made of ?name=… : "1:<value>", "0" (absent), "-1" (bad). */
static int h_query(void *ctx, h2o_req_t *req)
{
    char v[16], out[40];
    (void)ctx;
    int rc = httpd_query_get(req, "name", v, sizeof v);
    int n = rc > 0 ? snprintf(out, sizeof out, "1:%s", v) : snprintf(out, sizeof out, "%d", rc);
    return httpd_send(req, 200, "text/plain", out, (size_t)n);
}

static int h_fail(void *ctx, h2o_req_t *req)
{
    (void)ctx;
    (void)req;
    return -1;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

typedef struct resp {
    long status;
    dbuf_t body;
    dbuf_t hdrs;
    long new_conns;
} resp_t;

static void do_req(CURL *c, const char *method, int port, const char *path, const char *body, size_t blen,
                   resp_t *r)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    dbuf_init(&r->body, 1 << 20);
    dbuf_init(&r->hdrs, 1 << 16);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->hdrs);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->new_conns);
}

static void resp_free(resp_t *r)
{
    dbuf_free(&r->body);
    dbuf_free(&r->hdrs);
}

static httpd_t *start(obs_t *o, int threads)
{
    char err[256];
    httpd_opts_t opts = {.host = "127.0.0.1",
                         .port = 0,
                         .threads = threads,
                         .max_body = 1024,
                         .drain_ms = 3000,
                         .observe = observe,
                         .observe_ctx = o};
    httpd_t *s = httpd_new(&opts, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(httpd_route(s, "GET", "/hello", "hello", h_hello, NULL), 0);
    assert_int_equal(httpd_route(s, "POST", "/echo", "echo", h_echo, NULL), 0);
    assert_int_equal(httpd_route(s, "PUT", "/echo", "echo", h_echo, NULL), 0);
    assert_int_equal(httpd_route(s, NULL, "/fail", "fail", h_fail, NULL), 0);
    assert_int_equal(httpd_route(s, "GET", "/q", "q", h_query, NULL), 0);
    assert_int_equal(httpd_route_exact(s, "POST", "/items", "/items", h_echo, NULL), 0);
    assert_int_equal(httpd_route(s, "GET", "/items", "/items/{id}", h_hello, NULL), 0);
    assert_int_equal(httpd_start(s, err, sizeof(err)), 0);
    assert_true(httpd_port(s) > 0);
    return s;
}

static void test_routes_and_errors(void **state)
{
    (void)state;
    obs_t o = {0};
    httpd_t *s = start(&o, 2);
    int port = httpd_port(s);
    CURL *c = curl_easy_init();
    resp_t r;

    do_req(c, "GET", port, "/hello", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(dbuf_ptr(&r.body), "hello");
    assert_non_null(strcasestr(dbuf_ptr(&r.hdrs), "x-test: yes"));
    assert_non_null(strcasestr(dbuf_ptr(&r.hdrs), "content-length: 5"));
    assert_null(strcasestr(dbuf_ptr(&r.hdrs), "server:"));
    resp_free(&r);

    do_req(c, "GET", port, "/nope", NULL, 0, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strcasestr(dbuf_ptr(&r.hdrs), "application/problem+json"));
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"status\":404"));
    assert_int_equal(r.new_conns, 0); /* keep-alive survived the 200 → 404 */
    resp_free(&r);

    do_req(c, "DELETE", port, "/echo", NULL, 0, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strcasestr(dbuf_ptr(&r.hdrs), "allow: POST, PUT"));
    assert_int_equal(r.new_conns, 0);
    resp_free(&r);

    do_req(c, "POST", port, "/echo", "{\"a\":1}", 7, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(dbuf_ptr(&r.body), "{\"body\":\"{\\\"a\\\":1}\"}");
    resp_free(&r);

    char big[2000];
    memset(big, 'x', sizeof(big));
    do_req(c, "POST", port, "/echo", big, sizeof(big), &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"status\":413"));
    resp_free(&r);

    do_req(c, "GET", port, "/fail/x", NULL, 0, &r);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"status\":500"));
    resp_free(&r);

    do_req(c, "GET", port, "/hello/sub", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    do_req(c, "GET", port, "/helloX", NULL, 0, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);

    /* The observe hook runs after the response went out: the client can be a step ahead. */
    for (int i = 0; i < 200 && atomic_load(&o.count) < 8; i++) {
        struct timespec t = {0, 5 * 1000000L};
        nanosleep(&t, NULL);
    }
    assert_int_equal(atomic_load(&o.count), 8);
    assert_int_equal(atomic_load(&o.last_status), 404);
    curl_easy_cleanup(c);
    httpd_free(s);
}

/* An exact route ("/items" POST) and a template route ("/items/{id}" GET) on one prefix: each
 * serves only its own paths, and the 405 on the other names only the method that path has. */
static void test_route_shapes(void **state)
{
    static const struct {
        const char *method, *path;
        long status;
        const char *allow, *not_allowed; /* the 405's Allow header, a method it must not name */
    } cases[] = {
        {"POST", "/items", 201, NULL, NULL},
        {"GET", "/items/7", 200, NULL, NULL},
        {"GET", "/items", 405, "allow: POST\r", "GET"},
        {"OPTIONS", "/items", 405, "allow: POST\r", "GET"},
        {"POST", "/items/7", 405, "allow: GET\r", "POST"},
        {"OPTIONS", "/items/7", 405, "allow: GET\r", "POST"},
        {"GET", "/items/", 404, NULL, NULL},
        {"GET", "/itemsX", 404, NULL, NULL},
    };
    (void)state;
    obs_t o = {0};
    httpd_t *s = start(&o, 1);
    CURL *c = curl_easy_init();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_t r;
        int post = strcmp(cases[i].method, "POST") == 0;
        do_req(c, cases[i].method, httpd_port(s), cases[i].path, post ? "{}" : NULL, post ? 2 : 0, &r);
        assert_int_equal(r.status, cases[i].status);
        if (cases[i].allow != NULL)
            assert_non_null(strcasestr(dbuf_ptr(&r.hdrs), cases[i].allow));
        if (cases[i].not_allowed != NULL)
            assert_null(strstr(dbuf_ptr(&r.hdrs), cases[i].not_allowed));
        resp_free(&r);
    }
    curl_easy_cleanup(c);
    httpd_free(s);
}

/* httpd_query_get: the first parameter of that name, percent-decoded ('+' a space); absent;
 * a name that only starts like it; malformed %xx, an encoded NUL and an overlong value. */
static void test_query_get(void **state)
{
    static const char *const cases[][2] = {
        {"/q?name=abc", "1:abc"},
        {"/q?x=1&name=a%20b+c&name=second", "1:a b c"},
        {"/q?name=", "1:"},
        {"/q?name", "1:"},
        {"/q?names=x&xname=y", "0"},
        {"/q", "0"},
        {"/q?name=%2", "-1"},
        {"/q?name=%zz", "-1"},
        {"/q?name=a%00b", "-1"},
        {"/q?name=0123456789abcdef", "-1"},
        {"/q?name=%22W%2F3%22", "1:\"W/3\""},
    };
    (void)state;
    obs_t o = {0};
    httpd_t *s = start(&o, 1);
    CURL *c = curl_easy_init();
    resp_t r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        do_req(c, "GET", httpd_port(s), cases[i][0], NULL, 0, &r);
        assert_int_equal(r.status, 200);
        if (strcmp(dbuf_ptr(&r.body), cases[i][1]) != 0)
            fail_msg("%s: got '%s', wanted '%s'", cases[i][0], dbuf_ptr(&r.body), cases[i][1]);
        resp_free(&r);
    }
    curl_easy_cleanup(c);
    httpd_free(s);
}

/* Many loop threads woken at once, again and again: every stop messages all of them
 * together. Each loop's wake-up queue is read on its own thread into buffers of that
 * thread's allocator (httpd.c thread_setup says why); made on the starting thread, they
 * shared one unsynchronised recycle list and ASan saw a use-after-free at a SIGTERM. */
static void test_many_threads_start_stop(void **state)
{
    (void)state;
    CURL *c = curl_easy_init();
    for (int round = 0; round < 40; round++) {
        obs_t o = {0};
        httpd_t *s = start(&o, 8);
        resp_t r;
        do_req(c, "GET", httpd_port(s), "/hello", NULL, 0, &r); /* one keep-alive connection open */
        assert_int_equal(r.status, 200);
        resp_free(&r);
        httpd_free(s);
    }
    curl_easy_cleanup(c);
}

static void test_drain_closes_idle_keepalive(void **state)
{
    (void)state;
    obs_t o = {0};
    httpd_t *s = start(&o, 1);
    CURL *c = curl_easy_init();
    resp_t r;
    do_req(c, "GET", httpd_port(s), "/hello", NULL, 0, &r); /* leaves an idle keep-alive conn */
    assert_int_equal(r.status, 200);
    resp_free(&r);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    httpd_stop(s);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms < 1500); /* the idle connection did not hold the drain for req_timeout */
    curl_easy_cleanup(c);
    httpd_free(s);
}

static int h_slow(void *ctx, h2o_req_t *req)
{
    (void)ctx;
    struct timespec t = {0, 400 * 1000000L};
    nanosleep(&t, NULL); /* a request still being handled when the stop comes */
    return httpd_send(req, 200, "text/plain", "slow-done", 9);
}

typedef struct inflight {
    int port;
    resp_t r;
} inflight_t;

static void *inflight_client(void *arg)
{
    inflight_t *f = arg;
    CURL *c = curl_easy_init();
    do_req(c, "GET", f->port, "/slow", NULL, 0, &f->r);
    curl_easy_cleanup(c);
    return NULL;
}

/* SIGTERM's path: httpd_stop while a request is in flight lets it finish and answer. */
static void test_drain_finishes_in_flight(void **state)
{
    (void)state;
    char err[256];
    obs_t o = {0};
    httpd_opts_t opts = {
        .host = "127.0.0.1", .threads = 1, .drain_ms = 3000, .observe = observe, .observe_ctx = &o};
    httpd_t *s = httpd_new(&opts, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(httpd_route(s, "GET", "/slow", "slow", h_slow, NULL), 0);
    assert_int_equal(httpd_start(s, err, sizeof(err)), 0);
    inflight_t f = {.port = httpd_port(s)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, inflight_client, &f), 0);
    struct timespec t = {0, 150 * 1000000L};
    nanosleep(&t, NULL);
    httpd_stop(s);
    pthread_join(th, NULL);
    assert_int_equal(f.r.status, 200);
    assert_string_equal(dbuf_ptr(&f.r.body), "slow-done");
    resp_free(&f.r);
    assert_int_equal(atomic_load(&o.count), 1);
    httpd_free(s);
}

typedef struct late {
    int port;
    long status;
} late_t;

/* A client that connects while nothing accepts: its connection waits in the backlog. */
static void *late_client(void *arg)
{
    late_t *l = arg;
    resp_t r;
    CURL *c = curl_easy_init();
    do_req(c, "GET", l->port, "/hello", NULL, 0, &r);
    l->status = r.status;
    resp_free(&r);
    curl_easy_cleanup(c);
    return NULL;
}

/* A restart in place: the first server keeps its listening socket past httpd_stop, a
 * client connects while no server runs, and a second server adopting the socket answers
 * it on the same port: nothing refused. */
static void test_keep_and_adopt_listener(void **state)
{
    (void)state;
    char err[256];
    obs_t o = {0};
    httpd_t *a = start(&o, 2);
    int port = httpd_port(a);
    int fd = httpd_keep_listener(a);
    assert_true(fd > 2);
    httpd_stop(a);
    httpd_free(a);
    assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC); /* still open, not inherited */

    late_t l = {.port = port};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, late_client, &l), 0);
    struct timespec t = {0, 200 * 1000000L};
    nanosleep(&t, NULL);
    assert_int_equal(l.status, 0); /* waiting in the backlog */

    httpd_opts_t opts = {.host = "127.0.0.1", .threads = 1, .adopt_fd = fd};
    httpd_t *b = httpd_new(&opts, err, sizeof(err));
    assert_non_null(b);
    assert_int_equal(httpd_route(b, "GET", "/hello", "hello", h_hello, NULL), 0);
    assert_int_equal(httpd_start(b, err, sizeof(err)), 0);
    assert_int_equal(httpd_port(b), port);
    pthread_join(th, NULL);
    assert_int_equal(l.status, 200);
    httpd_free(b);
    assert_int_equal(fcntl(fd, F_GETFD), -1); /* the adopting server closed it */

    /* a socket that does not listen is refused (and closed) */
    int nl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(nl > 2);
    opts.adopt_fd = nl;
    b = httpd_new(&opts, err, sizeof(err));
    assert_non_null(b);
    assert_int_equal(httpd_start(b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a listening TCP socket"));
    assert_int_equal(fcntl(nl, F_GETFD), -1);
    httpd_free(b);
}

static void test_stop_before_start(void **state)
{
    (void)state;
    char err[128];
    httpd_opts_t opts = {.host = "127.0.0.1"};
    httpd_t *s = httpd_new(&opts, err, sizeof(err));
    assert_non_null(s);
    httpd_stop(s);
    httpd_free(s);
    httpd_free(NULL);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_errors),        cmocka_unit_test(test_drain_closes_idle_keepalive),
        cmocka_unit_test(test_drain_finishes_in_flight), cmocka_unit_test(test_keep_and_adopt_listener),
        cmocka_unit_test(test_stop_before_start),        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_many_threads_start_stop),  cmocka_unit_test(test_route_shapes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
