/* it_customer_read_window.c — outbox.read-window-ms: a read that a NOTIFY asks for waits out
 * the window, so the rows that commit meanwhile go out in the same read. With a 400 ms
 * window, one create is produced no sooner than 400 ms after its 201 (a window of 0 sends
 * it within milliseconds), and creates made within one window leave in one read: their
 * records carry timestamps within a few milliseconds of each other. After that burst (its
 * read found several rows: the relay polls once per window until a read finds none, then
 * listens again: customer_outbox_relay_listening shows 0, then 1) a lone create is still
 * published, a window after its request.
 *
 * Isolated: its own database (cq_it_read_window), topic (it-window-<time>) and replica on
 * CQ_WINDOW_PORT (default 28195), started from CQ_BIN_DIR with the config-server at
 * CQ_CONFIG_URL (profile CQ_PROFILE); the window is set by env (OUTBOX_READ_WINDOW_MS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "cs_it.h"
#include "ts.h"

#define DBNAME "cq_it_read_window"
#define WINDOW_MS 400
#define N_BURST 5

static char topic[64];

typedef struct want {
    char ids[N_BURST + 2][37];
    int n;
} want_t;

static int have_all(const cs_recs_t *r, void *ud)
{
    want_t *w = ud;
    const cs_rec_t *x[1];
    for (int i = 0; i < w->n; i++)
        if (cs_recs_for_key(r, w->ids[i], x, 0) < 1)
            return 0;
    return 1;
}

static int teardown(void **state)
{
    pid_t *pid = *state;
    if (pid != NULL && *pid > 0 && kill(*pid, SIGKILL) == 0)
        waitpid(*pid, NULL, 0);
    free(pid);
    return 0;
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(pid_t));
    return *state ? 0 : -1;
}

/* customer_outbox_relay_listening of the replica at url: 1, 0, or -1 (absent). */
static int listening(const char *url)
{
    char m[128];
    ts_resp_t r = {0};
    int v = -1;
    snprintf(m, sizeof m, "%s/metrics", url);
    ts_http("GET", m, NULL, 0, NULL, &r);
    const char *p = r.body ? strstr(r.body, "\ncustomer_outbox_relay_listening ") : NULL;
    if (p != NULL)
        v = atoi(p + strlen("\ncustomer_outbox_relay_listening "));
    ts_resp_free(&r);
    return v;
}

/* The record of the customer `id` in recs (asserted present). */
static const cs_rec_t *rec_of(const cs_recs_t *recs, const char *id)
{
    const cs_rec_t *x[4];
    assert_int_equal(cs_recs_for_key(recs, id, x, 4), 1);
    return x[0];
}

static void t_window(void **state)
{
    pid_t *pid = *state;
    const char *bs = ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092");
    int port = atoi(ts_env("CQ_WINDOW_PORT", "28195"));
    char url[64], e_win[64];
    int64_t hi[CS_IT_MAX_PARTITIONS];
    static want_t w;
    cs_recs_t recs = {0};
    int np = -1;

    assert_int_equal(ts_pg_fresh_db(DBNAME), 0);
    snprintf(topic, sizeof topic, "it-window-%lld", (long long)time(NULL));
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(e_win, sizeof e_win, "OUTBOX_READ_WINDOW_MS=%d", WINDOW_MS);
    const char *const extra[] = {e_win, NULL};
    *pid = cs_it_spawn(port, DBNAME, topic, extra, "/tmp/it_customer_read_window.log");
    assert_true(*pid > 0);
    assert_int_equal(cs_it_wait_ready(url), 200);
    for (int k = 0; k < 50 && (np = cs_it_watermarks(bs, topic, hi)) < 1; k++)
        ts_sleep_ms(200);
    assert_true(np >= 1);
    ts_sleep_ms(1500); /* past the leader's first reads (the takeover scan, the sweep's) */

    /* one create, alone: it waits out the window */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long t_one = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    assert_int_equal(cs_it_create(url, NULL, "win-one", "Win", "Dow", w.ids[0]), 201);
    w.n = 1;
    ts_sleep_ms(WINDOW_MS * 3); /* its read is over */

    /* a burst within one window: one read */
    for (int i = 1; i <= N_BURST; i++) {
        char user[32];
        snprintf(user, sizeof user, "win-burst-%d", i);
        assert_int_equal(cs_it_create(url, NULL, user, "Win", "Dow", w.ids[i]), 201);
    }
    /* the burst's read found several rows: the relay polls once per window until a read finds
     * none, then listens again (customer_outbox_relay_listening 0, then 1); a lone create after
     * that is notified and published */
    int polled = 0, listens = 0;
    for (int k = 0; k < (WINDOW_MS * 4) / 20; k++) {
        int l = listening(url);
        polled |= l == 0;
        listens = l == 1;
        ts_sleep_ms(20);
    }
    assert_true(polled);
    assert_true(listens);
    clock_gettime(CLOCK_REALTIME, &now);
    long long t_last = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    assert_int_equal(cs_it_create(url, NULL, "win-last", "Win", "Dow", w.ids[N_BURST + 1]), 201);
    w.n = N_BURST + 2;
    assert_int_equal(cs_it_consume(bs, topic, hi, np, have_all, &w, 30000, &recs), 0);

    const cs_rec_t *one = rec_of(&recs, w.ids[0]);
    long long waited = (long long)one->ts_ms - t_one;
    int64_t lo = INT64_MAX, top = 0;
    for (int i = 1; i <= N_BURST; i++) {
        const cs_rec_t *r = rec_of(&recs, w.ids[i]);
        lo = r->ts_ms < lo ? r->ts_ms : lo;
        top = r->ts_ms > top ? r->ts_ms : top;
    }
    long long last = (long long)rec_of(&recs, w.ids[N_BURST + 1])->ts_ms - t_last;
    printf("# read window %d ms: a lone create produced %lld ms after its request; a burst of %d "
           "produced within %lld ms of each other; a lone create after the burst %lld ms after its request\n",
           WINDOW_MS, waited, N_BURST, (long long)(top - lo), last);
    assert_true(waited >= WINDOW_MS - 20); /* the request was sent before the commit */
    assert_true(top - lo < WINDOW_MS / 2); /* one read (a second would come a window later) */
    assert_true(last >= WINDOW_MS - 20);
    cs_recs_free(&recs);

    kill(*pid, SIGTERM);
    int wst = 0;
    waitpid(*pid, &wst, 0);
    *pid = 0;
    assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_setup_teardown(t_window, setup, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
