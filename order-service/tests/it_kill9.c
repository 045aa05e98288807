/* it_kill9.c — crash safety and faults of the projection on the real PostgreSQL and Kafka:
 *  1. kill -9 of order-service in the middle of a 50,000-event stream, then a restart:
 *     the read model equals the expected final state exactly (no loss, no double apply
 *     can show: versions + offsets stored in the same transaction).
 *  2. two replicas in one consumer group, one killed -9 mid-stream: the other takes its
 *     partitions over (seeking to the stored offsets) and the final state is still exact.
 *     Both are made to own partitions before the kill (each has applied events), so the
 *     killed one certainly leaves partitions, with events still to come, to the other.
 *  3. an event the database keeps rejecting (a CHECK constraint added for the test) is
 *     retried projection.max-retries times, then dead-lettered ("apply-failed") while the
 *     events around it are applied.
 * Stream: 10,000 customers × (versions 1..4, then v5 — or a tombstone for every 10th).
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
#include <jansson.h>

#include "os_it.h"
#include "ts.h"

#define NCUST 10000
#define NVER 5
#define NEVENTS (NCUST * NVER)
#define OFFSETS_SQL "SELECT coalesce(sum(next_offset), 0) FROM \"order\".projection_offsets"

/* Produces events [from, to) of the stream: event k = customer k % NCUST, step k / NCUST. */
static void produce(os_it_t *t, long from, long to)
{
    char id[37], name[64];
    for (long k = from; k < to; k++) {
        long c = k % NCUST;
        long step = k / NCUST + 1;
        os_it_uuid(id, c);
        if (step == NVER && c % 10 == 0) {
            assert_int_equal(os_it_send_tombstone(t, id, 0), 0);
        } else {
            snprintf(name, sizeof name, "u%ld-v%ld", c, step);
            assert_int_equal(os_it_send(t, id, step, name, 0), 0);
        }
    }
    assert_int_equal(os_it_flush(t), 0);
}

/* Compares the read model with the expected final state, row by row. */
static void check_exact(os_it_t *t)
{
    PGresult *r = PQexec(t->pg, "SELECT id::text, version, username FROM \"order\".customers ORDER BY id");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int n = PQntuples(r);
    int row = 0, mismatches = 0;
    char id[37], name[64];
    for (long c = 0; c < NCUST; c++) {
        if (c % 10 == 0)
            continue; /* deleted */
        os_it_uuid(id, c);
        snprintf(name, sizeof name, "u%ld-v%d", c, NVER);
        if (row >= n || strcmp(PQgetvalue(r, row, 0), id) != 0 ||
            strtol(PQgetvalue(r, row, 1), NULL, 10) != NVER || strcmp(PQgetvalue(r, row, 2), name) != 0) {
            if (mismatches++ < 5)
                printf("mismatch at customer %ld (row %d of %d)\n", c, row, n);
        }
        row++;
    }
    printf("read model: %d rows, expected %d, mismatches %d\n", n, NCUST - NCUST / 10, mismatches);
    assert_int_equal(n, NCUST - NCUST / 10);
    assert_int_equal(mismatches, 0);
    PQclear(r);
}

/* The events replica `port` has handled (its order_projection_events_total). */
static long long handled(int port)
{
    return (long long)ts_metric_sum(port, "order_projection_events_total", NULL);
}

/* Waits until the log of a replica says it was assigned partitions; 0, or -1 after 30 s. */
static int wait_assigned(const char *logf)
{
    long long end = ts_now_ms() + 30000;
    while (ts_now_ms() < end) {
        FILE *f = fopen(logf, "r");
        char line[1024];
        int found = 0;
        while (f != NULL && !found && fgets(line, sizeof line, f) != NULL)
            found = strstr(line, "projection: assigned") != NULL;
        if (f != NULL)
            fclose(f);
        if (found)
            return 0;
        ts_sleep_ms(100);
    }
    return -1;
}

/* A killed member stays in the group until its session times out; keep that short. */
static const char *const fast_env[] = {"KAFKA_CONSUMER_CONFIG_SESSION_TIMEOUT_MS=6000",
                                       "KAFKA_CONSUMER_CONFIG_HEARTBEAT_INTERVAL_MS=1000", NULL};

static void test_kill9_mid_stream(void **state)
{
    (void)state;
    os_it_t t;
    assert_int_equal(os_it_setup(&t, "kill", 3), 0);
    produce(&t, 0, NEVENTS / 2);
    char logf[128];
    int port = ts_free_port();
    snprintf(logf, sizeof logf, "/tmp/it_order_kill9_%d.log", (int)getpid());
    pid_t pid = os_it_start(&t, port, fast_env, logf);
    assert_true(pid > 0);
    produce(&t, NEVENTS / 2, NEVENTS);
    /* kill -9 somewhere in the middle */
    long long at = 0;
    long long end = ts_now_ms() + 60000;
    while ((at = os_it_scalar(&t, OFFSETS_SQL)) < NEVENTS / 3 && ts_now_ms() < end)
        ts_sleep_ms(5);
    os_it_kill9(pid);
    long long rows_at = os_it_scalar(&t, "SELECT count(*) FROM \"order\".customers");
    long long offs_at = os_it_scalar(&t, OFFSETS_SQL);
    printf("killed -9 with %lld/%d events committed (%lld rows)\n", offs_at, NEVENTS, rows_at);
    assert_true(offs_at < NEVENTS);
    pid = os_it_start(&t, port, fast_env, logf);
    assert_true(pid > 0);
    long long t0 = ts_now_ms();
    assert_int_equal(os_it_wait_scalar(&t, OFFSETS_SQL, NEVENTS, 120000), NEVENTS);
    printf("restart caught up the remaining %lld events in %lld ms\n", NEVENTS - offs_at, ts_now_ms() - t0);
    check_exact(&t);
    assert_int_equal(os_it_stop(pid), 0);
    os_it_teardown(&t);
}

