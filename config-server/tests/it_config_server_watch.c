/* it_config_server_watch.c — integration test of the watch API (http/watchreq.h) on the
 * real binary: a stale If-None-Match is answered at once, a current one is held until the
 * resolved environment changes (200 with the new body and ETag) or the wait ends (304);
 * an edit of another application's file wakes nobody; the wait is capped; a malformed
 * wait is a 400 naming it; hundreds of concurrent waiters on three URLs, of which only
 * the changed ones are answered; shutdown answers the held requests at once; the git
 * backend wakes waiters on POST /monitor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cs_it.h"
#include "cs_itgit.h"
#include "ts.h"

#define MAXW 400

/* Concurrent GETs on one curl multi handle. */
typedef struct watchers {
    CURLM *m;
    int n;
    CURL *e[MAXW];
    struct curl_slist *hl[MAXW];
    dbuf_t body[MAXW], hdrs[MAXW];
    long status[MAXW];
    long long done_ms[MAXW]; /* since start, -1 while running */
    long long t0;
} watchers_t;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

static void w_init(watchers_t *w)
{
    memset(w, 0, sizeof(*w));
    w->m = curl_multi_init();
    w->t0 = ts_now_ms();
}

/* Adds a GET of `path` with If-None-Match: `etag` (NULL: none). */
static void w_add(watchers_t *w, const csit_srv_t *s, const char *path, const char *etag)
{
    assert_true(w->n < MAXW);
    int i = w->n++;
    char url[1024], h[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    dbuf_init(&w->body[i], 1u << 20);
    dbuf_init(&w->hdrs[i], 1u << 16);
    w->done_ms[i] = -1;
    if (etag != NULL) {
        snprintf(h, sizeof(h), "If-None-Match: %s", etag);
        w->hl[i] = curl_slist_append(NULL, h);
    }
    CURL *c = w->e[i] = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, w->hl[i]);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &w->body[i]);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &w->hdrs[i]);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 90L);
    curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)(intptr_t)i);
    curl_multi_add_handle(w->m, c);
}

/* Runs the transfers for up to `ms`; returns how many have finished. */
static int w_run(watchers_t *w, long long ms)
{
    long long end = ts_now_ms() + ms;
    int done = 0;
    for (;;) {
        int running = 0;
        curl_multi_perform(w->m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(w->m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *pv = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &pv);
            int i = (int)(intptr_t)pv;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &w->status[i]);
            w->done_ms[i] = ts_now_ms() - w->t0;
        }
        done = 0;
        for (int i = 0; i < w->n; i++)
            done += w->done_ms[i] >= 0;
        long long now = ts_now_ms();
        if (done == w->n || now >= end)
            return done;
        curl_multi_poll(w->m, NULL, 0, (int)(end - now < 50 ? end - now : 50), NULL);
    }
}

static void w_free(watchers_t *w)
{
    for (int i = 0; i < w->n; i++) {
        curl_multi_remove_handle(w->m, w->e[i]);
        curl_easy_cleanup(w->e[i]);
        curl_slist_free_all(w->hl[i]);
        dbuf_free(&w->body[i]);
        dbuf_free(&w->hdrs[i]);
    }
    curl_multi_cleanup(w->m);
}

static char *header_of(const dbuf_t *hdrs, const char *name)
{
    ts_resp_t tr = {.headers = (char *)dbuf_ptr(hdrs)};
    return ts_resp_header(&tr, name);
}

/* The ETag of GET `path` (200 expected); the caller frees it. */
static char *etag_of(const csit_srv_t *s, const char *path)
{
    csit_resp_t r;
    csit_get(s, path, NULL, &r);
    assert_int_equal(r.status, 200);
    char *etag = header_of(&r.hdrs, "etag");
    char *max = header_of(&r.hdrs, "x-config-watch-max");
    assert_non_null(max);
    free(max);
    csit_resp_free(&r);
    assert_non_null(etag);
    return etag;
}

