/* test_projector.c — unit tests of the projection service with a fake transactional
 * store (no I/O): events in → rows out, offsets stored with the rows, out-of-order
 * versions, tombstones, a failure at any step leaves rows AND offsets unchanged, replaying
 * a batch after a crash changes nothing; plus event validation (poison detection). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "application/projection_svc.h"

#define MAXROWS 64
typedef struct row {
    char id[PROJ_ID_LEN + 1];
    char username[64];
    int64_t version;
    int used;
} row_t;

typedef struct db {
    row_t rows[MAXROWS];
    int64_t offsets[8]; /* next offset per partition, -1 none */
} db_t;

typedef struct fstore {
    db_t committed;
    db_t tx; /* working copy inside a transaction */
    int in_tx;
    const char *fail_at; /* "begin", "load", "apply", "offsets", "commit" or NULL */
    int commits, rollbacks, applies;
} fstore_t;

static row_t *find(db_t *d, const char *id)
{
    for (int i = 0; i < MAXROWS; i++)
        if (d->rows[i].used && strcmp(d->rows[i].id, id) == 0)
            return &d->rows[i];
    return NULL;
}

static int inject(fstore_t *s, const char *step, char *err, size_t errlen)
{
    if (s->fail_at && strcmp(s->fail_at, step) == 0) {
        snprintf(err, errlen, "injected failure at %s", step);
        return 1;
    }
    return 0;
}

static int fs_begin(void *self, char *err, size_t errlen)
{
    fstore_t *s = self;
    assert_false(s->in_tx);
    if (inject(s, "begin", err, errlen))
        return -1;
    s->tx = s->committed;
    s->in_tx = 1;
    return 0;
}

static int fs_load(void *self, const char *const *ids, size_t n, proj_stored_t *out, char *err, size_t errlen)
{
    fstore_t *s = self;
    assert_true(s->in_tx);
    if (inject(s, "load", err, errlen))
        return -1;
    for (size_t i = 0; i < n; i++) {
        row_t *r = find(&s->tx, ids[i]);
        assert_string_equal(out[i].customer_id, ids[i]);
        out[i].found = r != NULL;
        out[i].version = r ? r->version : 0;
    }
    return 0;
}

static int fs_apply(void *self, const proj_op_t *ops, size_t n, char *err, size_t errlen)
{
    fstore_t *s = self;
    assert_true(s->in_tx);
    s->applies++;
    for (size_t i = 0; i < n; i++) {
        row_t *r = find(&s->tx, ops[i].ev->customer_id);
        if (ops[i].kind == PROJ_OP_DELETE) {
            assert_non_null(r);
            r->used = 0;
            continue;
        }
        if (r == NULL) {
            for (int k = 0; k < MAXROWS && r == NULL; k++)
                if (!s->tx.rows[k].used)
                    r = &s->tx.rows[k];
            assert_non_null(r);
            r->used = 1;
            strcpy(r->id, ops[i].ev->customer_id);
        }
        snprintf(r->username, sizeof r->username, "%s", ops[i].ev->username);
        r->version = ops[i].ev->version;
    }
    if (inject(s, "apply", err, errlen))
        return -1;
    return 0;
}

static int fs_offsets(void *self, const char *topic, const os_offset_t *o, size_t n, char *err, size_t errlen)
{
    fstore_t *s = self;
    assert_string_equal(topic, "customer");
    if (inject(s, "offsets", err, errlen))
        return -1;
    for (size_t i = 0; i < n; i++)
        s->tx.offsets[o[i].partition] = o[i].next_offset;
    return 0;
}

static int fs_commit(void *self, char *err, size_t errlen)
{
    fstore_t *s = self;
    assert_true(s->in_tx);
    s->in_tx = 0;
    if (inject(s, "commit", err, errlen))
        return -1;
    s->committed = s->tx;
    s->commits++;
    return 0;
}

static void fs_rollback(void *self)
{
    fstore_t *s = self;
    s->in_tx = 0;
    s->rollbacks++;
}

