/* outbox_store.h — the port through which the outbox relay (messaging/outbox_relay*.c)
 * reaches customer.outbox: a session of its own, on which the leader lock lives; reading the
 * rows past the relay's position in id order; storing that position (one row, not a mark
 * per outbox row); the backlog and the retention delete. dataaccess/outbox_pgstore.h
 * implements it on PostgreSQL (the SQL lives there, as the repository's does); the relay's
 * unit tests use a fake. One thread uses it.
 * An ops-struct with a context pointer, as the ports of customer_app.h.
 *
 * The position (outbox_pos_t) says which rows are on the topic without touching them: every
 * row with id <= upto, every row with id in (upto, top] outside the gaps — and none other.
 * A gap is an id the relay has not seen committed yet: a transaction still in flight, or
 * one that rolled back (the sequence does not give its values back).
 */
#ifndef CS_OUTBOX_STORE_H
#define CS_OUTBOX_STORE_H

#include <stddef.h>
#include <stdint.h>

/* One outbox row. Its buffers belong to the store (valid until its next call). */
typedef struct outbox_row {
    long long id;
    const char *key; /* the customer id (text) */
    size_t key_len;
    const void *payload; /* framed Avro; NULL for a tombstone (and in unpublished()) */
    size_t len;
    long long occurred_ms;   /* the change's commit time, ms since the epoch */
    const char *traceparent; /* the writing request's W3C trace context; NULL: none (nor in unpublished()) */
} outbox_row_t;

/* A run of ids [lo, hi] not on the topic (yet). */
typedef struct outbox_gap {
    long long lo, hi;
    long long since_ms; /* relay only: when it first saw the gap (svc_mono_ms) */
} outbox_gap_t;

/* The relay's position. Arrays belong to whoever filled the struct (see each op). */
typedef struct outbox_pos {
    long long upto;           /* every row with id <= upto is on the topic or never will be */
    long long top;            /* the highest id produced (>= upto) */
    const outbox_gap_t *gaps; /* sorted, disjoint, inside (upto, top] */
    int ngaps;
    const long long *offsets; /* per partition: the offset after the last record the relay saw
                                 delivered (< 0: unknown) — where a takeover scan may start */
    int noffsets;
    const char *topic; /* the topic the offsets are of (NULL: none) */
} outbox_pos_t;

typedef struct outbox_store_ops {
    /* Opens the session when none is open and tries the leader lock `key` on it: 1 when
     * this session holds it (it then listens for new rows and commits its position
     * asynchronously: a position lost in a crash is redone by the next leader's takeover
     * scan), 0 when another session holds it, -1 on failure (err says which step; a session
     * that could not be set up as leader is closed). */
    int (*lead)(void *self, long long key, char *err, size_t errlen);
    /* 1 while a session is open and looks usable (no round trip). */
    int (*connected)(void *self);
    /* Closes the session; the lock goes with it. Safe without one. */
    void (*close)(void *self);
    /* The session's socket, to poll for notifications; -1 without a session. */
    int (*socket)(void *self);
    /* Takes the notifications of new rows that arrived — reading the socket first when
     * `readable`: their number, or -1 when the connection broke. */
    int (*notified)(void *self, int readable);
    /* Listens for notifications of new rows (on = 1; a new leader session does) or stops
     * (0). 0, or -1 when the connection broke. */
    int (*listen)(void *self, int on);
    /* The stored position into *pos (its arrays are the store's, valid until its next call).
     * 0 or -1 (err). */
    int (*load)(void *self, outbox_pos_t *pos, char *err, size_t errlen);
    /* Stores `pos` (the topic's offsets too). 0 or -1 (err). */
    int (*save)(void *self, const outbox_pos_t *pos, char *err, size_t errlen);
    /* Up to `limit` rows past `pos` in id order — those in its gaps and those above its top:
     * *rows points at them (valid until the next fetch or close); *xmin = the oldest
     * transaction id still running in the same snapshot (pg_snapshot_xmin). The count, or -1
     * (err). The store also remembers where the primary's log stood when the rows were read
     * (for standbys_have). */
    int (*fetch)(void *self, const outbox_pos_t *pos, int limit, const outbox_row_t **rows, long long *xmin,
                 char *err, size_t errlen);
    /* A transaction id assigned now (so any transaction that took an outbox id before this
     * call has a lower one): -1 on failure. */
    long long (*probe)(void *self);
    /* The number of rows past the STORED position, or -1. */
    long long (*backlog)(void *self);
    /* Deletes the rows with id <= upto older than retention_ms: their number, or -1. */
    long long (*purge)(void *self, long long upto, long long retention_ms);
    /* 1 when `n` streaming standbys — or every streaming standby, when fewer stream (none:
     * at once) — have flushed the log up to where it stood at the last fetch (so the rows it
     * returned survive a failover to them), 0 when not yet or when the standbys' positions
     * cannot be seen (err says which), -1 when asking failed (err). */
    int (*standbys_have)(void *self, int n, char *err, size_t errlen);
    /* Every row past `pos` in id order, id and key only: *rows valid until the next call.
     * The count, or -1 (err). */
    int (*unpublished)(void *self, const outbox_pos_t *pos, const outbox_row_t **rows, char *err,
                       size_t errlen);
} outbox_store_ops_t;

typedef struct outbox_store {
    const outbox_store_ops_t *ops;
    void *self;
} outbox_store_t;

#endif
