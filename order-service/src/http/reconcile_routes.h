/* reconcile_routes.h — the live reconciliation's admin API (application/reconcile.h), behind
 * the admin token like every operations route (ORDER_ADMIN_TOKEN):
 *   GET  /admin/reconciliation      → 200 {"enabled","running","rounds","lastRoundAt",
 *                                     "lastRoundMs","rows","compared","drift","ids":[…],
 *                                     "repaired","error"}: what the last round found
 *   POST /admin/reconciliation/run  → 202 {"enabled":true,…}: a round now (after the one
 *                                     under way); GET shows its result once "rounds" grew
 * With reconciliation.customer-service-url unset both answer 404 naming the key.
 */
#ifndef OS_RECONCILE_ROUTES_H
#define OS_RECONCILE_ROUTES_H

#include "application/reconcile.h"
#include "httpd.h"

typedef struct os_reconcile_http {
    os_reconciler_t *rc;     /* borrowed; NULL: reconciliation off */
    const char *admin_token; /* borrowed; NULL/"" → every route answers 403 */
} os_reconcile_http_t;

/* Registers the routes before httpd_start (`h` borrowed, must outlive the server). 0 or -1. */
int os_reconcile_http_register(httpd_t *s, os_reconcile_http_t *h);

#endif
