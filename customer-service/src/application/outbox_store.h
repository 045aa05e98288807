/* outbox_store.h — the port through which the outbox relay (messaging/outbox_relay*.c)
 * reaches customer.outbox: a session of its own, on which the leader lock lives; reading
 * unpublished rows in id order; marking rows published; the backlog and the retention
 * delete. dataaccess/outbox_pgstore.h implements it on PostgreSQL (the SQL lives there, as
 * the repository's does); the relay's unit tests use a fake. One thread uses it.
 * An ops-struct with a context pointer, as the ports of customer_app.h.
 */
#ifndef CS_OUTBOX_STORE_H
#define CS_OUTBOX_STORE_H

#include <stddef.h>

/* One outbox row. Its buffers belong to the store (valid until its next call). */
typedef struct outbox_row {
    long long id;
    const char *key; /* the customer id (text) */
    size_t key_len;
    const void *payload; /* framed Avro; NULL for a tombstone (and in unpublished()) */
    size_t len;
    long long occurred_ms; /* the change's commit time, ms since the epoch */
} outbox_row_t;

typedef struct outbox_store_ops {
    /* Opens the session when none is open and tries the leader lock `key` on it: 1 when
     * this session holds it (it then listens for new rows and commits its marks
     * asynchronously: a mark lost in a crash is redone by the next leader's takeover scan),
     * 0 when another session holds it, -1 on failure (err says which step; a session that
     * could not be set up as leader is closed). */
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
    /* Up to `limit` unpublished rows in id order, none of excl[0..nexcl): *rows points at
     * them (valid until the next fetch or close). The count, or -1 (err). */
    int (*fetch)(void *self, const long long *excl, int nexcl, int limit, const outbox_row_t **rows,
                 char *err, size_t errlen);
    /* Marks `n` rows published. 0 or -1 (err). */
    int (*mark)(void *self, const long long *ids, int n, char *err, size_t errlen);
    /* The number of unpublished rows, or -1. */
    long long (*backlog)(void *self);
    /* Deletes the published rows older than retention_ms: their number, or -1. */
    long long (*purge)(void *self, long long retention_ms);
    /* Every unpublished row in id order, id and key only: *rows valid until the next call.
     * The count, or -1 (err). */
    int (*unpublished)(void *self, const outbox_row_t **rows, char *err, size_t errlen);
} outbox_store_ops_t;

typedef struct outbox_store {
    const outbox_store_ops_t *ops;
    void *self;
} outbox_store_t;

#endif
