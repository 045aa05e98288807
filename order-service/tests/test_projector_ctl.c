/* test_projector_ctl.c — unit tests of the operator's commands to the live projector
 * (messaging/projector_ctl.c) driven through its ports by fakes (fake_workers.h; no I/O). A
 * helper thread puts each command, as an HTTP thread does, while the test thread runs the
 * loop's steps:
 *  - pause: nothing is applied while paused, even with new records; resume applies them;
 *  - a move back to offset 0 re-applies every event: the version guard skips them all (rows
 *    unchanged, counted skip-stale), the stored offsets end where they were, with a new epoch;
 *  - a move by another replica (the stored epoch bumped under this projector) makes its next
 *    batch drop instead of storing over the move: no failed batch, no dead letter, and it
 *    consumes from the moved position;
 *  - a command waiting for a projector that never steps is withdrawn after its timeout.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_workers.h"
#include "messaging/projector_int.h"

static int setup(void **state)
{
    static fw_world_t w;
    *state = &w;
    return fw_world_setup(&w, "test-projector-ctl", 1000);
}

/* ---- a command put by another thread while this one steps ---- */

typedef struct cmd {
    fw_world_t *w;
    os_cmd_kind_t kind;
    os_move_t mv[FW_PARTS];
    size_t n;
    int timeout_ms;
    int rc;
    char err[512];
    atomic_int done;
} cmd_t;

static void *cmd_main(void *arg)
{
    cmd_t *c = arg;
    if (c->kind == OS_CMD_MOVE)
        c->rc = os_projector_move(c->w->p, c->mv, c->n, "test", c->timeout_ms, c->err, sizeof c->err);
    else
        c->rc =
            os_projector_set_paused(c->w->p, c->kind == OS_CMD_PAUSE, c->timeout_ms, c->err, sizeof c->err);
    atomic_store(&c->done, 1);
    return NULL;
}

/* Runs the command to its end, stepping the projector meanwhile. Returns its rc. */
static int run_cmd(fw_world_t *w, cmd_t *c)
{
    pthread_t t;
    c->w = w;
    if (c->timeout_ms == 0)
        c->timeout_ms = 5000;
    assert_int_equal(pthread_create(&t, NULL, cmd_main, c), 0);
    while (!atomic_load(&c->done))
        os_projector_step(w->p);
    pthread_join(t, NULL);
    return c->rc;
}

static int64_t row(fw_world_t *w, int n)
{
    return fw_version(&w->db, n, NULL);
}

static void test_pause_resume(void **state)
{
    fw_world_t *w = *state;
    fw_send(&w->topic, w->codec, 0, 1, 1, "a1");
    fw_world_start(w, 1, 10);
    fw_world_steps(w, 2);
    assert_int_equal(row(w, 1), 1);
    cmd_t pause = {.kind = OS_CMD_PAUSE};
    assert_int_equal(run_cmd(w, &pause), 0);
    os_projctl_state_t st;
    os_projector_state(w->p, &st);
    assert_true(st.paused);
    assert_int_equal(st.nassigned, 1);
    fw_send(&w->topic, w->codec, 0, 1, 2, "a2");
    fw_send(&w->topic, w->codec, 0, 2, 1, "b1");
    fw_world_steps(w, 5);
    assert_int_equal(row(w, 1), 1); /* nothing applied while paused */
    assert_int_equal(row(w, 2), -1);
    assert_int_equal(w->db.committed.offsets[0], 1);
    cmd_t resume = {.kind = OS_CMD_RESUME};
    assert_int_equal(run_cmd(w, &resume), 0);
    fw_world_steps(w, 3);
    assert_int_equal(row(w, 1), 2);
    assert_int_equal(row(w, 2), 1);
    assert_int_equal(w->db.committed.offsets[0], 3);
    os_projector_state(w->p, &st);
    assert_false(st.paused);
}

