/* test_reconcile.c — the live reconciliation's round (application/reconcile.c) on two fake
 * sides: in-memory tables that answer the checksum of a range as pgx_checksum does (count,
 * XOR of the rows' hashes). Equal sides are one comparison; a changed, a missing and an extra
 * row are found and named through the bisection, among 5,000 rows; a row the write side
 * changes between the two checks is in flux, not drift; the repair resets and re-requests
 * exactly the drifted ids; a side that fails fails the round with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "application/reconcile.h"

#define MAXROWS 6000

typedef struct frow {
    char id[37];
    long long version;
    uint64_t h;
} frow_t;

typedef struct fside {
    frow_t rows[MAXROWS];
    int n;
    int calls;
    int fail;               /* answer -1 */
    const char *mutate_id;  /* on the first call that starts at this id: bump its version */
    char reset_ids[16][37]; /* what reset / republish received */
    int nreset;
} fside_t;

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const frow_t *)a)->id, ((const frow_t *)b)->id);
}

static void fill(fside_t *s, int n)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n; i++) {
        uint64_t a = rnd(), b = rnd();
        snprintf(s->rows[i].id, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
                 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(b >> 48),
                 (unsigned long long)(b & 0xffffffffffffULL));
        s->rows[i].version = 1;
        s->rows[i].h = rnd();
    }
    s->n = n;
    qsort(s->rows, (size_t)n, sizeof s->rows[0], cmp_row);
}

static frow_t *find(fside_t *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->rows[i].id, id) == 0)
            return &s->rows[i];
    return NULL;
}

static void drop(fside_t *s, const char *id)
{
    frow_t *r = find(s, id);
    assert_non_null(r);
    memmove(r, r + 1, (size_t)(s->rows + s->n - (r + 1)) * sizeof *r);
    s->n--;
}

static void add(fside_t *s, const frow_t *r)
{
    s->rows[s->n++] = *r;
    qsort(s->rows, (size_t)s->n, sizeof s->rows[0], cmp_row);
}

static int f_checksum(void *self, const char *from, const char *to, os_sum_t *out, os_sum_row_t *rows,
                      int cap, int *nrows, char *err, size_t errlen)
{
    fside_t *s = self;
    uint64_t x = 0;
    int n = 0;
    s->calls++;
    if (s->fail) {
        snprintf(err, errlen, "HTTP 503");
        return -1;
    }
    if (s->mutate_id != NULL && from != NULL && strcmp(from, s->mutate_id) == 0) {
        find(s, s->mutate_id)->version++;
        find(s, s->mutate_id)->h ^= 0x5555;
        s->mutate_id = NULL;
    }
    out->count = 0;
    for (int i = 0; i < s->n; i++) {
        const frow_t *r = &s->rows[i];
        if ((from != NULL && strcmp(r->id, from) < 0) || (to != NULL && strcmp(r->id, to) >= 0))
            continue;
        out->count++;
        x ^= r->h;
        if (rows != NULL && n < cap) {
            snprintf(rows[n].id, sizeof rows[n].id, "%s", r->id);
            rows[n].version = r->version;
            snprintf(rows[n].hash, sizeof rows[n].hash, "%016llx", (unsigned long long)r->h);
            n++;
        }
    }
    snprintf(out->hash, sizeof out->hash, "%016llx", (unsigned long long)x);
    if (nrows != NULL)
        *nrows = n;
    return 0;
}

static int f_reset(void *self, const char *const *ids, size_t n, char *err, size_t errlen)
{
    fside_t *s = self;
    (void)err;
    (void)errlen;
    for (size_t i = 0; i < n && s->nreset < 16; i++)
        snprintf(s->reset_ids[s->nreset++], 37, "%s", ids[i]);
    return 0;
}

static int f_republish(void *self, const char *const *ids, size_t n, int *published, int *tombstones,
                       char *err, size_t errlen)
{
    fside_t *s = self;
    *published = *tombstones = 0;
    for (size_t i = 0; i < n; i++)
        (find(s, ids[i]) != NULL ? (*published)++ : (*tombstones)++);
    return f_reset(self, ids, n, err, errlen);
}

static fside_t L, W;
static clog_t logger;

static os_reconciler_t *mk(int repair)
{
    const os_reconcile_opts_t o = {.readmodel = {&L, f_checksum},
                                   .writeside = {&W, f_checksum},
                                   .reset = {&L, f_reset},
                                   .republish = {&W, f_republish},
                                   .rows_per_s = 1000000000L,
                                   .settle_ms = 0,
                                   .repair = repair,
                                   .leaf = 50,
                                   .log = &logger};
    os_reconciler_t *r = os_reconciler_new(&o);
    assert_non_null(r);
    return r;
}

