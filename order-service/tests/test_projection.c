/* test_projection.c — unit tests of the read model's decision rules and batch planning
 * (versions in and out of order, repeats, tombstones, several customers per batch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/projection.h"

#include "proj_fx.h"

#define C "00000000-0000-0000-0000-00000000000c"

static proj_stored_t stored(const char *id, int64_t v)
{
    proj_stored_t s;
    memset(&s, 0, sizeof s);
    strcpy(s.customer_id, id);
    s.found = 1;
    s.version = v;
    return s;
}

static void test_decide(void **st)
{
    (void)st;
    proj_event_t e = up(A, 3, "u");
    proj_event_t t = del(A);
    assert_int_equal(proj_decide(0, 0, &e), PROJ_INSERT);
    assert_int_equal(proj_decide(1, 2, &e), PROJ_UPDATE);
    assert_int_equal(proj_decide(1, 3, &e), PROJ_SKIP_STALE); /* repeated */
    assert_int_equal(proj_decide(1, 4, &e), PROJ_SKIP_STALE); /* older */
    assert_int_equal(proj_decide(1, 4, &t), PROJ_DELETE);
    assert_int_equal(proj_decide(0, 0, &t), PROJ_SKIP_ABSENT);
    assert_string_equal(proj_decision_name(PROJ_SKIP_STALE), "skip-stale");
    assert_string_equal(proj_decision_name(PROJ_INSERT), "insert");
}

/* Plans evs against st and checks that the plan equals the one-by-one result. */
typedef struct plan {
    proj_decision_t d[16];
    proj_op_t ops[16];
    size_t nops;
} plan_t;

static void run(const proj_event_t *evs, size_t n, const proj_stored_t *st, size_t nst, plan_t *p)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(proj_plan(evs, n, st, nst, p->d, p->ops, &p->nops), 0);
}

static void test_out_of_order_versions(void **st)
{
    (void)st;
    proj_event_t evs[] = {up(A, 3, "v3"), up(A, 1, "v1"), up(A, 2, "v2")};
    plan_t p;
    run(evs, 3, NULL, 0, &p);
    assert_int_equal(p.d[0], PROJ_INSERT);
    assert_int_equal(p.d[1], PROJ_SKIP_STALE);
    assert_int_equal(p.d[2], PROJ_SKIP_STALE);
    assert_int_equal(p.nops, 1);
    assert_int_equal(p.ops[0].kind, PROJ_OP_UPSERT);
    assert_string_equal(p.ops[0].ev->username, "v3");
    assert_int_equal(p.ops[0].had_row, 0);
}

static void test_stored_newer_skips_everything(void **st)
{
    (void)st;
    proj_event_t evs[] = {up(A, 1, "a"), up(A, 5, "b"), up(A, 5, "c")};
    proj_stored_t s = stored(A, 5);
    plan_t p;
    run(evs, 3, &s, 1, &p);
    for (int i = 0; i < 3; i++)
        assert_int_equal(p.d[i], PROJ_SKIP_STALE);
    assert_int_equal(p.nops, 0);
}

static void test_in_order_updates_collapse(void **st)
{
    (void)st;
    proj_event_t evs[] = {up(A, 2, "v2"), up(A, 3, "v3"), up(A, 4, "v4")};
    proj_stored_t s = stored(A, 1);
    plan_t p;
    run(evs, 3, &s, 1, &p);
    for (int i = 0; i < 3; i++)
        assert_int_equal(p.d[i], PROJ_UPDATE);
    assert_int_equal(p.nops, 1);
    assert_int_equal(p.ops[0].kind, PROJ_OP_UPSERT);
    assert_string_equal(p.ops[0].ev->username, "v4");
    assert_int_equal(p.ops[0].had_row, 1);
}

static void test_tombstones(void **st)
{
    (void)st;
    plan_t p;
    /* stored row, deleted */
    proj_event_t e1[] = {del(A)};
    proj_stored_t s = stored(A, 7);
    run(e1, 1, &s, 1, &p);
    assert_int_equal(p.d[0], PROJ_DELETE);
    assert_int_equal(p.nops, 1);
    assert_int_equal(p.ops[0].kind, PROJ_OP_DELETE);
    /* tombstone for an unknown customer */
    run(e1, 1, NULL, 0, &p);
    assert_int_equal(p.d[0], PROJ_SKIP_ABSENT);
    assert_int_equal(p.nops, 0);
    /* created and deleted within the batch: nothing to write */
    proj_event_t e2[] = {up(A, 1, "x"), del(A)};
    run(e2, 2, NULL, 0, &p);
    assert_int_equal(p.d[0], PROJ_INSERT);
    assert_int_equal(p.d[1], PROJ_DELETE);
    assert_int_equal(p.nops, 0);
    /* deleted then re-created (any version) within the batch: the new row wins */
    proj_event_t e3[] = {del(A), up(A, 1, "again")};
    run(e3, 2, &s, 1, &p);
    assert_int_equal(p.d[0], PROJ_DELETE);
    assert_int_equal(p.d[1], PROJ_INSERT);
    assert_int_equal(p.nops, 1);
    assert_int_equal(p.ops[0].kind, PROJ_OP_UPSERT);
    assert_string_equal(p.ops[0].ev->username, "again");
    assert_int_equal(p.ops[0].had_row, 1);
    /* double tombstone */
    proj_event_t e4[] = {del(A), del(A)};
    run(e4, 2, &s, 1, &p);
    assert_int_equal(p.d[0], PROJ_DELETE);
    assert_int_equal(p.d[1], PROJ_SKIP_ABSENT);
    assert_int_equal(p.nops, 1);
}

