/* cs_client.h — customer-service (the write side) as the live reconciliation asks it
 * (application/reconcile.h), over its HTTP API with libcurl: GET /admin/checksum (the
 * comparison) and POST /admin/backfill with ids and tombstonesForMissing (the repair), with
 * customer-service's admin token. Each request is bounded by 10 s; any thread. Neither
 * service reads the other's schema: this API is the bridge.
 */
#ifndef OS_CS_CLIENT_H
#define OS_CS_CLIENT_H

#include "application/reconcile.h"

typedef struct os_csclient {
    const char *base_url; /* "http://host:8184" (borrowed) */
    const char *token;    /* customer-service's admin token (borrowed), may be NULL */
} os_csclient_t;

/* The port views (borrowed: valid while `c` lives). */
os_sums_port_t os_csclient_sums_port(os_csclient_t *c);
os_republish_port_t os_csclient_republish_port(os_csclient_t *c);

#endif
