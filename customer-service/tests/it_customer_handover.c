/* it_customer_handover.c — two replicas of customer-service share one database; only the
 * one holding the advisory lock relays the outbox. Kill -9 that one while creates and
 * updates continue through the other: every event still arrives on the topic, exactly
 * once, in version order per key, and the survivor becomes the publisher within seconds.
 *
 * Isolated from whatever else runs: the test creates its own database (cq_it_handover)
 * and topic (it-handover-<time>) and starts its own two replicas from CQ_BIN_DIR with the
 * config-server at CQ_CONFIG_URL (profile CQ_PROFILE), overriding the database name,
 * topic, ports (CQ_HANDOVER_PORT, +1; default 28190) and lock poll interval by env. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>

#include <cmocka.h>

#include "cs_it.h"
#include "ts.h"

extern char **environ;

#define N_CUST 20
#define DBNAME "cq_it_handover"

typedef struct replica {
    pid_t pid;
    int port;
    char url[64];
} replica_t;

static char topic[64];

static pid_t spawn_replica(int port)
{
    static const char *const extra[] = {"OUTBOX_LOCK_POLL_MS=200", NULL};
    char log[256];
    snprintf(log, sizeof log, "/tmp/it_customer_handover_%d.log", port);
    return cs_it_spawn(port, DBNAME, topic, extra, log);
}

static int is_leader(const replica_t *rp)
{
    char url[128];
    ts_resp_t r = {0};
    int yes;
    snprintf(url, sizeof url, "%s/metrics", rp->url);
    ts_http("GET", url, NULL, 0, NULL, &r);
    yes = r.body && strstr(r.body, "\ncustomer_outbox_relay_leader 1") != NULL;
    ts_resp_free(&r);
    return yes;
}

typedef struct want {
    char ids[N_CUST][37];
    int versions[N_CUST];
} want_t;

static int have_all(const cs_recs_t *r, void *ud)
{
    want_t *w = ud;
    const cs_rec_t *x[1];
    for (int i = 0; i < N_CUST; i++)
        if ((int)cs_recs_for_key(r, w->ids[i], x, 0) < w->versions[i])
            return 0;
    return 1;
}

static int setup(void **state)
{
    replica_t *rp = calloc(2, sizeof *rp);
    *state = rp;
    return rp ? 0 : -1;
}

/* Kills replicas a failed assertion left behind. */
static int teardown(void **state)
{
    replica_t *rp = *state;
    for (int i = 0; i < 2; i++)
        if (rp[i].pid > 0 && kill(rp[i].pid, SIGKILL) == 0)
            waitpid(rp[i].pid, NULL, 0);
    free(rp);
    return 0;
}

static void t_handover(void **state)
{
    const char *bs = ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092");
    int base_port = atoi(ts_env("CQ_HANDOVER_PORT", "28190"));
    replica_t *rp = *state;
    static want_t w;
    int64_t hi[CS_IT_MAX_PARTITIONS];
    cs_recs_t recs = {0};
    int leader = -1, np = -1, requests = 0;
    long long t0 = ts_now_ms(), killed_at, took_over_ms = -1;

    /* A fresh database for the two replicas. */
    assert_int_equal(ts_pg_fresh_db(DBNAME), 0);
    snprintf(topic, sizeof topic, "it-handover-%lld", (long long)time(NULL));

    for (int i = 0; i < 2; i++) {
        rp[i].port = base_port + i;
        snprintf(rp[i].url, sizeof rp[i].url, "http://127.0.0.1:%d", rp[i].port);
        rp[i].pid = spawn_replica(rp[i].port);
        assert_true(rp[i].pid > 0);
        ts_sleep_ms(300); /* the first one migrates */
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(cs_it_wait_ready(rp[i].url), 200);
    for (int k = 0; k < 50 && leader < 0; k++) {
        for (int i = 0; i < 2; i++)
            if (is_leader(&rp[i]))
                leader = i;
        if (leader < 0)
            ts_sleep_ms(200);
    }
    assert_true(leader >= 0);
    assert_false(is_leader(&rp[1 - leader]));
    /* the leader creates the topic once it holds the lock: under load that can take a moment */
    for (int k = 0; k < 50 && (np = cs_it_watermarks(bs, topic, hi)) < 1; k++)
        ts_sleep_ms(200);
    assert_true(np >= 1);

    const char *via = rp[1 - leader].url;
    for (int i = 0; i < N_CUST; i++) {
        char user[64];
        snprintf(user, sizeof user, "ho-%lld-%d", t0, i);
        assert_int_equal(cs_it_create(via, NULL, user, "Hand", "Over", w.ids[i]), 201);
        w.versions[i] = 1;
        requests++;
    }
    /* Updates keep flowing; the leader is killed in the middle of them. */
    killed_at = 0;
    for (int round = 0; round < 30; round++) {
        if (round == 10) {
            kill(rp[leader].pid, SIGKILL);
            waitpid(rp[leader].pid, NULL, 0);
            rp[leader].pid = 0;
            killed_at = ts_now_ms();
        }
        for (int i = 0; i < N_CUST; i++) {
            char user[64];
            snprintf(user, sizeof user, "ho-%lld-%d", t0, i);
            assert_int_equal(cs_it_update(via, w.ids[i], user, "Hand", round % 2 ? "Over" : "Out"), 200);
            w.versions[i]++;
            requests++;
        }
        if (killed_at && took_over_ms < 0 && is_leader(&rp[1 - leader]))
            took_over_ms = ts_now_ms() - killed_at;
    }
    for (int k = 0; k < 100 && took_over_ms < 0; k++) {
        if (is_leader(&rp[1 - leader]))
            took_over_ms = ts_now_ms() - killed_at;
        else
            ts_sleep_ms(100);
    }
    assert_true(took_over_ms >= 0 && took_over_ms < 10000);

    assert_int_equal(cs_it_consume(bs, topic, hi, np, have_all, &w, 60000, &recs), 0);
    for (int i = 0; i < N_CUST; i++) {
        const cs_rec_t *x[64];
        size_t n = cs_recs_for_key(&recs, w.ids[i], x, 64);
        if ((int)n != w.versions[i])
            fail_msg("customer %s: %zu records, want %d", w.ids[i], n, w.versions[i]);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(x[k]->decode_rc, EVCODEC_OK);
            assert_int_equal(x[k]->ev.version, (int64_t)k + 1);
        }
    }
    printf("# handover: %d requests via the standby, leader killed -9 after %d, survivor publishing after "
           "%lld ms; %zu records, each exactly once, in order\n",
           requests, N_CUST * 11, took_over_ms, recs.n);
    cs_recs_free(&recs);
    kill(rp[1 - leader].pid, SIGTERM);
    int wst = 0;
    waitpid(rp[1 - leader].pid, &wst, 0);
    rp[1 - leader].pid = 0;
    assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_setup_teardown(t_handover, setup, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