static void test_move_back_replays_without_going_back(void **state)
{
    fw_world_t *w = *state;
    for (int v = 1; v <= 3; v++)
        fw_send(&w->topic, w->codec, 0, 1, v, v == 3 ? "a3" : "a-old");
    fw_send(&w->topic, w->codec, 0, 2, 1, "b1");
    fw_world_start(w, 1, 2);
    fw_world_steps(w, 4);
    assert_int_equal(row(w, 1), 3);
    assert_int_equal(w->db.committed.offsets[0], 4);
    double stale = metrics_get(w->metrics, "order_projection_events_total", "decision=\"skip-stale\"");
    cmd_t mv = {.kind = OS_CMD_MOVE, .n = 1};
    mv.mv[0] = (os_move_t){0, 0, 0, 0};
    assert_int_equal(run_cmd(w, &mv), 0);
    assert_int_equal(mv.mv[0].from, 4);
    assert_int_equal(mv.mv[0].epoch, 1);
    fw_world_steps(w, 5);
    /* every event read again, none applied: the rows are where they were */
    const char *name = NULL;
    assert_int_equal(fw_version(&w->db, 1, &name), 3);
    assert_string_equal(name, "a3");
    assert_int_equal(row(w, 2), 1);
    assert_int_equal(w->db.committed.offsets[0], 4);
    assert_int_equal(w->db.committed.epochs[0], 1);
    assert_true(metrics_get(w->metrics, "order_projection_events_total", "decision=\"skip-stale\"") - stale >=
                4.0);
    assert_true(metrics_get(w->metrics, "order_projection_moves_total", NULL) == 1.0);
    assert_false(os_projector_catching_up(w->p)); /* a move is no loss */
    assert_int_equal(w->dlq.n, 0);
}

static void test_move_by_another_replica(void **state)
{
    fw_world_t *w = *state;
    fw_send(&w->topic, w->codec, 0, 1, 1, "a1");
    fw_send(&w->topic, w->codec, 0, 1, 2, "a2");
    fw_world_start(w, 1, 10);
    fw_world_steps(w, 2);
    assert_int_equal(w->db.committed.offsets[0], 2);
    /* another replica's operator moves partition 0 back to 1 (the database only) */
    os_projdb_port_t db = fw_db_port(&w->db);
    os_move_t mv = {0, 1, 0, 0};
    char err[128];
    assert_int_equal(db.move_offsets(db.self, "customer", &mv, 1, "elsewhere", err, sizeof err), 0);
    fw_send(&w->topic, w->codec, 0, 2, 1, "b1");
    int failed_before = (int)metrics_get(w->metrics, "order_projection_batches_total", "result=\"failed\"");
    fw_world_steps(w, 1); /* its batch [2] meets the new epoch: dropped, not stored over the move */
    assert_int_equal(w->db.epoch_fail, 1);
    assert_int_equal(w->db.committed.offsets[0], 1);
    fw_world_steps(w, 3); /* from the moved position: a2 (skip-stale), b1 */
    assert_int_equal(row(w, 1), 2);
    assert_int_equal(row(w, 2), 1);
    assert_int_equal(w->db.committed.offsets[0], 3);
    assert_int_equal((int)metrics_get(w->metrics, "order_projection_batches_total", "result=\"failed\""),
                     failed_before);
    assert_int_equal(w->dlq.n, 0);
    assert_false(os_projector_catching_up(w->p));
}

static void test_command_withdrawn_on_timeout(void **state)
{
    fw_world_t *w = *state;
    char err[512];
    fw_world_start(w, 1, 10);
    /* nobody steps: the command is not taken within its timeout */
    assert_int_equal(os_projector_set_paused(w->p, 1, 100, err, sizeof err), -1);
    assert_non_null(strstr(err, "did not take the command"));
    fw_world_steps(w, 2); /* the withdrawn command never runs */
    os_projctl_state_t st;
    os_projector_state(w->p, &st);
    assert_false(st.paused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pause_resume, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_move_back_replays_without_going_back, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_move_by_another_replica, setup, fw_world_teardown),
        cmocka_unit_test_setup_teardown(test_command_withdrawn_on_timeout, setup, fw_world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