static int setup(void **state)
{
    csit_srv_t *s = calloc(1, sizeof(*s));
    csit_start(s, NULL, NULL);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    csit_stop(*state);
    free(*state);
    return 0;
}

/* A stale If-None-Match with a wait: the current body at once. */
static void test_mismatch_answers_at_once(void **state)
{
    csit_srv_t *s = *state;
    watchers_t w;
    w_init(&w);
    w_add(&w, s, "/billing/dev?wait=30", "\"0000\"");
    w_add(&w, s, "/billing-dev.yml?wait=30", NULL);
    assert_int_equal(w_run(&w, 3000), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(w.status[i], 200);
        assert_true(w.done_ms[i] < 1500);
        char *max = header_of(&w.hdrs[i], "x-config-watch-max");
        assert_non_null(max);
        assert_string_equal(max, "60");
        free(max);
    }
    assert_non_null(strstr(dbuf_ptr(&w.body[0]), "\"billing.host\":\"dev.example\""));
    w_free(&w);
}

/* Held until billing's environment changes; another application's edit (and a plain GET's
 * ETag) leaves it alone. */
static void test_hold_until_change(void **state)
{
    csit_srv_t *s = *state;
    char *etag = etag_of(s, "/billing/dev");
    watchers_t w;
    w_init(&w);
    w_add(&w, s, "/billing/dev?wait=30s", etag);
    assert_int_equal(w_run(&w, 300), 0);
    const char *other = "other:\n  key: 1\n";
    csit_write(s, "other.yml", other, strlen(other));
    assert_true(csit_wait_for(s, "/other/default", "\"other.key\":1", 3000) >= 0);
    assert_int_equal(w_run(&w, 500), 0); /* another app's edit wakes nobody */
    char *etag2 = etag_of(s, "/billing/dev");
    assert_string_equal(etag, etag2); /* nor changes billing's ETag */
    free(etag2);
    const char *edit = "billing:\n  host: watched.example\n";
    csit_write(s, "billing-dev.yml", edit, strlen(edit));
    long long t0 = ts_now_ms();
    assert_int_equal(w_run(&w, 5000), 1);
    printf("watch: answered %lld ms after the edit\n", ts_now_ms() - t0);
    assert_int_equal(w.status[0], 200);
    assert_non_null(strstr(dbuf_ptr(&w.body[0]), "watched.example"));
    char *etag3 = header_of(&w.hdrs[0], "etag");
    assert_non_null(etag3);
    assert_string_not_equal(etag, etag3);
    char *now = etag_of(s, "/billing/dev");
    assert_string_equal(now, etag3);
    free(now);
    free(etag3);
    free(etag);
    w_free(&w);
}

