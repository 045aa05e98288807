/* test_cfgcli_watch.c — unit tests of the config client's watcher (common/cfgcli_watch.c)
 * against a fake config-server in-process (common/httpd on an ephemeral port) that follows
 * the watch contract: ETag + If-None-Match, ?wait= held until the document changes or the
 * wait ends (304), X-Config-Watch-Max on every answer — or, switched off, a server without
 * watches (conditional GETs only). Covered: a change delivered from a held long poll, the
 * poll fallback (304s not delivered), failover past a dead URL, Basic auth (and a 401 kept
 * on the status, never delivered), an answer that is no configuration, recovery after 503s,
 * a stop that does not wait for a held request, and no busy loop against a server that
 * answers long polls 304 at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "cfgcli.h"
#include "httpd.h"

/* ---- the fake server ---- */

typedef struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int gen;          /* the document's generation: version "v<gen>", ETag "e<gen>" */
    int watch_max;    /* > 0: offers watches (the header and ?wait=); 0: a server without them */
    int fail_503;     /* > 0: answer that many requests 503 */
    int broken;       /* 1: answer 200 with an Environment the client cannot use */
    int quick304;     /* 1: answer a long poll 304 at once (a server going away does) */
    const char *auth; /* "Basic …" the server wants, or NULL */
    int stopping;
    atomic_int requests, holds;
    httpd_t *srv;
} fake_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int send_doc(fake_t *f, h2o_req_t *req, int gen)
{
    char body[512], etag[32], max[16];
    snprintf(etag, sizeof etag, "\"e%d\"", gen);
    httpd_add_header(req, "ETag", etag);
    if (f->watch_max > 0) {
        snprintf(max, sizeof max, "%d", f->watch_max);
        httpd_add_header(req, "X-Config-Watch-Max", max);
    }
    if (f->broken)
        snprintf(body, sizeof body,
                 "{\"name\":\"app\",\"version\":\"v%d\",\"propertySources\":[{\"name\":\"x\"}]}", gen);
    else
        snprintf(
            body, sizeof body,
            "{\"name\":\"app\",\"profiles\":[\"test\"],\"label\":null,\"version\":\"v%d\",\"state\":null,"
            "\"propertySources\":[{\"name\":\"file:repo/app.yml\",\"source\":{\"gen\":%d}}]}",
            gen, gen);
    return httpd_send(req, 200, "application/json", body, strlen(body));
}

static int h_env(void *ctx, h2o_req_t *req)
{
    fake_t *f = ctx;
    char etag[32];
    const char *inm = httpd_header(req, "if-none-match");
    const char *q = httpd_query(req);
    const char *w = strstr(q, "wait=");
    long wait_ms = (w != NULL && f->watch_max > 0) ? strtol(w + 5, NULL, 10) * 1000 : 0;
    atomic_fetch_add(&f->requests, 1);
    if (f->auth != NULL) {
        const char *a = httpd_header(req, "authorization");
        if (a == NULL || strcmp(a, f->auth) != 0)
            return httpd_send_problem(req, 401, "Unauthorized", "bad credentials");
    }
    pthread_mutex_lock(&f->mu);
    if (f->fail_503 > 0) {
        f->fail_503--;
        pthread_mutex_unlock(&f->mu);
        return httpd_send_problem(req, 503, "Service Unavailable", "a file of the repo is broken");
    }
    int gen = f->gen;
    snprintf(etag, sizeof etag, "\"e%d\"", gen);
    if (inm != NULL && strcmp(inm, etag) == 0 && wait_ms > 0 && !f->quick304) {
        /* held (this fake spends a loop thread on it; the real server does not) */
        long long end = now_ms() + wait_ms;
        atomic_fetch_add(&f->holds, 1);
        while (f->gen == gen && !f->stopping && now_ms() < end) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&f->cv, &f->mu, &ts);
        }
        atomic_fetch_sub(&f->holds, 1);
        gen = f->gen;
        snprintf(etag, sizeof etag, "\"e%d\"", gen);
    }
    pthread_mutex_unlock(&f->mu);
    if (inm != NULL && strcmp(inm, etag) == 0) {
        char max[16];
        httpd_add_header(req, "ETag", etag);
        if (f->watch_max > 0) {
            snprintf(max, sizeof max, "%d", f->watch_max);
            httpd_add_header(req, "X-Config-Watch-Max", max);
        }
        return httpd_send(req, 304, NULL, "", 0);
    }
    return send_doc(f, req, gen);
}

