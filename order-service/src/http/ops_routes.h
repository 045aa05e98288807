/* ops_routes.h — order-service's operations API (order-service/README.md "Operations",
 * openapi.yaml), every route behind the admin token (Authorization: Bearer $ORDER_ADMIN_TOKEN,
 * or Basic with the token as password; 403 while ORDER_ADMIN_TOKEN is unset):
 *   GET  /admin/projection            → 200 status: per partition the stored position, the
 *                                       watermarks, the lag, the leader, held here or not;
 *                                       paused or running; the last moves
 *   POST /admin/projection/pause      → 200 status (paused between two batches)
 *   POST /admin/projection/resume     → 200 status
 *   POST /admin/projection/replay     → 200 {"topic","moved":[{partition,from,to,epoch}]}
 *        {"to":"beginning"|"offset"|"timestamp", "offset":N, "timestamp":"…Z"|ms, "partitions":[…]}
 *   GET  /admin/dlq?partition=&offset=&limit=&reason=&key=
 *                                     → 200 {"topic","partitions":[…],"records":[…],"scanned",
 *                                       "more","next":{partition,offset}|null}: the dead-letter
 *                                       records with reason, source coordinates, decoded now
 *   POST /admin/dlq/redrive           → 200 {"topic","applied","skipped","alreadyHandled","failed",
 *        {"records":[{partition,offset}…]}  "records":[{…,"outcome","decision","detail"}],
 *        | {"reason","key"} | {"all":true}  "more","next"}: dead letters applied again
 *        (+ "partition", "from":{partition,offset} with a filter or all)
 * Errors are problem+json: 400 naming the bad field or the impossible target, 503 (with
 * Retry-After) when the database, Kafka or the projection did not answer in time.
 */
#ifndef OS_OPS_ROUTES_H
#define OS_OPS_ROUTES_H

#include "application/ops_replay.h"
#include "httpd.h"

typedef struct os_ops_http {
    const os_ops_t *ops;     /* borrowed */
    const char *admin_token; /* borrowed; NULL/"" → every route answers 403 */
} os_ops_http_t;

/* Registers the routes on `s` (before httpd_start). `h` must outlive the server. */
int os_ops_http_register(httpd_t *s, os_ops_http_t *h);

#endif
