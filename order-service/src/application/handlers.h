/* handlers.h — order-service's command and query handlers (application layer).
 *
 * create order: validate (domain rules), make sure the customer is in the read model —
 * waiting up to customer_wait_ms for the projection to bring it (read-your-writes) — then
 * give the order its ids and status PENDING and save it. get order / get customer: lookups.
 * Handlers see only ports (ports.h); they are thread-safe when the ports are.
 */
#ifndef OS_HANDLERS_H
#define OS_HANDLERS_H

#include <stddef.h>

#include "application/ports.h"

typedef struct os_app {
    os_readmodel_port_t readmodel;
    os_order_repo_port_t orders;
    os_clock_port_t clock;
    os_idgen_port_t ids;
    os_changes_port_t changes;
    int64_t customer_wait_ms; /* how long create waits for a customer; ≤ 0 → no wait */
    int64_t wait_poll_ms;     /* re-check the store at least this often while waiting
                                 (another replica may project it); ≤ 0 → 25 */
} os_app_t;

typedef enum {
    OS_OK = 0,
    OS_EINVALID,  /* 400: a rule is broken; msg says which */
    OS_ENOTFOUND, /* 404 (queries) */
    OS_EINTERNAL, /* 500/503: a port failed; msg has the detail */
    OS_ESTALE,    /* 412: the read model did not reach the asked version in time */
} os_status_t;

typedef struct os_result {
    os_status_t status;
    char msg[ORDER_MSG_MAX + 64];
} os_result_t;

/* Creates an order. `o` is borrowed and modified: on OS_OK its id, tracking_id and status
 * are set. Messages: the domain's (order.h), or "Could not find customer with customer id:
 * <id>" when the customer did not appear within the wait. */
os_status_t os_create_order(const os_app_t *app, order_t *o, os_result_t *res);

/* Looks an order up by tracking id (canonical UUID). OS_ENOTFOUND → msg "Could not find
 * order with tracking id: <id>". `out` must be zeroed; the caller clears it. */
os_status_t os_get_order(const os_app_t *app, const char *tracking_id, os_order_view_t *out,
                         os_result_t *res);

/* Looks a customer up in the read model. OS_ENOTFOUND → "Could not find customer with
 * customer id: <id>". `out` must be zeroed; the caller clears it. */
os_status_t os_get_customer(const os_app_t *app, const char *id, os_customer_t *out, os_result_t *res);

/* Read-your-writes on a read: like os_get_customer, but waits (up to `wait_ms`, itself
 * capped at app->customer_wait_ms) until the read model holds version ≥ `min_version` of the
 * customer (a client that wrote version N through customer-service asks for N). OS_OK with
 * `out` at that version or newer; OS_ESTALE when the wait ended first — *current receives
 * the version the read model has (0: no row) and msg says what was asked and found. */
os_status_t os_get_customer_min(const os_app_t *app, const char *id, int64_t min_version, int64_t wait_ms,
                                os_customer_t *out, int64_t *current, os_result_t *res);

#endif