static fake_t *fake_start(int watch_max)
{
    char err[256];
    fake_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->gen = 1;
    f->watch_max = watch_max;
    httpd_opts_t o = {.host = "127.0.0.1", .threads = 4, .drain_ms = 2000};
    f->srv = httpd_new(&o, err, sizeof err);
    assert_non_null(f->srv);
    assert_int_equal(httpd_route(f->srv, "GET", "/app", "env", h_env, f), 0);
    assert_int_equal(httpd_start(f->srv, err, sizeof err), 0);
    return f;
}

static void fake_bump(fake_t *f)
{
    pthread_mutex_lock(&f->mu);
    f->gen++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void fake_stop(fake_t *f)
{
    pthread_mutex_lock(&f->mu);
    f->stopping = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    httpd_free(f->srv);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---- the service's side: what the callback saw ---- */

typedef struct seen {
    pthread_mutex_t mu;
    int n, errors;
    int last_gen;
    char version[32];
    char error[512];
} seen_t;

static void on_cfg(void *ud, cfgcli_t *cfg, const char *error)
{
    seen_t *s = ud;
    char err[128];
    pthread_mutex_lock(&s->mu);
    if (cfg == NULL) {
        s->errors++;
        snprintf(s->error, sizeof s->error, "%s", error ? error : "?");
    } else {
        s->n++;
        assert_int_equal(cfgcli_get_int(cfg, "gen", -1, &s->last_gen, err, sizeof err), 0);
        snprintf(s->version, sizeof s->version, "%s", cfgcli_version(cfg));
    }
    pthread_mutex_unlock(&s->mu);
    cfgcli_free(cfg);
}

static int seen_n(seen_t *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Waits (bounded) until the callback got `n` configurations. */
static int wait_seen(seen_t *s, int n, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    while (seen_n(s) < n && now_ms() < end)
        sleep_ms(10);
    return seen_n(s) >= n ? 0 : -1;
}

static void opts_for(cfgcli_opts_t *o, const char *urls)
{
    static char *const empty_env[] = {NULL};
    cfgcli_opts_init(o, "app");
    snprintf(o->urls, sizeof o->urls, "%s", urls);
    snprintf(o->profiles, sizeof o->profiles, "test");
    o->envp = empty_env;
    o->attempts = 1;
    o->initial_backoff_ms = 20;
    o->max_backoff_ms = 100;
    o->connect_timeout_ms = 1000;
    o->request_timeout_ms = 2000;
}

static void url_of(const fake_t *f, char *out, size_t len)
{
    snprintf(out, len, "http://127.0.0.1:%d", httpd_port(f->srv));
}

/* ---- tests ---- */

static void test_long_poll_delivers_change(void **state)
{
    (void)state;
    fake_t *f = fake_start(5);
    seen_t s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cfgcli_opts_t o;
    char url[64], err[512];
    url_of(f, url, sizeof url);
    opts_for(&o, url);
    o.watch_wait_s = 30; /* the server caps it at 5 */
    cfgcli_t *cur = cfgcli_fetch(&o, NULL, err, sizeof err);
    assert_non_null(cur);
    assert_string_equal(cfgcli_etag(cur), "\"e1\"");
    assert_int_equal(cfgcli_watch_max(cur), 5);
    cfgcli_watch_t *w = cfgcli_watch_start(&o, cur, on_cfg, &s, NULL, err, sizeof err);
    assert_non_null(w);
    sleep_ms(600);
    assert_int_equal(seen_n(&s), 0);             /* nothing changed: nothing delivered */
    assert_int_equal(atomic_load(&f->holds), 1); /* one request held, not a stream of them */
    assert_true(atomic_load(&f->requests) <= 2);
    long long t0 = now_ms();
    fake_bump(f);
    assert_int_equal(wait_seen(&s, 1, 3000), 0);
    long long took = now_ms() - t0;
    printf("long poll: change delivered after %lld ms\n", took);
    assert_int_equal(s.last_gen, 2);
    assert_string_equal(s.version, "v2");
    fake_bump(f);
    assert_int_equal(wait_seen(&s, 2, 3000), 0);
    assert_int_equal(s.last_gen, 3);
    json_t *st = cfgcli_watch_status(w);
    assert_string_equal(json_string_value(json_object_get(st, "mode")), "long-poll");
    json_decref(st);
    cfgcli_watch_stop(w);
    cfgcli_free(cur);
    fake_stop(f);
}

static void test_poll_fallback(void **state)
{
    (void)state;
    fake_t *f = fake_start(0);
    seen_t s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cfgcli_opts_t o;
    char url[64], err[512];
    url_of(f, url, sizeof url);
    opts_for(&o, url);
    o.watch_interval_ms = 100;
    cfgcli_t *cur = cfgcli_fetch(&o, NULL, err, sizeof err);
    assert_non_null(cur);
    assert_int_equal(cfgcli_watch_max(cur), -1);
    cfgcli_watch_t *w = cfgcli_watch_start(&o, cur, on_cfg, &s, NULL, err, sizeof err);
    assert_non_null(w);
    sleep_ms(650);
    int req = atomic_load(&f->requests);
    assert_true(req >= 1 + 3 && req <= 1 + 9); /* the fetch, then about one GET per 100 ms */
    assert_int_equal(seen_n(&s), 0);           /* 304s are not handed on */
    fake_bump(f);
    assert_int_equal(wait_seen(&s, 1, 3000), 0);
    assert_int_equal(s.last_gen, 2);
    json_t *st = cfgcli_watch_status(w);
    assert_string_equal(json_string_value(json_object_get(st, "mode")), "poll");
    json_decref(st);
    cfgcli_watch_stop(w);
    cfgcli_free(cur);
    fake_stop(f);
}

static void test_failover_and_no_start_config(void **state)
{
    (void)state;
    fake_t *f = fake_start(5);
    seen_t s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cfgcli_opts_t o;
    char urls[160], err[512];
    /* port 1: nothing listens there */
    snprintf(urls, sizeof urls, "http://127.0.0.1:1, http://127.0.0.1:%d", httpd_port(f->srv));
    opts_for(&o, urls);
    /* no current configuration (e.g. the service started from its cache): the first
     * answer is delivered, then the watcher long-polls the URL that answered */
    cfgcli_watch_t *w = cfgcli_watch_start(&o, NULL, on_cfg, &s, NULL, err, sizeof err);
    assert_non_null(w);
    assert_int_equal(wait_seen(&s, 1, 3000), 0);
    assert_int_equal(s.last_gen, 1);
    fake_bump(f);
    assert_int_equal(wait_seen(&s, 2, 3000), 0);
    assert_int_equal(s.last_gen, 2);
    json_t *st = cfgcli_watch_status(w);
    assert_int_equal(json_integer_value(json_object_get(st, "failures")), 0);
    assert_non_null(strstr(json_string_value(json_object_get(st, "lastError")), "127.0.0.1:1"));
    json_decref(st);
    cfgcli_watch_stop(w);
    fake_stop(f);
}

static void test_auth(void **state)
{
    (void)state;
    fake_t *f = fake_start(5);
    f->auth = "Basic dXNlcjpzZWNyZXQ="; /* user:secret */
    seen_t s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cfgcli_opts_t o;
    char url[64], err[512];
    url_of(f, url, sizeof url);
    opts_for(&o, url);
    snprintf(o.user, sizeof o.user, "user");
    snprintf(o.password, sizeof o.password, "secret");
    cfgcli_t *cur = cfgcli_fetch(&o, NULL, err, sizeof err);
    assert_non_null(cur);
    cfgcli_watch_t *w = cfgcli_watch_start(&o, cur, on_cfg, &s, NULL, err, sizeof err);
    fake_bump(f);
    assert_int_equal(wait_seen(&s, 1, 3000), 0);
    cfgcli_watch_stop(w);

    /* a wrong password: the 401 shows on the status, nothing is delivered */
    snprintf(o.password, sizeof o.password, "wrong");
    w = cfgcli_watch_start(&o, cur, on_cfg, &s, NULL, err, sizeof err);
    fake_bump(f);
    json_t *st = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(st);
        st = cfgcli_watch_status(w);
        if (json_integer_value(json_object_get(st, "failures")) > 0)
            break;
        sleep_ms(20);
    }
    assert_non_null(strstr(json_string_value(json_object_get(st, "lastError")), "HTTP 401"));
    assert_null(strstr(json_string_value(json_object_get(st, "lastError")), "wrong"));
    json_decref(st);
    assert_int_equal(seen_n(&s), 1);
    cfgcli_watch_stop(w);
    cfgcli_free(cur);
    fake_stop(f);
}

static void test_errors_then_recovery(void **state)
{
    (void)state;
    fake_t *f = fake_start(5);
    seen_t s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cfgcli_opts_t o;
    char url[64], err[512];
    url_of(f, url, sizeof url);
    opts_for(&o, url);
    cfgcli_t *cur = cfgcli_fetch(&o, NULL, err, sizeof err);
    assert_non_null(cur);
    f->fail_503 = 3;
    f->broken = 1;
    fake_bump(f); /* before the watcher starts: its first request sees the 503s */
    cfgcli_watch_t *w = cfgcli_watch_start(&o, cur, on_cfg, &s, NULL, err, sizeof err);
    long long end = now_ms() + 3000;
    while (now_ms() < end) {
        pthread_mutex_lock(&s.mu);
        int e = s.errors;
        pthread_mutex_unlock(&s.mu);
        if (e > 0)
            break;
        sleep_ms(10);
    }
    /* after the 503s, a 200 that is no configuration: reported, not delivered */
    assert_int_equal(s.errors, 1);
    assert_non_null(strstr(s.error, "no source object"));
    assert_int_equal(seen_n(&s), 0);
    json_t *st = cfgcli_watch_status(w);
    assert_int_equal(json_integer_value(json_object_get(st, "failures")), 0);
    assert_non_null(strstr(json_string_value(json_object_get(st, "lastError")), "HTTP 503"));
    json_decref(st);
    f->broken = 0;
    fake_bump(f);
    assert_int_equal(wait_seen(&s, 1, 3000), 0);
    assert_int_equal(s.last_gen, 3);
    cfgcli_watch_stop(w);
    cfgcli_free(cur);
    fake_stop(f);
}

static void test_stop_is_prompt(void **state)
{
    (void)state;
    fake_t *f = fake_start(60);
    seen_t s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cfgcli_opts_t o;
    char url[64], err[512];
    url_of(f, url, sizeof url);
    opts_for(&o, url);
    cfgcli_t *cur = cfgcli_fetch(&o, NULL, err, sizeof err);
    assert_non_null(cur);
    cfgcli_watch_t *w = cfgcli_watch_start(&o, cur, on_cfg, &s, NULL, err, sizeof err);
    for (int i = 0; i < 100 && atomic_load(&f->holds) == 0; i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&f->holds), 1);
    long long t0 = now_ms();
    cfgcli_watch_stop(w);
    long long took = now_ms() - t0;
    printf("stop during a held long poll: %lld ms\n", took);
    assert_true(took < 1000);
    cfgcli_free(cur);
    fake_stop(f);
}

/* A server that answers long polls 304 at once (the watch contract's answer at shutdown)
 * is not polled in a loop: the watcher pauses and turns to the next URL. */
static void test_quick_304_no_busy_loop(void **state)
{
    (void)state;
    fake_t *f = fake_start(30);
    seen_t s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cfgcli_opts_t o;
    char url[64], err[512];
    url_of(f, url, sizeof url);
    opts_for(&o, url);
    cfgcli_t *cur = cfgcli_fetch(&o, NULL, err, sizeof err);
    assert_non_null(cur);
    f->quick304 = 1;
    cfgcli_watch_t *w = cfgcli_watch_start(&o, cur, on_cfg, &s, NULL, err, sizeof err);
    sleep_ms(1000);
    int n = atomic_load(&f->requests) - 1;
    printf("quick 304s: %d long polls in 1 s\n", n);
    assert_true(n >= 2 && n <= 8); /* one per 200 ms pause, not thousands */
    json_t *st = cfgcli_watch_status(w);
    assert_string_equal(json_string_value(json_object_get(st, "mode")), "long-poll");
    json_decref(st);
    f->quick304 = 0;
    fake_bump(f);
    assert_int_equal(wait_seen(&s, 1, 3000), 0);
    cfgcli_watch_stop(w);
    cfgcli_free(cur);
    fake_stop(f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_poll_delivers_change),    cmocka_unit_test(test_poll_fallback),
        cmocka_unit_test(test_failover_and_no_start_config), cmocka_unit_test(test_auth),
        cmocka_unit_test(test_errors_then_recovery),         cmocka_unit_test(test_stop_is_prompt),
        cmocka_unit_test(test_quick_304_no_busy_loop),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
