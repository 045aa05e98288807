/* test_ops_redrive.c — unit tests of the dead-letter redrive (application/ops_redrive.c)
 * driven through its ports by fakes (no I/O): a dead-letter topic in memory, the redrive's
 * transactions over the fake database of fake_workers.h (its projection store) with the
 * handled positions in memory:
 *  - the outcome of one record from the projection's statistics (os_rd_classify);
 *  - all: a record that decodes and whose customer is missing or older is applied, one whose
 *    customer is newer is skipped (the row stays), one that does not decode or came from
 *    another topic fails with the reason; applied and skipped are recorded, failed are not;
 *  - again: every recorded one is already handled, nothing changes;
 *  - a named position without a record fails naming it; a database that does not answer makes
 *    the record fail unrecorded, and the next redrive applies it;
 *  - the outcomes are counted in order_dlq_redrive_records_total.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "application/ops_redrive.h"
#include "fake_workers.h"

#define NREC 8

/* The dead-letter topic: one partition. */
typedef struct frd_topic {
    os_dlq_rec_t recs[NREC];
    size_t n;
} frd_topic_t;

/* The redrive store: the handled positions; one transaction at a time. */
typedef struct frd_store {
    fw_db_t *db;
    int64_t handled[NREC];
    char outcome[NREC][40];
    size_t nhandled;
    int64_t pending; /* claimed in the open transaction; -1 none */
    char pending_outcome[40];
    int down;
} frd_store_t;

static int frd_read(void *self, int32_t partition, int64_t from, os_dlq_rec_t *out, size_t cap, size_t *n,
                    int *more, os_dlq_part_t *parts, size_t *nparts, char *err, size_t errlen)
{
    frd_topic_t *t = self;
    *n = 0, *more = 0;
    if (parts != NULL && nparts != NULL)
        parts[0] = (os_dlq_part_t){0, 0, (int64_t)t->n}, *nparts = 1;
    if (partition > 0)
        return 0;
    for (size_t i = (size_t)(from > 0 ? from : 0); i < t->n; i++) {
        if (*n == cap) {
            *more = 1;
            break;
        }
        out[(*n)++] = t->recs[i];
    }
    return 0;
}

static void *frd_begin(void *self, char *err, size_t errlen)
{
    frd_store_t *s = self;
    if (s->down) {
        snprintf(err, errlen, "the database is unavailable");
        return NULL;
    }
    assert_int_equal(s->pending, -1);
    return s;
}

static int frd_claim(void *tx, const char *topic, int32_t partition, int64_t offset, char *prev,
                     size_t prevlen, char *err, size_t errlen)
{
    frd_store_t *s = tx;
    for (size_t i = 0; i < s->nhandled; i++)
        if (s->handled[i] == offset) {
            snprintf(prev, prevlen, "%s", s->outcome[i]);
            return 0;
        }
    s->pending = offset;
    return 1;
}

static os_projstore_port_t frd_projstore(void *tx)
{
    frd_store_t *s = tx;
    os_projstore_port_t p = fw_db_port(s->db).store;
    p.save_offsets = NULL;
    return p;
}

static int frd_record(void *tx, const char *topic, int32_t partition, int64_t offset, const char *id,
                      int64_t version, const char *outcome, const char *detail, char *err, size_t errlen)
{
    frd_store_t *s = tx;
    assert_int_equal(offset, s->pending);
    snprintf(s->pending_outcome, sizeof s->pending_outcome, "%s", outcome);
    return 0;
}

static int frd_commit(void *tx, char *err, size_t errlen)
{
    frd_store_t *s = tx;
    assert_true(s->pending >= 0);
    s->handled[s->nhandled] = s->pending;
    snprintf(s->outcome[s->nhandled++], sizeof s->outcome[0], "%s", s->pending_outcome);
    s->pending = -1;
    return 0;
}

static void frd_rollback(void *tx)
{
    frd_store_t *s = tx;
    s->pending = -1;
}

