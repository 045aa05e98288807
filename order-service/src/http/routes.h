/* routes.h — order-service's HTTP API on common/http/httpd.h:
 *   POST /orders                      → 201 {orderTrackingId, orderStatus, message}
 *   GET  /orders/{trackingId}         → 200 {orderTrackingId, orderStatus, failureMessages}
 *   GET  /customers/{id}              → 200 read-model row with its version
 *   POST /admin/rebuild-read-model    → 202 (Authorization: Bearer <token> or Basic with the
 *   GET  /admin/rebuild-read-model      token as password; token from ORDER_ADMIN_TOKEN)
 * (health, /actuator/health and /metrics: common/svc/svc.h, registered by main.)
 * Errors are problem+json; validation failures are 400 with the domain's message as detail.
 */
#ifndef OS_ROUTES_H
#define OS_ROUTES_H

#include <stddef.h>

#include "application/handlers.h"
#include "application/worker_ports.h"
#include "httpd.h"

typedef struct os_http {
    const os_app_t *app;       /* borrowed */
    os_rebuild_port_t rebuild; /* self NULL: the admin endpoint answers 503 */
    const char *admin_token;   /* borrowed; NULL/"" → the admin endpoint is disabled */
    const clog_t *log;
    /* Optional: sets the live settings (customer_wait_ms …) of a request's copy of *app from
     * the configuration in effect, once per request, so a request never sees half an edit. */
    void (*tune)(void *tune_ctx, os_app_t *app);
    void *tune_ctx;
} os_http_t;

/* Registers every route on `s` (before httpd_start). `h` must outlive the server. */
int os_http_register(httpd_t *s, os_http_t *h);

#endif
