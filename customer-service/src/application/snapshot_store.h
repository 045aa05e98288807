/* snapshot_store.h — the port through which the operations of customer-service
 * (application/customer_ops.c: backfill, checksum) reach the write model and the outbox:
 * re-publishing customers' current state as outbox rows in bounded transactions, the outbox
 * backlog (to interleave with live traffic), and the checksum of id ranges that order-service's
 * reconciliation compares with its read model. dataaccess/snapshot_pgstore.h implements it on
 * PostgreSQL (the SQL lives there); tests use a fake. Thread-safe (a pooled connection per
 * call). An ops-struct with a context pointer, as the ports of customer_app.h.
 */
#ifndef CS_SNAPSHOT_STORE_H
#define CS_SNAPSHOT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "domain/customer.h"

/* What one re-publishing transaction takes. */
typedef struct snap_query {
    const char *after;      /* range: ids after this one (NULL: from the first) */
    int64_t since_ms;       /* range: only rows whose updated_at ≥ this (< 0: all) */
    int limit;              /* range: at most this many rows */
    const char *const *ids; /* or exactly these ids (NULL: a range) */
    size_t nids;
    int tombstones; /* ids: a tombstone row for every id without a customer */
} snap_query_t;

/* Encodes the event that re-publishes `c` as it is now: *out malloc'ed (the caller of the
 * port frees it). 0 or -1. */
typedef int (*snap_encode_fn)(void *self, const customer_t *c, unsigned char **out, size_t *len);

#define SNAP_MISSING_SHOWN 8

typedef struct snap_result {
    int rows;                                 /* customers re-published */
    int missing;                              /* ids: asked ids without a customer */
    int tombstones;                           /* ids: tombstones written for them (q->tombstones) */
    char last_id[37];                         /* range: the last id of the batch ("" when none) */
    char missing_ids[SNAP_MISSING_SHOWN][37]; /* ids: the first ids without a customer */
} snap_result_t;

/* A range's checksum (pgx_checksum.h's definition) and, listed, its rows. */
typedef struct snap_sum {
    long long count;
    char hash[17];
} snap_sum_t;

typedef struct snap_sum_row {
    char id[37];
    long long version;
    char hash[17];
} snap_sum_row_t;

typedef struct snapshot_store_ops {
    /* In ONE transaction: the customers the query selects, in id order, locked FOR SHARE
     * (a concurrent update waits, so its own outbox row comes after this one: per-customer
     * order holds), one outbox row each with the payload from `enc` (event CREATED when the
     * version is 1, else UPDATED; the row's current version), and with q->tombstones a
     * tombstone row for each asked id that has no customer. 0 (out filled) or -1 (err,
     * nothing written). */
    int (*publish)(void *self, const snap_query_t *q, snap_encode_fn enc, void *enc_self, snap_result_t *out,
                   char *err, size_t errlen);
    /* Outbox rows not yet published, or -1. */
    long long (*backlog)(void *self);
    /* The checksum of from ≤ id < to (NULL: open), and with rows (≤ cap) its first rows in id
     * order (count in *nrows). 0 or -1. */
    int (*checksum)(void *self, const char *from, const char *to, snap_sum_t *out, snap_sum_row_t *rows,
                    int cap, int *nrows, char *err, size_t errlen);
} snapshot_store_ops_t;

typedef struct snapshot_store {
    const snapshot_store_ops_t *ops;
    void *self;
} snapshot_store_t;

#endif
