/* test_projector_loop.c — deterministic unit tests of the live projector's loop
 * (os_projector_step in messaging/projector_loop.c) driven through its ports by fakes
 * (fake_workers.h: a topic and its consumer, a database, a dead-letter sink, a clock; no I/O):
 *  - failover: a batch fails while the database is away, and the database comes back
 *    without the last committed batch (rows and offsets): the loop re-reads its position
 *    from the store and applies those events again (the case of commit e03bdbe);
 *  - a rebalance in the middle of a batch: what the old assignment collected is dropped and
 *    read again from the stored offsets, the message the same poll returned is kept;
 *    partitions moved away are not applied;
 *  - a poison message dead-lettered, later events of the same key applied; an event the
 *    database refuses dead-lettered ("apply-failed") after max_retries, later events of the
 *    same key applied;
 *  - a crash that loses the last commits of an idle projection: nothing happens until the
 *    next check, which re-reads the position, reports catching up and re-applies; lag from
 *    the stored offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_workers.h"
#include "messaging/projector_int.h"

#define CHECK_MS 1000

static int setup(void **state)
{
    static fw_world_t w;
    *state = &w;
    return fw_world_setup(&w, "test-projector-loop", CHECK_MS);
}

/* Customer n is at `version` with username `name`. */
static void expect_row(fw_world_t *w, int n, int64_t version, const char *name)
{
    const char *got = NULL;
    int64_t v = fw_version(&w->db, n, &got);
    if (v != version)
        fprintf(stderr, "customer %d: version %lld, expected %lld\n", n, (long long)v, (long long)version);
    assert_int_equal(v, version);
    if (name != NULL)
        assert_string_equal(got, name);
}

static void test_failover_loses_last_batch(void **state)
{
    fw_world_t *w = *state;
    char name[16];
    for (int c = 1; c <= 6; c++) {
        snprintf(name, sizeof name, "c%d", c);
        fw_send(&w->topic, w->codec, 0, c, 1, name);
    }
    fw_world_start(w, 1, 3);
    fw_world_steps(w, 1); /* c1..c3 */
    assert_int_equal(w->db.committed.offsets[0], 3);
    fw_state_t before = w->db.committed; /* what the standby has */
    fw_world_steps(w, 1);                /* c4..c6: committed on the primary only */
    assert_int_equal(w->db.committed.offsets[0], 6);
    assert_int_equal(fw_rows(&w->db), 6);

    /* the primary dies; an event arrives; its batch fails while no server answers */
    fw_send(&w->topic, w->codec, 0, 7, 1, "c7");
    w->db.down = 1;
    int commits = w->db.commits;
    fw_world_steps(w, 3);
    assert_int_equal(w->db.commits, commits);
    /* the standby is promoted without the last committed batch: a new session */
    w->db.committed = before;
    w->db.down = 0;
    w->db.new_session = 1;
    fw_world_steps(w, 4);
    for (int c = 1; c <= 7; c++) {
        snprintf(name, sizeof name, "c%d", c);
        expect_row(w, c, 1, name);
    }
    assert_int_equal(w->db.committed.offsets[0], 7);
    assert_int_equal(fw_rows(&w->db), 7);
    assert_false(os_projector_catching_up(w->p));
}

/* Two partitions of three events each; a rebalance inside the third poll of the first batch
 * gives both partitions back (from the stored offsets: none yet). */
static void test_rebalance_mid_batch(void **state)
{
    fw_world_t *w = *state;
    char name[16];
    for (int c = 1; c <= 6; c++) {
        snprintf(name, sizeof name, "c%d", c);
        fw_send(&w->topic, w->codec, c <= 3 ? 0 : 1, c, 1, name);
    }
    fw_world_start(w, 2, 4);
    w->topic.rebalance_again = 3;
    fw_world_steps(w, 4);
    for (int c = 1; c <= 6; c++) {
        snprintf(name, sizeof name, "c%d", c);
        expect_row(w, c, 1, name);
    }
    assert_int_equal(w->db.committed.offsets[0], 3);
    assert_int_equal(w->db.committed.offsets[1], 3);
    assert_int_equal(w->topic.polls >= 3, 1);
}

/* The same rebalance moves partition 1 to another replica: its event collected before the
 * rebalance is not applied here, and no offset is stored for it. */
static void test_rebalance_mid_batch_moves_partition(void **state)
{
    fw_world_t *w = *state;
    char name[16];
    for (int c = 1; c <= 6; c++) {
        snprintf(name, sizeof name, "c%d", c);
        fw_send(&w->topic, w->codec, c <= 3 ? 0 : 1, c, 1, name);
    }
    fw_world_start(w, 2, 4);
    w->topic.rebalance_again = 3;
    w->topic.nreassign = 1; /* the second rebalance assigns partition 0 only */
    fw_world_steps(w, 4);
    for (int c = 1; c <= 3; c++) {
        snprintf(name, sizeof name, "c%d", c);
        expect_row(w, c, 1, name);
    }
    for (int c = 4; c <= 6; c++)
        expect_row(w, c, -1, NULL);
    assert_int_equal(w->db.committed.offsets[0], 3);
    assert_int_equal(w->db.committed.offsets[1], -1);
}