typedef struct world {
    frd_topic_t topic;
    frd_store_t store;
    fw_db_t db;
    metrics_t *metrics;
    clog_t log;
    os_ops_t ops;
} world_t;

/* Record `off` of the dead-letter topic: customer n at `version` (0: does not decode). */
static void put(world_t *w, int n, int64_t version, const char *src_topic)
{
    os_dlq_rec_t *r = &w->topic.recs[w->topic.n];
    memset(r, 0, sizeof *r);
    r->partition = 0, r->offset = (int64_t)w->topic.n++;
    fw_id(r->key, n);
    snprintf(r->reason, sizeof r->reason, "%s", version > 0 ? "unknown-schema-id" : "bad-magic");
    snprintf(r->src_topic, sizeof r->src_topic, "%s", src_topic);
    r->ok = version > 0;
    if (!r->ok) {
        snprintf(r->error, sizeof r->error, "bad-magic: bad magic byte");
        return;
    }
    fw_id(r->id, n);
    r->version = version;
    snprintf(r->username, sizeof r->username, "u%d-v%lld", n, (long long)version);
    snprintf(r->first_name, sizeof r->first_name, "F");
    snprintf(r->last_name, sizeof r->last_name, "L");
}

/* Customer n at `version` in the read model, as the live projection would store it. */
static void seed(world_t *w, int n, int64_t version)
{
    char id[40], err[256];
    fw_id(id, n);
    proj_event_t ev = {id, 0, version, "seeded", "F", "L", 0};
    os_projstore_port_t st = fw_db_port(&w->db).store;
    st.save_offsets = NULL;
    assert_int_equal(os_projection_apply(&st, "customer", &ev, 1, NULL, 0, NULL, err, sizeof err), 0);
}

static int setup(void **state)
{
    static world_t w;
    memset(&w, 0, sizeof w);
    w.metrics = metrics_new();
    clog_init(&w.log, "test-ops-redrive", "error", stderr);
    fw_db_init(&w.db);
    w.store.db = &w.db;
    w.store.pending = -1;
    w.ops = (os_ops_t){
        .topic = "customer",
        .dlq_topic = "customer.DLQ",
        .dlq = {&w.topic, frd_read},
        .redrive = {&w.store, frd_begin, frd_claim, frd_projstore, frd_record, frd_commit, frd_rollback},
        .metrics = w.metrics,
        .log = &w.log};
    os_ops_declare_metrics(&w.ops);
    *state = &w;
    return w.metrics != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    world_t *w = *state;
    metrics_free(w->metrics);
    return 0;
}

static void test_classify(void **state)
{
    const char *d = NULL;
    os_proj_stats_t st = {0};
    assert_int_equal(os_rd_classify(&st, &d), OS_RD_FAILED);
    assert_null(d);
    st.skipped_stale = 1;
    assert_int_equal(os_rd_classify(&st, &d), OS_RD_SKIPPED);
    assert_string_equal(d, "skip-stale");
    st = (os_proj_stats_t){.skipped_absent = 1};
    assert_int_equal(os_rd_classify(&st, &d), OS_RD_SKIPPED);
    assert_string_equal(d, "skip-absent");
    st = (os_proj_stats_t){.inserted = 1};
    assert_int_equal(os_rd_classify(&st, &d), OS_RD_APPLIED);
    assert_string_equal(d, "insert");
    st = (os_proj_stats_t){.updated = 1};
    assert_int_equal(os_rd_classify(&st, &d), OS_RD_APPLIED);
    assert_string_equal(d, "update");
    st = (os_proj_stats_t){.deleted = 1};
    assert_int_equal(os_rd_classify(&st, &d), OS_RD_APPLIED);
    assert_string_equal(d, "delete");
    assert_string_equal(os_rd_outcome_name(OS_RD_ALREADY), "already-handled");
}

static void redrive_all(world_t *w, os_ops_redrive_t *out)
{
    char err[256];
    os_ops_redrive_req_t rq = {.partition = -1};
    assert_int_equal(os_ops_redrive(&w->ops, &rq, out, err, sizeof err), OS_OPS_OK);
}

