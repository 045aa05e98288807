/* test_outbox_pos.c — unit tests of the relay's position (messaging/outbox_relay_pos.c), no
 * I/O: rows read in id order move it; an id skipped (a transaction still in flight) becomes
 * a gap, closed when its row is read; a gap is dropped as empty only after a probe taken
 * after it was seen has passed (the read's oldest running transaction is younger), never a
 * gap seen after the probe, never above the read's cut; a failed delivery reopens its id;
 * the delivered offsets grow per partition.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "messaging/outbox_relay_int.h"

static void start_at(relay_pos_t *p, long long upto)
{
    outbox_pos_t stored = {upto, upto, NULL, 0, NULL, 0, NULL};
    memset(p, 0, sizeof *p);
    assert_int_equal(relay_pos_set(p, &stored), 0);
}

static void seen(relay_pos_t *p, long long now, int n, ...)
{
    long long ids[16];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        ids[i] = va_arg(ap, long long);
    va_end(ap);
    assert_int_equal(relay_pos_seen(p, ids, n, now), 0);
}

static void test_in_order(void **state)
{
    (void)state;
    relay_pos_t p;
    start_at(&p, 10);
    seen(&p, 0, 3, 11LL, 12LL, 13LL);
    assert_int_equal(p.upto, 13);
    assert_int_equal(p.top, 13);
    assert_int_equal(p.ngaps, 0);
    assert_true(p.changed);
    relay_pos_free(&p);
}

static void test_gap_closed_by_its_row(void **state)
{
    (void)state;
    relay_pos_t p;
    start_at(&p, 10);
    seen(&p, 5, 2, 12LL, 15LL); /* 11, 13, 14 not committed yet */
    assert_int_equal(p.upto, 10);
    assert_int_equal(p.top, 15);
    assert_int_equal(p.ngaps, 2);
    assert_true(p.gaps[0].lo == 11 && p.gaps[0].hi == 11 && p.gaps[0].since_ms == 5);
    assert_true(p.gaps[1].lo == 13 && p.gaps[1].hi == 14);
    seen(&p, 6, 2, 11LL, 14LL);
    assert_int_equal(p.upto, 12);
    assert_int_equal(p.ngaps, 1);
    assert_true(p.gaps[0].lo == 13 && p.gaps[0].hi == 13);
    seen(&p, 7, 1, 13LL);
    assert_int_equal(p.upto, 15);
    assert_int_equal(p.ngaps, 0);
    relay_pos_free(&p);
}

static void test_gap_inside_a_run_splits(void **state)
{
    (void)state;
    relay_pos_t p;
    start_at(&p, 0);
    seen(&p, 0, 1, 10LL); /* gap 1..9 */
    seen(&p, 0, 1, 5LL);
    assert_int_equal(p.ngaps, 2);
    assert_true(p.gaps[0].lo == 1 && p.gaps[0].hi == 4);
    assert_true(p.gaps[1].lo == 6 && p.gaps[1].hi == 9);
    assert_int_equal(p.upto, 0);
    relay_pos_free(&p);
}

static void test_probe_drops_empty_gaps(void **state)
{
    (void)state;
    relay_pos_t p;
    start_at(&p, 10);
    seen(&p, 100, 1, 12LL);
    assert_false(relay_pos_need_probe(&p, 599, RELAY_PROBE_AFTER_MS));
    assert_true(relay_pos_need_probe(&p, 600, RELAY_PROBE_AFTER_MS));
    p.probe_xid = 1000;
    p.probe_ms = 600;
    assert_false(relay_pos_need_probe(&p, 700, RELAY_PROBE_AFTER_MS)); /* one at a time */
    /* a gap seen in the probe's millisecond or later is not covered by it */
    seen(&p, 600, 1, 14LL);
    /* a transaction older than the probe still runs: nothing is decided */
    assert_int_equal(relay_pos_resolve(&p, 1000, LLONG_MAX), 0);
    assert_int_equal(p.ngaps, 2);
    assert_int_equal(p.probe_xid, 1000);
    /* all older ones ended: 11 (seen before the probe) is empty, 13 not decided */
    assert_int_equal(relay_pos_resolve(&p, 1001, LLONG_MAX), 1);
    assert_int_equal(p.probe_xid, 0);
    assert_int_equal(p.ngaps, 1);
    assert_true(p.gaps[0].lo == 13 && p.gaps[0].hi == 13);
    assert_int_equal(p.upto, 12);
    relay_pos_free(&p);
}

