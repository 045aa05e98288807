/* test_outbox_takeover.c — unit tests of the relay's hand-over decision (relay_takeover in
 * messaging/outbox_relay_takeover.c) with a fake outbox store and a fake topic (no I/O):
 * a new leader counts as published (in the position it stores) exactly the rows past the
 * position whose outbox-id it saw on the topic — not a row with an id below a partition's
 * last one that is not there (a transaction that took a lower id and committed later), not
 * an id the topic holds that is no row past the position — and reads as many tail records
 * of each partition as it has such rows mapped there, from the stored offset on when it is
 * known. A topic that cannot be read stores nothing; a store that cannot store is reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "messaging/outbox_relay_int.h"

#define NP 3
#define MAXROWS 16

/* ---- the fake store: the rows past the position (id, key); what a stored position counts
 * as published of them is recorded as "marked" ---- */

typedef struct fstore {
    outbox_row_t rows[MAXROWS];
    int nrows;
    long long marked[MAXROWS];
    int nmarked, mark_calls;
    int fail_mark;
} fstore_t;

static int fs_unpublished(void *self, const outbox_pos_t *pos, const outbox_row_t **rows, char *err,
                          size_t errlen)
{
    fstore_t *s = self;
    (void)pos;
    (void)err;
    (void)errlen;
    *rows = s->rows;
    return s->nrows;
}

/* 1 when the position counts id as on the topic. */
static int pos_has(const outbox_pos_t *p, long long id)
{
    if (id <= p->upto)
        return 1;
    if (id > p->top)
        return 0;
    for (int i = 0; i < p->ngaps; i++)
        if (id >= p->gaps[i].lo && id <= p->gaps[i].hi)
            return 0;
    return 1;
}

static int fs_save(void *self, const outbox_pos_t *pos, char *err, size_t errlen)
{
    fstore_t *s = self;
    s->mark_calls++;
    if (s->fail_mark) {
        snprintf(err, errlen, "storing the relay's position failed: injected");
        return -1;
    }
    s->nmarked = 0;
    for (int i = 0; i < s->nrows; i++)
        if (pos_has(pos, s->rows[i].id))
            s->marked[s->nmarked++] = s->rows[i].id;
    return 0;
}

static const outbox_store_ops_t fs_ops = {.unpublished = fs_unpublished, .save = fs_save};

/* A row of customer `key`: its partition is the key's last digit modulo NP (fake_partition). */
static void fs_add(fstore_t *s, long long id, const char *key)
{
    s->rows[s->nrows++] = (outbox_row_t){id, key, strlen(key), NULL, 0, 0, NULL};
}

/* ---- the fake topic: the tails hold given outbox ids ---- */

typedef struct ftopic {
    long long tail[MAXROWS]; /* the outbox-id headers the tails hold */
    int ntail;
    int fail_times; /* tails() fails this many times first */
    int calls;
    int want[NP];       /* what the last tails() call was asked for */
    long long from[NP]; /* and from which offsets */
} ftopic_t;

static int ft_partitions(void *self)
{
    (void)self;
    return NP;
}

static int32_t ft_partition_of(void *self, const char *key, size_t len, int np)
{
    (void)self;
    return (key[len - 1] - '0') % np;
}

static int ft_tails(void *self, int np, const int *want, const long long *from, long long *seen, int cap)
{
    ftopic_t *t = self;
    t->calls++;
    memcpy(t->want, want, (size_t)np * sizeof *want);
    memcpy(t->from, from, (size_t)np * sizeof *from);
    if (t->fail_times > 0) {
        t->fail_times--;
        return -1;
    }
    int n = t->ntail < cap ? t->ntail : cap;
    memcpy(seen, t->tail, (size_t)n * sizeof *seen);
    return n;
}

static const relay_topic_ops_t ft_ops = {ft_partitions, ft_partition_of, ft_tails};

static clog_t test_log;

/* The takeover from the position `upto` (no gaps) with stored offsets offs (NULL: none). */
static int run_from(fstore_t *s, ftopic_t *t, long long upto, const long long *offs)
{
    outbox_store_t store = {&fs_ops, s};
    relay_topic_t topic = {&ft_ops, t};
    relay_pos_t pos = {0};
    outbox_pos_t stored = {upto, upto, NULL, 0, offs, offs ? NP : 0, "customer"};
    assert_int_equal(relay_pos_set(&pos, &stored), 0);
    int rc = relay_takeover(&store, &topic, &pos, "customer", &test_log);
    relay_pos_free(&pos);
    return rc;
}

static int run(fstore_t *s, ftopic_t *t)
{
    return run_from(s, t, 0, NULL);
}

static int marked(const fstore_t *s, long long id)
{
    for (int i = 0; i < s->nmarked; i++)
        if (s->marked[i] == id)
            return 1;
    return 0;
}