static void test_poison_then_same_key(void **state)
{
    fw_world_t *w = *state;
    static const unsigned char bad_magic[] = {0x07, 0, 0, 0, 2, 1, 2, 3};
    fw_send(&w->topic, w->codec, 0, 1, 1, "a1");
    fw_send_raw(&w->topic, 0, 1, bad_magic, sizeof bad_magic);
    fw_send(&w->topic, w->codec, 0, 1, 2, "a2");
    fw_send(&w->topic, w->codec, 0, 1, 3, "a3");
    fw_world_start(w, 1, 2);
    fw_world_steps(w, 3);
    assert_int_equal(w->dlq.n, 1);
    assert_string_equal(w->dlq.reason[0], "bad-magic");
    assert_int_equal(w->dlq.offset[0], 1);
    expect_row(w, 1, 3, "a3");
    assert_int_equal(w->db.committed.offsets[0], 4);
    assert_true(metrics_get(w->metrics, "order_projection_dlq_total", "reason=\"bad-magic\"") == 1.0);
}

static void test_apply_failed_then_same_key(void **state)
{
    fw_world_t *w = *state;
    snprintf(w->db.refuse, sizeof w->db.refuse, "evil");
    fw_send(&w->topic, w->codec, 0, 1, 1, "ok1");
    fw_send(&w->topic, w->codec, 0, 1, 2, "evil"); /* the batch's net operation for customer 1 */
    fw_send(&w->topic, w->codec, 0, 1, 3, "ok3");
    fw_send(&w->topic, w->codec, 0, 2, 1, "b1");
    fw_world_start(w, 1, 2);
    fw_world_steps(w, 6); /* three failed attempts, one by one, then the second batch */
    assert_int_equal(w->dlq.n, 1);
    assert_string_equal(w->dlq.reason[0], "apply-failed");
    assert_int_equal(w->dlq.offset[0], 1);
    expect_row(w, 1, 3, "ok3");
    expect_row(w, 2, 1, "b1");
    assert_int_equal(w->db.committed.offsets[0], 4);
    assert_int_equal(atomic_load(&w->p->healthy), 1);
}

/* Customers 1..4 on partition 0 and 5..6 on partition 1, all applied; then a crash loses the
 * last commit of partition 0 (customers 3 and 4, offsets 4 → 2) while nothing new arrives. */
static void crash_idle(fw_world_t *w, int new_session)
{
    char name[16];
    for (int c = 1; c <= 6; c++) {
        snprintf(name, sizeof name, "c%d", c);
        fw_send(&w->topic, w->codec, c <= 4 ? 0 : 1, c, 1, name);
    }
    fw_world_start(w, 2, 1);
    fw_world_steps(w, 8);
    assert_int_equal(w->db.committed.offsets[0], 4);
    assert_int_equal(w->db.committed.offsets[1], 2);
    assert_true(metrics_get(w->metrics, "order_consumer_lag", "partition=\"0\"") == 0.0);

    for (int i = 0; i < FW_ROWS; i++) {
        fw_row_t *r = &w->db.committed.rows[i];
        char id3[40], id4[40];
        fw_id(id3, 3);
        fw_id(id4, 4);
        if (r->used && (strcmp(r->id, id3) == 0 || strcmp(r->id, id4) == 0))
            r->used = 0;
    }
    w->db.committed.offsets[0] = 2;
    w->db.new_session = new_session;

    fw_world_steps(w, 5); /* no traffic, no check due: still stale */
    expect_row(w, 3, -1, NULL);
    assert_false(os_projector_catching_up(w->p));

    w->clock.now += CHECK_MS;
    fw_world_steps(w, 1); /* the check: position re-read, customer 3 applied again */
    expect_row(w, 3, 1, "c3");
    expect_row(w, 4, -1, NULL);
    assert_true(os_projector_catching_up(w->p));
    assert_true(metrics_get(w->metrics, "order_consumer_lag", "partition=\"0\"") == 1.0);
    fw_world_steps(w, 1);
    expect_row(w, 4, 1, "c4");
    assert_false(os_projector_catching_up(w->p));
    assert_int_equal(w->db.committed.offsets[0], 4);
    assert_true(metrics_get(w->metrics, "order_consumer_lag", "partition=\"0\"") == 0.0);
    assert_int_equal(fw_rows(&w->db), 6);
}

static void test_crash_idle_new_session(void **state)
{
    crash_idle(*state, 1);
}

static void test_crash_idle_same_session(void **state)
{
    crash_idle(*state, 0);
}

/* A check while the database does not answer decides nothing; once it answers, nothing was
 * lost, and the projection is not catching up. */
static void test_check_with_database_down(void **state)
{
    fw_world_t *w = *state;
    fw_send(&w->topic, w->codec, 0, 1, 1, "c1");
    fw_world_start(w, 1, 10);
    fw_world_steps(w, 2);
    w->db.down = 1;
    w->clock.now += CHECK_MS;
    fw_world_steps(w, 2);
    w->db.down = 0;
    w->clock.now += CHECK_MS;
    fw_world_steps(w, 2);
    assert_false(os_projector_catching_up(w->p));
    expect_row(w, 1, 1, "c1");
    assert_int_equal(w->db.committed.offsets[0], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failover_loses_last_batch, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_mid_batch, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_mid_batch_moves_partition, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_poison_then_same_key, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_apply_failed_then_same_key, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_crash_idle_new_session, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_crash_idle_same_session, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_check_with_database_down, setup, fw_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