static void test_probe_respects_the_cut(void **state)
{
    (void)state;
    relay_pos_t p;
    start_at(&p, 10);
    seen(&p, 0, 3, 12LL, 15LL, 21LL); /* gaps 11, 13..14, 16..20 */
    p.probe_xid = 7;
    p.probe_ms = 1000;
    /* the read returned LIMIT rows up to id 14: above it, nothing is known */
    assert_int_equal(relay_pos_resolve(&p, 8, 14), 1);
    assert_int_equal(p.ngaps, 2);
    assert_true(p.gaps[0].lo == 14 && p.gaps[0].hi == 14);
    assert_true(p.gaps[1].lo == 16 && p.gaps[1].hi == 20);
    assert_int_equal(p.upto, 13);
    relay_pos_free(&p);
}

static void test_stored_gaps_are_probed_at_once(void **state)
{
    (void)state;
    relay_pos_t p = {0};
    const outbox_gap_t g[] = {{3, 4, 0}, {8, 8, 0}};
    const long long offs[] = {5, -1};
    outbox_pos_t stored = {2, 9, g, 2, offs, 2, "t"};
    assert_int_equal(relay_pos_set(&p, &stored), 0);
    assert_int_equal(p.upto, 2);
    assert_int_equal(p.top, 9);
    assert_int_equal(p.noffsets, 2);
    assert_true(relay_pos_need_probe(&p, 1, RELAY_PROBE_AFTER_MS) == 0); /* since 0, now 1 */
    assert_true(relay_pos_need_probe(&p, RELAY_PROBE_AFTER_MS, RELAY_PROBE_AFTER_MS));
    outbox_pos_t v;
    relay_pos_view(&p, "t", &v);
    assert_true(v.upto == 2 && v.top == 9 && v.ngaps == 2 && v.noffsets == 2 && v.offsets[0] == 5);
    relay_pos_free(&p);
}

static void test_failed_delivery_reopens(void **state)
{
    (void)state;
    relay_pos_t p;
    start_at(&p, 10);
    seen(&p, 0, 3, 11LL, 12LL, 13LL);
    assert_int_equal(relay_pos_unsee(&p, 12, 5), 0);
    assert_int_equal(relay_pos_unsee(&p, 11, 5), 0);
    assert_int_equal(p.upto, 10);
    assert_int_equal(p.top, 13);
    assert_int_equal(p.ngaps, 2);
    assert_true(p.gaps[0].lo == 11 && p.gaps[1].lo == 12);
    assert_int_equal(relay_pos_unsee(&p, 12, 6), 0); /* already a gap */
    assert_int_equal(p.ngaps, 2);
    seen(&p, 7, 2, 11LL, 12LL);
    assert_int_equal(p.upto, 13);
    relay_pos_free(&p);
}

static void test_delivered_offsets(void **state)
{
    (void)state;
    relay_pos_t p;
    start_at(&p, 0);
    p.changed = 0;
    relay_pos_delivered(&p, 2, 40);
    assert_int_equal(p.noffsets, 3);
    assert_int_equal(p.offsets[0], -1);
    assert_int_equal(p.offsets[2], 41);
    relay_pos_delivered(&p, 2, 39); /* never backwards */
    assert_int_equal(p.offsets[2], 41);
    assert_true(p.changed);
    relay_pos_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_gap_closed_by_its_row),
        cmocka_unit_test(test_gap_inside_a_run_splits),
        cmocka_unit_test(test_probe_drops_empty_gaps),
        cmocka_unit_test(test_probe_respects_the_cut),
        cmocka_unit_test(test_stored_gaps_are_probed_at_once),
        cmocka_unit_test(test_failed_delivery_reopens),
        cmocka_unit_test(test_delivered_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
