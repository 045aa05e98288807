/* it_crash_idle.c — a PostgreSQL crash right after the projection applied a burst, then no
 * traffic at all, on the real PostgreSQL and Kafka: the read model must converge by itself.
 *
 * The live projection commits with synchronous_commit off, so its last batches (rows AND
 * stored offsets) are lost when the server crashes before the WAL writer wrote them; the
 * consumer's position is already past them, and no new event comes to make it look again.
 * The projection must notice within a few seconds (its session was replaced; its stored
 * position is behind the one it consumed to) and re-apply from the stored position.
 *
 * Steps: 60 customers created and made durable (CHECKPOINT); a burst of 60 updates; as soon
 * as the read model shows all of them, the test stack's server is crashed (scripts/stack.sh
 * crash-pg: pg_ctl restart -m immediate) — the WAL writer is slowed for the test
 * (wal_writer_delay 10 s, reset afterwards) so the last commits are certainly unwritten. The
 * test checks that commits were lost (stored offsets behind), then requires the read model
 * and the stored offsets to be exact within 5 s of the server accepting connections again,
 * /health/readiness to say the projection is UP and order_consumer_lag (from the stored
 * position) to be 0. Three rounds (a crash each). The shared server is restarted: this test
 * holds the stack's resource lock like every integration test.
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

#include "os_it.h"
#include "ts.h"

#define NCUST 60
#define ROUNDS 3
#define CONVERGE_MS 5000
#define OFFSETS_SQL "SELECT coalesce(sum(next_offset), 0) FROM \"order\".projection_offsets"

/* Runs scripts/stack.sh VERB on the test stack. Its exit status. */
static int stack(const char *verb)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "bash '%s/scripts/stack.sh' %s", ts_env("CQ_SOURCE_DIR", "."), verb);
    return system(cmd);
}

/* Runs a statement on the test's connection (reconnecting once when the server went away). */
static void exec_ok(os_it_t *t, const char *sql)
{
    PGresult *r = PQexec(t->pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        PQreset(t->pg);
        r = PQexec(t->pg, sql);
    }
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(t->pg));
    assert_true(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
}

/* The server-wide WAL writer delay (ALTER SYSTEM + reload): "10s" for the test, NULL = reset. */
static void wal_writer_delay(os_it_t *t, const char *v)
{
    char sql[128];
    if (v != NULL)
        snprintf(sql, sizeof sql, "ALTER SYSTEM SET wal_writer_delay = '%s'", v);
    else
        snprintf(sql, sizeof sql, "ALTER SYSTEM RESET wal_writer_delay");
    exec_ok(t, sql);
    exec_ok(t, "SELECT pg_reload_conf()");
}

/* Customers 0..NCUST-1 at `version`, produced as fast as the producer goes. */
static void burst(os_it_t *t, long version)
{
    char id[37], name[64];
    for (long c = 0; c < NCUST; c++) {
        os_it_uuid(id, c);
        snprintf(name, sizeof name, "c%ld-v%ld", c, version);
        assert_int_equal(os_it_send(t, id, version, name, 0), 0);
    }
    assert_int_equal(os_it_flush(t), 0);
}

static long long at_version(os_it_t *t, long version)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"order\".customers WHERE version = %ld", version);
    return os_it_scalar(t, sql);
}

/* The sum of order_consumer_lag over the partitions in /metrics, or -1 when absent. */
static long long lag_metric(int port)
{
    char *body = NULL;
    long long sum = -1;
    if (os_it_get(port, "/metrics", &body, NULL) == 200 && body != NULL) {
        for (const char *p = body; (p = strstr(p, "\norder_consumer_lag{")) != NULL; p++) {
            const char *v = strchr(p, '}');
            if (v != NULL)
                sum = (sum < 0 ? 0 : sum) + strtoll(v + 1, NULL, 10);
        }
    }
    free(body);
    return sum;
}