static void test_all_then_again(void **state)
{
    world_t *w = *state;
    os_ops_redrive_t out;
    seed(w, 2, 5); /* customer 2 is newer in the read model than its dead letter */
    seed(w, 3, 1);
    put(w, 1, 3, "customer");      /* 0: applied (insert) */
    put(w, 2, 4, "customer");      /* 1: skipped (5 ≥ 4) */
    put(w, 9, 0, "customer");      /* 2: failed, does not decode */
    put(w, 3, 2, "customer");      /* 3: applied (update) */
    put(w, 4, 1, "another-topic"); /* 4: failed, not ours */
    redrive_all(w, &out);
    assert_int_equal(out.n, 5);
    assert_int_equal(out.counts[OS_RD_APPLIED], 2);
    assert_int_equal(out.counts[OS_RD_SKIPPED], 1);
    assert_int_equal(out.counts[OS_RD_FAILED], 2);
    assert_string_equal(out.res[0].decision, "insert");
    assert_string_equal(out.res[1].decision, "skip-stale");
    assert_non_null(strstr(out.res[2].detail, "bad magic"));
    assert_string_equal(out.res[3].decision, "update");
    assert_non_null(strstr(out.res[4].detail, "another-topic"));
    os_ops_redrive_free(&out);
    assert_int_equal(fw_version(&w->db, 1, NULL), 3);
    assert_int_equal(fw_version(&w->db, 2, NULL), 5); /* never backwards */
    assert_int_equal(fw_version(&w->db, 3, NULL), 2);
    assert_int_equal(fw_version(&w->db, 4, NULL), -1);
    assert_int_equal(w->store.nhandled, 3);

    redrive_all(w, &out);
    assert_int_equal(out.counts[OS_RD_ALREADY], 3);
    assert_int_equal(out.counts[OS_RD_FAILED], 2);
    assert_int_equal(out.counts[OS_RD_APPLIED] + out.counts[OS_RD_SKIPPED], 0);
    assert_non_null(strstr(out.res[1].detail, "skipped"));
    os_ops_redrive_free(&out);
    assert_int_equal(w->store.nhandled, 3);
    assert_int_equal(fw_version(&w->db, 2, NULL), 5);
    assert_true(metrics_get(w->metrics, "order_dlq_redrive_records_total", "outcome=\"already-handled\"") ==
                3.0);
}

static void test_named_and_database_down(void **state)
{
    world_t *w = *state;
    char err[256];
    os_ops_redrive_t out;
    size_t before = w->store.nhandled;
    put(w, 5, 1, "customer");
    os_dlq_pos_t pos[2] = {{0, (int64_t)w->topic.n - 1}, {0, 99}};
    os_ops_redrive_req_t rq = {.recs = pos, .nrecs = 2, .partition = -1};
    w->store.down = 1;
    assert_int_equal(os_ops_redrive(&w->ops, &rq, &out, err, sizeof err), OS_OPS_OK);
    assert_int_equal(out.counts[OS_RD_FAILED], 2);
    assert_non_null(strstr(out.res[0].detail, "unavailable"));
    assert_non_null(strstr(out.res[1].detail, "no record at offset 99"));
    os_ops_redrive_free(&out);
    assert_int_equal(w->store.nhandled, before); /* a failure is not recorded */
    w->store.down = 0;
    rq.nrecs = 1;
    assert_int_equal(os_ops_redrive(&w->ops, &rq, &out, err, sizeof err), OS_OPS_OK);
    assert_int_equal(out.counts[OS_RD_APPLIED], 1);
    os_ops_redrive_free(&out);
    assert_int_equal(fw_version(&w->db, 5, NULL), 1);
    rq.nrecs = 0; /* an empty list is refused */
    assert_int_equal(os_ops_redrive(&w->ops, &rq, &out, err, sizeof err), OS_OPS_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_all_then_again),
        cmocka_unit_test(test_named_and_database_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