/* The wait ends: 304 with the same ETag; units; a plain conditional GET is still 304 at once. */
static void test_timeout_304(void **state)
{
    csit_srv_t *s = *state;
    char *etag = etag_of(s, "/billing-default.properties");
    watchers_t w;
    w_init(&w);
    w_add(&w, s, "/billing-default.properties?wait=1", etag);
    w_add(&w, s, "/billing-default.properties?wait=700ms", etag);
    w_add(&w, s, "/billing-default.properties", etag);
    w_add(&w, s, "/billing-default.properties?wait=0", etag);
    assert_int_equal(w_run(&w, 5000), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(w.status[i], 304);
    printf("watch: wait=1 answered after %lld ms, wait=700ms after %lld ms\n", w.done_ms[0], w.done_ms[1]);
    assert_true(w.done_ms[0] >= 950 && w.done_ms[0] < 3000);
    assert_true(w.done_ms[1] >= 650 && w.done_ms[1] < 3000);
    assert_true(w.done_ms[2] < 500 && w.done_ms[3] < 500);
    char *e = header_of(&w.hdrs[0], "etag");
    assert_non_null(e);
    assert_string_equal(e, etag);
    free(e);
    free(etag);
    w_free(&w);
}

static void test_bad_wait(void **state)
{
    csit_srv_t *s = *state;
    static const char *const bad[] = {"x", "-1", "1.5s", "10d", "", "30sec", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/billing/dev?wait=%s", bad[i]);
        csit_resp_t r;
        csit_get(s, path, NULL, &r);
        if (r.status != 400 || strstr(dbuf_ptr(&r.body), "wait") == NULL)
            fail_msg("wait=%s: %ld %s", bad[i], r.status, dbuf_ptr(&r.body));
        csit_resp_free(&r);
    }
}

/* 300 waiters on three URLs; application-dev.yml changes two of them: only those are
 * answered (200), the third stays held until its wait ends. */
static void test_many_waiters_selective(void **state)
{
    csit_srv_t *s = *state;
    static const char *const paths[] = {"/billing/dev?wait=20", "/billing-dev.json?wait=20",
                                        "/billing/default?wait=10"};
    char *etags[3];
    for (int k = 0; k < 3; k++) {
        char p[128];
        snprintf(p, sizeof(p), "%.*s", (int)strcspn(paths[k], "?"), paths[k]);
        etags[k] = etag_of(s, p);
    }
    watchers_t *w = malloc(sizeof(*w));
    w_init(w);
    for (int i = 0; i < 300; i++)
        w_add(w, s, paths[i % 3], etags[i % 3]);
    /* all 300 held before the edit (sending them takes a while on a loaded machine) */
    int held = 0;
    for (long long t = ts_now_ms(); !held && ts_now_ms() - t < 8000;) {
        assert_int_equal(w_run(w, 100), 0);
        csit_resp_t h;
        csit_get(s, "/actuator/health", NULL, &h);
        held = strstr(dbuf_ptr(&h.body), "\"held\":300") != NULL;
        csit_resp_free(&h);
    }
    assert_true(held);
    const char *edit = "shared:\n  timeout: 11\n";
    csit_write(s, "application-dev.yml", edit, strlen(edit));
    long long t0 = ts_now_ms();
    while (ts_now_ms() - t0 < 5000) {
        int n = 0;
        w_run(w, 50);
        for (int i = 0; i < 300; i++)
            n += w->done_ms[i] >= 0;
        if (n >= 200)
            break;
    }
    long long last = 0;
    for (int i = 0; i < 300; i++) {
        if (i % 3 == 2) {
            assert_true(w->done_ms[i] < 0); /* billing/default reads no application-dev.yml */
            continue;
        }
        assert_int_equal(w->status[i], 200);
        assert_non_null(strstr(dbuf_ptr(&w->body[i]), "11"));
        if (w->done_ms[i] > last)
            last = w->done_ms[i];
    }
    printf("watch: 200 of 300 waiters answered, the last %lld ms after the edit\n", last - (t0 - w->t0));
    assert_int_equal(w_run(w, 15000), 300);
    for (int i = 2; i < 300; i += 3)
        assert_int_equal(w->status[i], 304);
    w_free(w);
    free(w);
    for (int k = 0; k < 3; k++)
        free(etags[k]);
}

/* A server capped at 1 s answers wait=2m with 304 after about a second. */
static void test_wait_capped(void **state)
{
    (void)state;
    csit_srv_t s;
    const char *args[] = {"--watch-max-s", "1", NULL};
    csit_start(&s, NULL, args);
    char *etag = etag_of(&s, "/billing/dev");
    watchers_t w;
    w_init(&w);
    w_add(&w, &s, "/billing/dev?wait=2m", etag);
    assert_int_equal(w_run(&w, 5000), 1);
    assert_int_equal(w.status[0], 304);
    assert_true(w.done_ms[0] >= 900 && w.done_ms[0] < 3000);
    char *max = header_of(&w.hdrs[0], "x-config-watch-max");
    assert_string_equal(max, "1");
    free(max);
    free(etag);
    w_free(&w);
    csit_stop(&s);
}

/* SIGTERM answers every held request (304) at once; the server exits 0. */
static void test_shutdown_answers_held(void **state)
{
    (void)state;
    csit_srv_t s;
    csit_start(&s, NULL, NULL);
    char *etag = etag_of(&s, "/billing/dev");
    watchers_t w;
    w_init(&w);
    for (int i = 0; i < 40; i++)
        w_add(&w, &s, "/billing/dev?wait=60", etag);
    assert_int_equal(w_run(&w, 800), 0);
    long long t0 = ts_now_ms();
    kill(s.pid, SIGTERM);
    assert_int_equal(w_run(&w, 3000), 40);
    long long last = 0;
    for (int i = 0; i < 40; i++) {
        assert_int_equal(w.status[i], 304);
        if (w.done_ms[i] > last)
            last = w.done_ms[i];
    }
    printf("watch: 40 held requests answered %lld ms after SIGTERM\n", last - (t0 - w.t0));
    assert_true(last - (t0 - w.t0) < 1500);
    assert_true(csit_log_has(&s, "answered 304 at shutdown", "watch"));
    free(etag);
    w_free(&w);
    csit_stop(&s); /* exit 0 */
}

/* The git backend: a push brought in by POST /monitor wakes the waiters of what changed. */
static void test_git_monitor(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    csit_srv_t s;
    const char *args[] = {"--repo-uri", g.uri, "--git-refresh-s", "0", NULL};
    csit_start(&s, NULL, args);
    char *etag_app = etag_of(&s, "/app/default");
    char *etag_multi = etag_of(&s, "/multi/default");
    watchers_t w;
    w_init(&w);
    w_add(&w, &s, "/app/default?wait=20", etag_app);
    w_add(&w, &s, "/multi/default?wait=20", etag_multi);
    assert_int_equal(w_run(&w, 300), 0);
    gitfix_commit(&g, 2, 0); /* app.yml and application.yml: multi reads application.yml too */
    csit_sh("cd '%s' && echo 'solo: 1' > solo.yml && " GIT " add solo.yml && " GIT " commit -qm solo && " GIT
            " push -q origin main 2>/dev/null",
            g.work);
    csit_resp_t r;
    long long t0 = ts_now_ms();
    csit_post(&s, "/monitor", "application/x-www-form-urlencoded", NULL, "path=app.yml", &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    assert_int_equal(w_run(&w, 15000), 2);
    printf("watch (git): answered %lld ms after POST /monitor\n", ts_now_ms() - t0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(w.status[i], 200);
        assert_non_null(strstr(dbuf_ptr(&w.body[i]), "\"gen2\":2"));
    }
    w_free(&w);
    /* a commit that only adds solo2.yml: app's waiters stay held */
    char *etag_app2 = etag_of(&s, "/app/default");
    w_init(&w);
    w_add(&w, &s, "/app/default?wait=2", etag_app2);
    csit_sh("cd '%s' && echo 'solo: 2' > solo2.yml && " GIT " add solo2.yml && " GIT
            " commit -qm solo2 && " GIT " push -q origin main 2>/dev/null",
            g.work);
    csit_post(&s, "/monitor", "application/x-www-form-urlencoded", NULL, "path=solo2.yml", &r);
    csit_resp_free(&r);
    assert_true(csit_wait_for(&s, "/solo2/default", "\"solo\":2", 3000) >= 0);
    assert_int_equal(w_run(&w, 5000), 1);
    assert_int_equal(w.status[0], 304);
    assert_true(w.done_ms[0] >= 1900);
    w_free(&w);
    free(etag_app);
    free(etag_app2);
    free(etag_multi);
    csit_stop(&s);
    gitfix_rm(&g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mismatch_answers_at_once),
        cmocka_unit_test(test_hold_until_change),
        cmocka_unit_test(test_timeout_304),
        cmocka_unit_test(test_bad_wait),
        cmocka_unit_test(test_many_waiters_selective),
    };
    const struct CMUnitTest solo[] = {
        cmocka_unit_test(test_wait_capped),
        cmocka_unit_test(test_shutdown_answers_held),
        cmocka_unit_test(test_git_monitor),
    };
    int rc = cmocka_run_group_tests_name("config_server_watch", tests, setup, teardown);
    rc += cmocka_run_group_tests_name("config_server_watch_solo", solo, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