static void test_exactly_the_ids_seen(void **state)
{
    (void)state;
    fstore_t s = {0};
    ftopic_t t = {0};
    fs_add(&s, 10, "c0"); /* partition 0 */
    fs_add(&s, 11, "c1"); /* 1 */
    fs_add(&s, 12, "c3"); /* 0 */
    fs_add(&s, 13, "c2"); /* 2 */
    fs_add(&s, 14, "c6"); /* 0 */
    /* the tails: 12 and 13 were published by the dead leader before it could mark them; 9 is
     * an earlier row (already marked), 20 no row of this outbox */
    long long tail[] = {9, 12, 13, 20};
    memcpy(t.tail, tail, sizeof tail);
    t.ntail = 4;
    assert_int_equal(run(&s, &t), 2);
    assert_int_equal(s.nmarked, 2);
    assert_true(marked(&s, 12) && marked(&s, 13));
    assert_false(marked(&s, 10) || marked(&s, 11) || marked(&s, 14) || marked(&s, 9) || marked(&s, 20));
    /* as many tail records per partition as it has unpublished rows there */
    assert_int_equal(t.want[0], 3);
    assert_int_equal(t.want[1], 1);
    assert_int_equal(t.want[2], 1);
}

static void test_lower_id_committed_later_is_sent(void **state)
{
    (void)state;
    fstore_t s = {0};
    ftopic_t t = {0};
    /* row 5 took its id before row 6 but committed after 6 and 7 were published: 5 is not on
     * the topic and must stay unpublished although 7 (above it) is there */
    fs_add(&s, 5, "a0");
    fs_add(&s, 7, "b0");
    long long tail[] = {6, 7};
    memcpy(t.tail, tail, sizeof tail);
    t.ntail = 2;
    assert_int_equal(run(&s, &t), 1);
    assert_int_equal(s.nmarked, 1);
    assert_true(marked(&s, 7));
    assert_false(marked(&s, 5));
}

static void test_from_the_stored_offsets(void **state)
{
    (void)state;
    fstore_t s = {0};
    ftopic_t t = {0};
    const long long offs[NP] = {40, -1, 7};
    fs_add(&s, 10, "c0");
    fs_add(&s, 11, "c1");
    t.tail[0] = 10;
    t.ntail = 1;
    assert_int_equal(run_from(&s, &t, 9, offs), 1);
    assert_true(marked(&s, 10));
    assert_false(marked(&s, 11));
    for (int p = 0; p < NP; p++)
        assert_int_equal(t.from[p], offs[p]);
    /* without stored offsets: by counts alone */
    ftopic_t t2 = {0};
    fstore_t s2 = {0};
    fs_add(&s2, 10, "c0");
    assert_int_equal(run_from(&s2, &t2, 9, NULL), 0);
    for (int p = 0; p < NP; p++)
        assert_int_equal(t2.from[p], -1);
}

static void test_nothing_on_the_topic(void **state)
{
    (void)state;
    fstore_t s = {0};
    ftopic_t t = {0};
    fs_add(&s, 1, "x1");
    fs_add(&s, 2, "x2");
    assert_int_equal(run(&s, &t), 0);
    assert_int_equal(s.mark_calls, 0);
}

static void test_no_unpublished_rows_reads_nothing(void **state)
{
    (void)state;
    fstore_t s = {0};
    ftopic_t t = {0};
    assert_int_equal(run(&s, &t), 0);
    assert_int_equal(t.calls, 0);
    assert_int_equal(s.mark_calls, 0);
}

static void test_tails_retried_then_read(void **state)
{
    (void)state;
    fstore_t s = {0};
    ftopic_t t = {0};
    fs_add(&s, 3, "k1");
    t.tail[0] = 3;
    t.ntail = 1;
    t.fail_times = 1; /* a topic created a moment ago: no leader yet */
    assert_int_equal(run(&s, &t), 1);
    assert_int_equal(t.calls, 2);
    assert_true(marked(&s, 3));
}

static void test_unreadable_topic_marks_nothing(void **state)
{
    (void)state;
    fstore_t s = {0};
    ftopic_t t = {0};
    fs_add(&s, 3, "k1");
    t.tail[0] = 3;
    t.ntail = 1;
    t.fail_times = 100;
    assert_int_equal(run(&s, &t), -1);
    assert_int_equal(s.mark_calls, 0);
}

static void test_mark_failure_reported(void **state)
{
    (void)state;
    fstore_t s = {0};
    ftopic_t t = {0};
    fs_add(&s, 3, "k1");
    t.tail[0] = 3;
    t.ntail = 1;
    s.fail_mark = 1;
    assert_int_equal(run(&s, &t), -1);
}

int main(void)
{
    clog_init(&test_log, "test-outbox-takeover", "error", stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exactly_the_ids_seen),
        cmocka_unit_test(test_lower_id_committed_later_is_sent),
        cmocka_unit_test(test_from_the_stored_offsets),
        cmocka_unit_test(test_nothing_on_the_topic),
        cmocka_unit_test(test_no_unpublished_rows_reads_nothing),
        cmocka_unit_test(test_tails_retried_then_read),
        cmocka_unit_test(test_unreadable_topic_marks_nothing),
        cmocka_unit_test(test_mark_failure_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