static int has(const os_reconcile_status_t *st, const char *id)
{
    for (int i = 0; i < st->ndrift; i++)
        if (strcmp(st->ids[i], id) == 0)
            return 1;
    return 0;
}

static void t_equal(void **state)
{
    (void)state;
    os_reconcile_status_t *st = malloc(sizeof *st);
    fill(&L, 1000);
    W = L;
    os_reconciler_t *r = mk(0);
    assert_int_equal(os_reconcile_round(r, st), 0);
    assert_int_equal(st->drift, 0);
    assert_int_equal(st->rows, 1000);
    assert_int_equal(st->compared, 2000); /* one comparison of the whole id space */
    assert_int_equal(L.calls + W.calls, 2);
    os_reconciler_free(r);
    free(st);
}

static void t_drift_found(void **state)
{
    (void)state;
    os_reconcile_status_t *st = malloc(sizeof *st);
    fill(&W, 5000);
    L = W;
    char changed[37], missing[37], extra[37];
    snprintf(changed, 37, "%s", L.rows[17].id);
    L.rows[17].h ^= 1; /* same version, other names: drifted in place */
    snprintf(missing, 37, "%s", W.rows[4000].id);
    drop(&L, missing); /* a row the read model lost */
    frow_t bogus = {"", 3, 42};
    snprintf(bogus.id, 37, "%s", "ffffffff-0000-4000-8000-000000000001");
    snprintf(extra, 37, "%s", bogus.id);
    add(&L, &bogus); /* a row only the read model has */
    os_reconciler_t *r = mk(0);
    assert_int_equal(os_reconcile_round(r, st), 0);
    assert_int_equal(st->drift, 3);
    assert_true(has(st, changed) && has(st, missing) && has(st, extra));
    assert_int_equal(st->repaired, 0);
    assert_int_equal(L.nreset + W.nreset, 0);
    /* the bisection reads far less than a listing of every row, yet hashes each row per level */
    print_message("5,000 rows, 3 drifted: %lld rows hashed, %d + %d calls\n", st->compared, L.calls, W.calls);
    assert_true(st->compared < 5000 * 2 * 16);
    os_reconciler_free(r);
    free(st);
}

static void t_in_flux(void **state)
{
    (void)state;
    os_reconcile_status_t *st = malloc(sizeof *st);
    fill(&W, 500);
    L = W;
    L.rows[3].h ^= 1; /* other masks: equal ones would cancel in the XOR of a range */
    L.rows[9].h ^= 2;
    W.mutate_id = W.rows[3].id; /* the write side changes it between the two checks */
    os_reconciler_t *r = mk(0);
    assert_int_equal(os_reconcile_round(r, st), 0);
    assert_int_equal(st->drift, 1);
    assert_string_equal(st->ids[0], W.rows[9].id);
    os_reconciler_free(r);
    free(st);
}

static void t_repair(void **state)
{
    (void)state;
    os_reconcile_status_t *st = malloc(sizeof *st);
    fill(&W, 300);
    L = W;
    L.rows[100].h ^= 1;
    char gone[37];
    snprintf(gone, 37, "%s", W.rows[200].id);
    drop(&W, gone); /* deleted on the write side, still in the read model */
    os_reconciler_t *r = mk(1);
    assert_int_equal(os_reconcile_round(r, st), 0);
    assert_int_equal(st->drift, 2);
    assert_int_equal(st->repaired, 2);
    assert_int_equal(L.nreset, 2); /* reset in the read model */
    assert_int_equal(W.nreset, 2); /* re-requested from the write side */
    assert_true(strcmp(W.reset_ids[0], L.reset_ids[0]) == 0 && strcmp(W.reset_ids[1], L.reset_ids[1]) == 0);
    os_reconciler_free(r);
    free(st);
}

static void t_side_fails(void **state)
{
    (void)state;
    os_reconcile_status_t *st = malloc(sizeof *st);
    fill(&W, 10);
    L = W;
    W.fail = 1;
    os_reconciler_t *r = mk(0);
    assert_int_equal(os_reconcile_round(r, st), -1);
    assert_non_null(strstr(st->error, "write side: HTTP 503"));
    os_reconciler_free(r);
    free(st);
}

int main(void)
{
    clog_init(&logger, "test", "error", stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_equal),  cmocka_unit_test(t_drift_found), cmocka_unit_test(t_in_flux),
        cmocka_unit_test(t_repair), cmocka_unit_test(t_side_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