static void test_several_customers(void **st)
{
    (void)st;
    proj_event_t evs[] = {up(C, 1, "c1"), up(A, 2, "a2"), del(B),
                          up(A, 1, "a1"), up(C, 2, "c2"), up(B, 9, "b9")};
    proj_stored_t s[] = {stored(B, 3), stored(A, 1)};
    plan_t p;
    run(evs, 6, s, 2, &p);
    assert_int_equal(p.d[0], PROJ_INSERT);
    assert_int_equal(p.d[1], PROJ_UPDATE);
    assert_int_equal(p.d[2], PROJ_DELETE);
    assert_int_equal(p.d[3], PROJ_SKIP_STALE);
    assert_int_equal(p.d[4], PROJ_UPDATE);
    assert_int_equal(p.d[5], PROJ_INSERT);
    assert_int_equal(p.nops, 3);
    /* sorted by id: A, B, C */
    assert_string_equal(p.ops[0].ev->customer_id, A);
    assert_string_equal(p.ops[0].ev->username, "a2");
    assert_string_equal(p.ops[1].ev->username, "b9");
    assert_int_equal(p.ops[1].had_row, 1);
    assert_string_equal(p.ops[2].ev->username, "c2");
    assert_int_equal(p.ops[2].had_row, 0);
}

static void test_stored_not_found_entry(void **st)
{
    (void)st;
    proj_event_t evs[] = {up(A, 1, "a")};
    proj_stored_t s = stored(A, 99);
    s.found = 0; /* an explicit "no row" answer from the store */
    plan_t p;
    run(evs, 1, &s, 1, &p);
    assert_int_equal(p.d[0], PROJ_INSERT);
}

static void test_empty_and_distinct(void **st)
{
    (void)st;
    plan_t p;
    run(NULL, 0, NULL, 0, &p);
    assert_int_equal(p.nops, 0);
    proj_event_t evs[] = {up(C, 1, "c"), up(A, 1, "a"), del(C), up(B, 1, "b"), up(A, 2, "a")};
    const char *ids[5];
    assert_int_equal(proj_distinct_ids(evs, 5, ids), 3);
    assert_string_equal(ids[0], A);
    assert_string_equal(ids[1], B);
    assert_string_equal(ids[2], C);
}

/* Randomised: planning a batch equals applying the events one by one. */
static void test_plan_equals_sequential(void **st)
{
    (void)st;
    const char *keys[] = {A, B, C};
    uint32_t seed = 12345;
    for (int round = 0; round < 2000; round++) {
        proj_event_t evs[16];
        proj_stored_t s[3];
        /* reference state */
        int found[3];
        int64_t ver[3];
        const char *name[3];
        size_t n = 1 + (seed % 16);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            s[k] = stored(keys[k], (seed >> 8) % 4);
            s[k].found = (seed >> 4) % 2;
            found[k] = s[k].found;
            ver[k] = s[k].version;
            name[k] = "stored";
        }
        static const char *names[] = {"n0", "n1", "n2", "n3", "n4", "n5"};
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            int k = (seed >> 16) % 3;
            if ((seed >> 20) % 4 == 0)
                evs[i] = del(keys[k]);
            else
                evs[i] = up(keys[k], (seed >> 24) % 6, names[(seed >> 24) % 6]);
            proj_decision_t d = proj_decide(found[k], ver[k], &evs[i]);
            if (d == PROJ_INSERT || d == PROJ_UPDATE) {
                found[k] = 1;
                ver[k] = evs[i].version;
                name[k] = evs[i].username;
            } else if (d == PROJ_DELETE) {
                found[k] = 0;
            }
        }
        plan_t p;
        run(evs, n, s, 3, &p);
        /* apply ops to the stored state */
        int f2[3];
        int64_t v2[3];
        const char *nm2[3];
        for (int k = 0; k < 3; k++) {
            f2[k] = s[k].found;
            v2[k] = s[k].version;
            nm2[k] = "stored";
        }
        for (size_t j = 0; j < p.nops; j++) {
            int k = p.ops[j].ev->customer_id[35] - 'a';
            if (p.ops[j].kind == PROJ_OP_DELETE) {
                f2[k] = 0;
            } else {
                f2[k] = 1;
                v2[k] = p.ops[j].ev->version;
                nm2[k] = p.ops[j].ev->username;
            }
        }
        for (int k = 0; k < 3; k++) {
            assert_int_equal(f2[k], found[k]);
            if (found[k]) {
                assert_int_equal(v2[k], ver[k]);
                assert_string_equal(nm2[k], name[k]);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_out_of_order_versions),
        cmocka_unit_test(test_stored_newer_skips_everything),
        cmocka_unit_test(test_in_order_updates_collapse),
        cmocka_unit_test(test_tombstones),
        cmocka_unit_test(test_several_customers),
        cmocka_unit_test(test_stored_not_found_entry),
        cmocka_unit_test(test_empty_and_distinct),
        cmocka_unit_test(test_plan_equals_sequential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
