/* reconcile.h — the live reconciliation: a background check that the read model
 * ("order".customers) still equals the write side (customer-service's customers), throttled
 * to a configured cost, that names the ids that differ and can repair them.
 *
 * Neither service reads the other's schema: both sides answer the same checksum of a range
 * of ids (count and XOR of per-row hashes of id, version and names; common/pg/pgx_checksum.h)
 * — the read model through dataaccess/pg_reconcile.c, the write side through its
 * GET /admin/checksum (messaging/cs_client.c). A round:
 *   1. compares the 16 ranges of the id space (by the first hex digit); a range whose count
 *      or hash differs is bisected until each side has at most `leaf` rows, whose lists are
 *      compared row by row: an id on one side only, or with another hash, is a candidate;
 *   2. waits `settle_ms` (events in flight arrive) and checks each candidate again alone:
 *      one that still differs while the write side's row did not change in between is DRIFT
 *      (a row the write side changed meanwhile is in flux, not drift: the next round sees it);
 *   3. with `repair`, sets the drifted rows' versions to 0 in the read model (so the state
 *      published again replaces them whatever their version) and asks the write side to
 *      publish those ids again through its backfill (a tombstone for an id it does not have):
 *      the fix travels the normal path, topic and projection, and the next round checks it.
 * Cost: every row is hashed once per round on each side, plus the bisection of the ranges
 * that differ; after each comparison the thread sleeps so that at most `rows_per_s` rows are
 * hashed per second. Results: os_reconciler_status, metrics order_reconciliation_*, and a
 * /health component (main.c).
 */
#ifndef OS_RECONCILE_H
#define OS_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "clog.h"
#include "metrics.h"

#define OS_RC_HASH 17        /* hex digits of a 64-bit hash + NUL */
#define OS_RC_MAX_DRIFT 1000 /* ids kept per round (more are counted, not named) */

/* A range's count and hash. */
typedef struct os_sum {
    long long count;
    char hash[OS_RC_HASH];
} os_sum_t;

/* One row of a listed range. */
typedef struct os_sum_row {
    char id[37];
    long long version;
    char hash[OS_RC_HASH];
} os_sum_row_t;

/* One side's checksums (any thread; 0 or -1 with err). */
typedef struct os_sums_port {
    void *self;
    /* The count and hash of the rows with from ≤ id < to (NULL: open end); with rows != NULL
     * also the first `cap` rows in id order (*nrows of them). */
    int (*checksum)(void *self, const char *from, const char *to, os_sum_t *out, os_sum_row_t *rows, int cap,
                    int *nrows, char *err, size_t errlen);
} os_sums_port_t;

/* The repair's two halves. */
typedef struct os_rmreset_port {
    void *self;
    /* Read model: sets the versions of these ids' rows to 0 (absent ids are ignored). */
    int (*reset)(void *self, const char *const *ids, size_t n, char *err, size_t errlen);
} os_rmreset_port_t;

typedef struct os_republish_port {
    void *self;
    /* Write side: publishes these ids' current state again, a tombstone for an id it does
     * not have; *published and *tombstones say how many. */
    int (*republish)(void *self, const char *const *ids, size_t n, int *published, int *tombstones, char *err,
                     size_t errlen);
} os_republish_port_t;

typedef struct os_reconcile_opts {
    os_sums_port_t readmodel, writeside;
    os_rmreset_port_t reset;
    os_republish_port_t republish;
    long interval_ms;   /* from the end of a round to the next; ≤ 0 → 60000 */
    long rows_per_s;    /* hashing budget per side; ≤ 0 → 100000 */
    long settle_ms;     /* before a candidate is checked again; < 0 → 5000 */
    int repair;         /* 1: repair the drift found */
    int leaf;           /* rows listed per range at the bottom of the bisection; ≤ 0 → 200 */
    metrics_t *metrics; /* borrowed, may be NULL */
    const clog_t *log;  /* borrowed */
} os_reconcile_opts_t;

typedef struct os_reconciler os_reconciler_t;

/* What the last rounds found (a copy). */
typedef struct os_reconcile_status {
    int running;               /* a round is under way */
    unsigned long long rounds; /* rounds completed */
    int64_t last_end_ms;       /* wall-clock end of the last round; 0: none yet */
    int64_t last_duration_ms;
    long long rows;     /* rows on the write side at the last round */
    long long compared; /* rows hashed (both sides) in the last round */
    int drift;          /* ids drifted at the last round (may exceed ndrift) */
    int ndrift;         /* of them named in ids[] */
    char ids[OS_RC_MAX_DRIFT][37];
    int repaired;    /* ids re-requested by the last round's repair */
    char error[300]; /* why the last round failed; "" when it did not */
} os_reconcile_status_t;

/* A reconciler (not started); NULL when out of memory. The ports' objects and the
 * metrics/log must outlive it. Declares its metrics. */
os_reconciler_t *os_reconciler_new(const os_reconcile_opts_t *o);
/* Starts its thread. 0 or -1. */
int os_reconciler_start(os_reconciler_t *r);
/* Asks for a round now (after the one under way, if any). */
void os_reconciler_kick(os_reconciler_t *r);
/* Stops the thread (a round under way ends at its next comparison). NULL-safe, idempotent. */
void os_reconciler_stop(os_reconciler_t *r);
void os_reconciler_free(os_reconciler_t *r);
/* A copy of the status into *out (large: allocate it). */
void os_reconciler_status(os_reconciler_t *r, os_reconcile_status_t *out);

/* One round on the caller's thread (the thread's body; tests call it directly): fills *out.
 * 0, or -1 when a side did not answer (out->error says which). */
int os_reconcile_round(os_reconciler_t *r, os_reconcile_status_t *out);

#endif