static os_projstore_port_t port_of(fstore_t *s)
{
    os_projstore_port_t p = {s, fs_begin, fs_load, fs_apply, fs_offsets, fs_commit, fs_rollback};
    return p;
}

static void fs_init(fstore_t *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++)
        s->committed.offsets[i] = -1;
}

#include "proj_fx.h"

static void test_events_in_rows_out(void **st)
{
    (void)st;
    fstore_t s;
    fs_init(&s);
    os_projstore_port_t p = port_of(&s);
    proj_event_t evs[] = {up(A, 1, "a1"), up(B, 1, "b1"), up(A, 2, "a2")};
    os_offset_t offs[] = {{0, 3, 0}};
    os_proj_stats_t stats;
    char err[128];
    memset(&stats, 0, sizeof stats);
    assert_int_equal(os_projection_apply(&p, "customer", evs, 3, offs, 1, &stats, err, sizeof err), 0);
    assert_int_equal(s.commits, 1);
    assert_string_equal(find(&s.committed, A)->username, "a2");
    assert_int_equal(find(&s.committed, A)->version, 2);
    assert_string_equal(find(&s.committed, B)->username, "b1");
    assert_int_equal(s.committed.offsets[0], 3);
    assert_int_equal(stats.events, 3);
    assert_int_equal(stats.inserted, 2);
    assert_int_equal(stats.updated, 1);
    assert_int_equal(stats.ops, 2);
}

static void test_out_of_order_and_tombstone_across_batches(void **st)
{
    (void)st;
    fstore_t s;
    fs_init(&s);
    os_projstore_port_t p = port_of(&s);
    char err[128];
    os_proj_stats_t stats;
    memset(&stats, 0, sizeof stats);
    proj_event_t b1[] = {up(A, 3, "a3")};
    proj_event_t b2[] = {up(A, 2, "a2"), up(A, 3, "a3-dup")};
    proj_event_t b3[] = {del(A), del(B)};
    os_offset_t o1[] = {{1, 10, 0}}, o2[] = {{1, 12, 0}}, o3[] = {{1, 14, 0}};
    assert_int_equal(os_projection_apply(&p, "customer", b1, 1, o1, 1, &stats, err, sizeof err), 0);
    assert_int_equal(os_projection_apply(&p, "customer", b2, 2, o2, 1, &stats, err, sizeof err), 0);
    assert_string_equal(find(&s.committed, A)->username, "a3");
    assert_int_equal(stats.skipped_stale, 2);
    assert_int_equal(s.committed.offsets[1], 12);
    assert_int_equal(os_projection_apply(&p, "customer", b3, 2, o3, 1, &stats, err, sizeof err), 0);
    assert_null(find(&s.committed, A));
    assert_int_equal(stats.deleted, 1);
    assert_int_equal(stats.skipped_absent, 1);
    assert_int_equal(s.committed.offsets[1], 14);
}

static void test_failure_anywhere_changes_nothing(void **st)
{
    (void)st;
    const char *steps[] = {"begin", "load", "apply", "offsets", "commit"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        fstore_t s;
        fs_init(&s);
        os_projstore_port_t p = port_of(&s);
        char err[128] = "";
        proj_event_t b0[] = {up(A, 1, "a1")};
        os_offset_t o0[] = {{0, 1, 0}};
        assert_int_equal(os_projection_apply(&p, "customer", b0, 1, o0, 1, NULL, err, sizeof err), 0);
        db_t before = s.committed;
        s.fail_at = steps[i];
        proj_event_t b1[] = {up(A, 2, "a2"), up(B, 1, "b1")};
        os_offset_t o1[] = {{0, 3, 0}};
        assert_int_equal(os_projection_apply(&p, "customer", b1, 2, o1, 1, NULL, err, sizeof err), -1);
        assert_non_null(strstr(err, steps[i]));
        assert_memory_equal(&before, &s.committed, sizeof before);
        assert_false(s.in_tx);
        /* retry after the fault: applied exactly once */
        s.fail_at = NULL;
        assert_int_equal(os_projection_apply(&p, "customer", b1, 2, o1, 1, NULL, err, sizeof err), 0);
        assert_int_equal(find(&s.committed, A)->version, 2);
        assert_int_equal(s.committed.offsets[0], 3);
    }
}

