/* customer_ops.h — customer-service's operations (customer-service/README.md, "Operations"):
 *
 * Backfill / snapshot: re-publishes the CURRENT state of customers as events through the
 * outbox — all of them, those changed since a time (a background job, one at a time), or a
 * chosen set of ids (at once, one transaction). Each customer's event carries its row's
 * current version (CREATED for version 1, else UPDATED) and occurredAt = its updated_at, so a
 * read model built from it equals one built from the original events. The job works in
 * bounded batches (one transaction each, the rows locked FOR SHARE so a concurrent update's
 * event comes after the re-published one: per-customer order holds), and before each batch
 * waits while the outbox holds more than max_backlog unpublished rows — live commands' events
 * are never queued behind more than that. A consumer that already has the version treats the
 * event as a repeat: order-service's version guard makes it a no-op (skip-stale).
 *
 * Checksum: the count and hash of (id, version, names) over an id range, and its rows, for
 * order-service's reconciliation (common/pg/pgx_checksum.h defines the hash).
 *
 * Every action is logged and counted (customer_backfill_events_total,
 * customer_admin_actions_total{action,result}).
 */
#ifndef CS_CUSTOMER_OPS_H
#define CS_CUSTOMER_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "application/customer_app.h"
#include "application/snapshot_store.h"
#include "clog.h"
#include "metrics.h"

#define CS_BACKFILL_MAX_IDS 1000

typedef struct cs_ops cs_ops_t;

/* `app` gives the encoder and the clock; everything is borrowed and must outlive the ops.
 * Owned, or NULL (out of memory). */
cs_ops_t *cs_ops_new(const customer_app_t *app, snapshot_store_t store, metrics_t *metrics,
                     const clog_t *log);
/* Cancels a running job, waits for it, frees. NULL-safe. */
void cs_ops_free(cs_ops_t *o);

typedef struct cs_backfill_req {
    int64_t since_ms;      /* < 0: every customer; else those with updated_at ≥ since */
    int batch_size;        /* rows per transaction; ≤ 0 → 500 (≤ 10000) */
    long long max_backlog; /* wait while the outbox has more unpublished rows; ≤ 0 → 5000 */
    int pause_ms;          /* pause after each batch; < 0 → 0 */
    const char *requester; /* for the log; may be NULL */
} cs_backfill_req_t;

/* Starts the background job: 1 started, 0 one is running already, -1 error. */
int cs_ops_backfill_start(cs_ops_t *o, const cs_backfill_req_t *rq);
/* Asks a running job to stop after its batch: 1 asked, 0 none running. */
int cs_ops_backfill_cancel(cs_ops_t *o);

typedef struct cs_backfill_status {
    const char *state; /* "idle", "running", "succeeded", "failed", "cancelled" (static) */
    int64_t since_ms;  /* -1: all */
    int batch_size;
    long long max_backlog;
    long long published; /* events written to the outbox */
    long long batches;
    int64_t started_ms, finished_ms; /* epoch ms; 0 when not */
    int64_t elapsed_ms;
    int64_t backlog_wait_ms; /* time spent waiting for the relay */
    char last_id[37];
    char error[256];
} cs_backfill_status_t;

void cs_ops_backfill_status(cs_ops_t *o, cs_backfill_status_t *out);

/* Re-publishes exactly `ids` (≤ CS_BACKFILL_MAX_IDS, canonical UUIDs) in one transaction;
 * with `tombstones` an id without a customer gets a tombstone (a read model that still has
 * it deletes it). APP_OK, APP_INVALID (detail names the bad id), APP_UNAVAILABLE. */
app_rc_t cs_ops_backfill_ids(cs_ops_t *o, const char *const *ids, size_t n, int tombstones,
                             snap_result_t *out, char *detail, size_t dlen);

/* The checksum of from ≤ id < to (NULL: open; each a UUID), with up to `cap` rows listed
 * when rows is not NULL. APP_OK, APP_INVALID, APP_UNAVAILABLE. */
app_rc_t cs_ops_checksum(cs_ops_t *o, const char *from, const char *to, snap_sum_t *out, snap_sum_row_t *rows,
                         int cap, int *nrows, char *detail, size_t dlen);

/* Counts an admin action (customer_admin_actions_total{action,result}). */
void cs_ops_count(cs_ops_t *o, const char *action, int ok);

#endif