static void test_two_replicas_one_killed(void **state)
{
    (void)state;
    os_it_t t;
    assert_int_equal(os_it_setup(&t, "repl", 4), 0);
    char loga[128], logb[128];
    int pa = ts_free_port(), pb = ts_free_port();
    snprintf(loga, sizeof loga, "/tmp/it_order_replica_a_%d.log", (int)getpid());
    snprintf(logb, sizeof logb, "/tmp/it_order_replica_b_%d.log", (int)getpid());
    pid_t a = os_it_start(&t, pa, fast_env, loga);
    pid_t b = os_it_start(&t, pb, fast_env, logb);
    assert_true(a > 0 && b > 0);
    assert_int_equal(os_it_wait_ready(pa, 30000), 0);
    assert_int_equal(os_it_wait_ready(pb, 30000), 0);
    /* both in the group, partitions split: B (started second) was assigned some */
    assert_int_equal(wait_assigned(logb), 0);
    produce(&t, 0, NEVENTS / 2);
    long long end = ts_now_ms() + 60000, ha = 0, hb = 0;
    while (
        (os_it_scalar(&t, OFFSETS_SQL) < NEVENTS / 4 || (ha = handled(pa)) == 0 || (hb = handled(pb)) == 0) &&
        ts_now_ms() < end)
        ts_sleep_ms(5);
    os_it_kill9(a);
    long long offs_at = os_it_scalar(&t, OFFSETS_SQL);
    printf("replica A killed -9 with %lld events committed (A had handled %lld, B %lld)\n", offs_at, ha, hb);
    /* each owned partitions: A's are left to B, which must take them over for the rest */
    assert_true(ha > 0 && hb > 0);
    produce(&t, NEVENTS / 2, NEVENTS);
    long long t0 = ts_now_ms();
    assert_int_equal(os_it_wait_scalar(&t, OFFSETS_SQL, NEVENTS, 120000), NEVENTS);
    printf("replica B finished the stream %lld ms after the second half was produced\n", ts_now_ms() - t0);
    check_exact(&t);
    assert_int_equal(os_it_stop(b), 0);
    os_it_teardown(&t);
}

static void test_apply_failed_goes_to_dlq(void **state)
{
    (void)state;
    os_it_t t;
    char a[37], evil[37], c[37], sql[256];
    static const char *const env[] = {"PROJECTION_MAX_RETRIES=2", "PROJECTION_RETRY_BACKOFF_MS=100", NULL};
    assert_int_equal(os_it_setup(&t, "fault", 1), 0);
    char logf[128];
    snprintf(logf, sizeof logf, "/tmp/it_order_fault_%d.log", (int)getpid());
    int port = ts_free_port();
    pid_t pid = os_it_start(&t, port, env, logf);
    assert_int_equal(os_it_wait_ready(port, 30000), 0);
    assert_int_equal(os_it_scalar(&t, "SELECT 1 FROM pg_constraint LIMIT 1"), 1);
    PQclear(PQexec(t.pg, "ALTER TABLE \"order\".customers ADD CONSTRAINT it_no_evil "
                         "CHECK (username <> 'evil')"));
    os_it_uuid(a, 1);
    os_it_uuid(evil, 2);
    os_it_uuid(c, 3);
    assert_int_equal(os_it_send(&t, a, 1, "good-a", 0), 0);
    assert_int_equal(os_it_send(&t, evil, 1, "evil", 0), 0);
    assert_int_equal(os_it_send(&t, c, 1, "good-c", 1), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"order\".customers WHERE id IN ('%s','%s')", a, c);
    assert_int_equal(os_it_wait_scalar(&t, sql, 2, 30000), 2);
    assert_int_equal(os_it_wait_scalar(&t, OFFSETS_SQL, 3, 10000), 3);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"order\".customers WHERE id = '%s'", evil);
    assert_int_equal(os_it_scalar(&t, sql), 0);
    json_t *dlq = NULL;
    assert_int_equal(os_it_dlq_read(&t, &dlq), 1);
    json_t *x = json_array_get(dlq, 0);
    assert_string_equal(json_string_value(json_object_get(x, "dlq.reason")), "apply-failed");
    assert_string_equal(json_string_value(json_object_get(x, "dlq.source.offset")), "1");
    assert_non_null(strstr(json_string_value(json_object_get(x, "dlq.detail")), "it_no_evil"));
    json_decref(dlq);
    assert_int_equal(os_it_stop(pid), 0);
    os_it_teardown(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_mid_stream),
        cmocka_unit_test(test_two_replicas_one_killed),
        cmocka_unit_test(test_apply_failed_goes_to_dlq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