static void test_crash_then_no_traffic(void **state)
{
    pid_t *pid = *state;
    os_it_t t;
    char logf[128];
    static const char *const env[] = {"PROJECTION_BATCH_SIZE=20", NULL};
    assert_int_equal(os_it_setup(&t, "crashidle", 3), 0);
    wal_writer_delay(&t, "10s");
    int port = ts_free_port();
    snprintf(logf, sizeof logf, "/tmp/it_order_crash_idle_%d.log", (int)getpid());
    *pid = os_it_start(&t, port, env, logf);
    assert_true(*pid > 0);
    assert_int_equal(os_it_wait_ready(port, 30000), 0);

    burst(&t, 1);
    assert_int_equal(os_it_wait_scalar(&t, OFFSETS_SQL, NCUST, 30000), NCUST);
    int lost_rounds = 0;
    long long worst = 0;
    for (long round = 0; round < ROUNDS; round++) {
        long version = round + 2;
        long long want = (long long)NCUST * version;
        exec_ok(&t, "CHECKPOINT"); /* what came before is durable: only the burst can be lost */
        burst(&t, version);
        long long end = ts_now_ms() + 30000;
        while (at_version(&t, version) < NCUST && ts_now_ms() < end)
            ts_sleep_ms(2);
        assert_int_equal(at_version(&t, version), NCUST);
        long long applied_offs = os_it_scalar(&t, OFFSETS_SQL);
        assert_int_equal(stack("crash-pg"), 0);
        long long t_up = ts_now_ms();
        PQreset(t.pg);
        long long offs_after = os_it_scalar(&t, OFFSETS_SQL);
        long long rows_after = at_version(&t, version);
        printf("round %ld: applied %lld/%lld events before the crash; after it the stored offsets say %lld "
               "and %lld/%d rows are at v%ld\n",
               round + 1, applied_offs, want, offs_after, rows_after, NCUST, version);
        if (offs_after < want)
            lost_rounds++;
        int seen_catching_up = 0;
        long long conv = -1;
        while (ts_now_ms() - t_up < CONVERGE_MS + 5000) {
            if (at_version(&t, version) == NCUST && os_it_scalar(&t, OFFSETS_SQL) == want) {
                conv = ts_now_ms() - t_up;
                break;
            }
            char *body = NULL;
            if (os_it_get(port, "/health/readiness", &body, NULL) > 0 && body != NULL &&
                strstr(body, "\"projection\":{\"status\":\"CATCHING_UP\"}") != NULL)
                seen_catching_up = 1;
            free(body);
            ts_sleep_ms(20);
        }
        printf("round %ld: read model exact %lld ms after the server was back (limit %d ms)%s\n", round + 1,
               conv, CONVERGE_MS, seen_catching_up ? "; /health showed the projection CATCHING_UP" : "");
        assert_true(conv >= 0);
        assert_true(conv <= CONVERGE_MS);
        if (conv > worst)
            worst = conv;
    }
    printf("%d of %d rounds lost commits in the crash; slowest convergence %lld ms\n", lost_rounds, ROUNDS,
           worst);
    /* Without a lost commit the test proves nothing: the WAL writer delay makes it certain. */
    assert_true(lost_rounds > 0);

    char *body = NULL;
    long long end = ts_now_ms() + 5000;
    for (;;) {
        free(body);
        body = NULL;
        long st = os_it_get(port, "/health/readiness", &body, NULL);
        if ((st == 200 && body != NULL && strstr(body, "\"projection\":{\"status\":\"UP\"}") != NULL) ||
            ts_now_ms() > end)
            break;
        ts_sleep_ms(100);
    }
    printf("readiness after convergence: %s\n", body ? body : "(none)");
    assert_non_null(body);
    assert_non_null(strstr(body, "\"projection\":{\"status\":\"UP\"}"));
    free(body);
    long long lag = -1;
    end = ts_now_ms() + 5000;
    while ((lag = lag_metric(port)) != 0 && ts_now_ms() < end)
        ts_sleep_ms(100);
    printf("order_consumer_lag (sum over partitions): %lld\n", lag);
    assert_int_equal(lag, 0);

    wal_writer_delay(&t, NULL);
    assert_int_equal(os_it_stop(*pid), 0);
    *pid = -1;
    os_it_teardown(&t);
}

/* Puts the server's WAL writer back whatever happened in the test. */
static int reset_wal_writer(void **state)
{
    int rc = os_it_child_teardown(state);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "psql -q '%s' -c 'ALTER SYSTEM RESET wal_writer_delay' -c 'SELECT pg_reload_conf()' >/dev/null",
             ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=5433 user=postgres dbname=cqrs"));
    if (system(cmd) != 0)
        fprintf(stderr, "could not reset wal_writer_delay\n");
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_then_no_traffic, os_it_child_setup, reset_wal_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
