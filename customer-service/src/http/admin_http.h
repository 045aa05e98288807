/* admin_http.h — customer-service's operations API (customer-service/README.md "Operations",
 * openapi.yaml), every route behind the admin token (Authorization: Bearer
 * $CUSTOMER_ADMIN_TOKEN, or Basic with the token as password; 403 while it is unset):
 *   POST   /admin/backfill   {"all":true} | {"changedSince":T} → 202 the job's status (409 when
 *                            one runs); {"ids":[…],"tombstonesForMissing":bool} → 200 at once
 *                            (optional "batchSize", "maxBacklog", "pauseMs" for the job)
 *   GET    /admin/backfill   → 200 the job's status (idle, running, succeeded, failed, cancelled)
 *   DELETE /admin/backfill   → 202 (cancel asked) or 200 (none running)
 *   GET    /admin/checksum?from=&to=&list=true&limit=N → 200 {count, hash[, rows, truncated]}
 * Errors are problem+json naming the bad field.
 */
#ifndef CS_ADMIN_HTTP_H
#define CS_ADMIN_HTTP_H

#include "application/customer_ops.h"
#include "httpd.h"

typedef struct cs_admin_http {
    cs_ops_t *ops;           /* borrowed */
    const char *admin_token; /* borrowed; NULL/"" → every route answers 403 */
} cs_admin_http_t;

/* Registers the routes on `s` (before httpd_start). `h` must outlive the server. */
int cs_admin_http_register(httpd_t *s, cs_admin_http_t *h);

#endif
