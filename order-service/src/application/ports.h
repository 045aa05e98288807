/* ports.h — the ports of order-service's application layer (ops-structs: function
 * pointers + a `self` context). Adapters (dataaccess/, messaging/, main.c) implement them;
 * the handlers and the projection service see nothing else, so their unit tests use fakes.
 *
 * Conventions: functions that look something up return 1 found, 0 not found, -1 error;
 * others return 0 or -1. On -1 a message is written into err (may be NULL).
 */
#ifndef OS_PORTS_H
#define OS_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/order.h"
#include "domain/projection.h"

/* A read-model row ("order".customers). Strings owned (os_customer_clear). */
typedef struct os_customer {
    char id[ORDER_UUID_LEN + 1];
    char *username;
    char *first_name;
    char *last_name;
    int64_t version;
    char updated_at[40]; /* ISO-8601 text as stored */
} os_customer_t;

/* Frees the owned strings and zeroes the struct. NULL-safe. */
void os_customer_clear(os_customer_t *c);

/* What GET /orders/{trackingId} shows. `failure_messages` owned (may be NULL). */
typedef struct os_order_view {
    char tracking_id[ORDER_UUID_LEN + 1];
    order_status_t status;
    char *failure_messages; /* stored joined with ',' as in the seed; NULL/"" = none */
} os_order_view_t;

void os_order_view_clear(os_order_view_t *v);

/* Read access to the customer read model. */
typedef struct os_readmodel_port {
    void *self;
    int (*get_customer)(void *self, const char *id, os_customer_t *out, char *err, size_t errlen);
} os_readmodel_port_t;

/* The orders (write side of this service). */
typedef struct os_order_repo_port {
    void *self;
    /* Saves a validated, initialised order with its items and address atomically. */
    int (*save)(void *self, const order_t *o, char *err, size_t errlen);
    int (*find_by_tracking_id)(void *self, const char *tracking_id, os_order_view_t *out, char *err,
                               size_t errlen);
} os_order_repo_port_t;

/* The next offset to read per partition, stored with the rows it produced. `epoch` is the
 * stored position's epoch (bumped by every move an operator makes, never by a commit): a
 * batch stores its offsets only while the stored epoch is still the one given here. */
typedef struct os_offset {
    int32_t partition;
    int64_t next_offset;
    int64_t epoch;
} os_offset_t;

/* The projection's transactional store. One batch = begin, load_versions, apply, save_offsets,
 * commit — all in ONE database transaction; rollback on any failure. */
typedef struct os_projstore_port {
    void *self;
    int (*begin)(void *self, char *err, size_t errlen);
    /* The stored state of `n` customers (locked until commit): out[i] for ids[i]. */
    int (*load_versions)(void *self, const char *const *ids, size_t n, proj_stored_t *out, char *err,
                         size_t errlen);
    int (*apply)(void *self, const proj_op_t *ops, size_t n, char *err, size_t errlen);
    /* May be NULL (a rebuild into a shadow table keeps no offsets). Fails (the transaction
     * must roll back) when a partition's stored epoch is no longer offs[i].epoch: an operator
     * moved the position meanwhile. */
    int (*save_offsets)(void *self, const char *topic, const os_offset_t *offs, size_t n, char *err,
                        size_t errlen);
    int (*commit)(void *self, char *err, size_t errlen);
    void (*rollback)(void *self);
} os_projstore_port_t;

typedef struct os_clock_port {
    void *self;
    int64_t (*wall_ms)(void *self); /* Unix epoch ms */
    int64_t (*mono_ms)(void *self); /* monotonic ms */
} os_clock_port_t;

typedef struct os_idgen_port {
    void *self;
    void (*new_uuid)(void *self, char out[ORDER_UUID_LEN + 1]);
} os_idgen_port_t;

/* Read-your-writes: a change counter the projection bumps after every commit. */
typedef struct os_changes_port {
    void *self;
    uint64_t (*generation)(void *self);
    /* Waits until the generation differs from `seen` or timeout_ms passes. Returns 1
     * changed, 0 timed out. */
    int (*wait)(void *self, uint64_t seen, int64_t timeout_ms);
    /* Bumps the generation and wakes every waiter. */
    void (*bump)(void *self);
} os_changes_port_t;

#endif