static void test_replay_is_idempotent(void **st)
{
    (void)st;
    fstore_t s;
    fs_init(&s);
    os_projstore_port_t p = port_of(&s);
    char err[128];
    proj_event_t b[] = {up(A, 1, "a1"), up(B, 1, "b1"), up(A, 2, "a2"), del(B)};
    os_offset_t o[] = {{0, 4, 0}};
    assert_int_equal(os_projection_apply(&p, "customer", b, 4, o, 1, NULL, err, sizeof err), 0);
    db_t once = s.committed;
    /* a crash after commit but before the consumer moved on: the same batch comes again */
    int applies = s.applies;
    assert_int_equal(os_projection_apply(&p, "customer", b, 4, o, 1, NULL, err, sizeof err), 0);
    assert_int_equal(s.applies, applies); /* nothing to write: all stale */
    assert_memory_equal(&once, &s.committed, sizeof once);
}

static void test_offsets_only_batch(void **st)
{
    (void)st;
    fstore_t s;
    fs_init(&s);
    os_projstore_port_t p = port_of(&s);
    char err[128];
    os_offset_t o[] = {{2, 7, 0}, {3, 9, 0}};
    assert_int_equal(os_projection_apply(&p, "customer", NULL, 0, o, 2, NULL, err, sizeof err), 0);
    assert_int_equal(s.committed.offsets[2], 7);
    assert_int_equal(s.committed.offsets[3], 9);
    /* a store without offsets (rebuild shadow) */
    p.save_offsets = NULL;
    proj_event_t b[] = {up(A, 1, "a1")};
    assert_int_equal(os_projection_apply(&p, "customer", b, 1, o, 2, NULL, err, sizeof err), 0);
    assert_non_null(find(&s.committed, A));
}

static void test_event_valid(void **st)
{
    (void)st;
    char msg[128];
    proj_event_t e = up(A, 1, "ok");
    assert_true(proj_event_valid(&e, msg, sizeof msg));
    e.version = 0;
    assert_false(proj_event_valid(&e, msg, sizeof msg));
    assert_string_equal(msg, "version 0 is not >= 1");
    e = up("nope", 1, "x");
    assert_false(proj_event_valid(&e, msg, sizeof msg));
    assert_string_equal(msg, "customer id is not a UUID");
    e = up(A, 1, "bad\xff");
    assert_false(proj_event_valid(&e, msg, sizeof msg));
    assert_string_equal(msg, "username is not valid UTF-8");
    e = up(A, 1, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    assert_true(proj_event_valid(&e, msg, sizeof msg));
    e = up(A, 1, "trunc\xe2\x82");
    assert_false(proj_event_valid(&e, msg, sizeof msg));
    e = up(A, 1, "overlong\xc0\xaf");
    assert_false(proj_event_valid(&e, msg, sizeof msg));
    e = up(A, 1, "surrogate\xed\xa0\x80");
    assert_false(proj_event_valid(&e, msg, sizeof msg));
    e = up(A, 1, "x");
    e.last_name = NULL;
    assert_false(proj_event_valid(&e, msg, sizeof msg));
    assert_string_equal(msg, "lastName is missing");
    static char big[PROJ_TEXT_MAX + 2];
    memset(big, 'x', PROJ_TEXT_MAX + 1);
    e = up(A, 1, big);
    assert_false(proj_event_valid(&e, msg, sizeof msg));
    e = del(A);
    assert_true(proj_event_valid(&e, msg, sizeof msg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_in_rows_out),
        cmocka_unit_test(test_out_of_order_and_tombstone_across_batches),
        cmocka_unit_test(test_failure_anywhere_changes_nothing),
        cmocka_unit_test(test_replay_is_idempotent),
        cmocka_unit_test(test_offsets_only_batch),
        cmocka_unit_test(test_event_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
