/* routes.h — order-service's HTTP API on common/httpd.h:
 *   POST /orders                      → 201 {orderTrackingId, orderStatus, message}
 *   GET  /orders/{trackingId}         → 200 {orderTrackingId, orderStatus, failureMessages}
 *   GET  /customers/{id}              → 200 read-model row with its version
 *   GET  /health, /health/liveness, /health/readiness, /actuator/health
 *   GET  /metrics                     → Prometheus text
 *   POST /admin/rebuild-read-model    → 202 (Authorization: Bearer <token> or Basic with the
 *   GET  /admin/rebuild-read-model      token as password; token from ORDER_ADMIN_TOKEN)
 * Errors are problem+json; validation failures are 400 with the domain's message as detail.
 */
#ifndef OS_ROUTES_H
#define OS_ROUTES_H

#include <stddef.h>

#include "application/handlers.h"
#include "httpd.h"
#include "messaging/rebuild_ctl.h"
#include "metrics.h"

/* Readiness probe: fills the components' states (1 up, 0 down). */
typedef struct os_readiness {
    int db;         /* PostgreSQL answers */
    int kafka;      /* a broker answers */
    int projection; /* the projection's last batch did not fail */
} os_readiness_t;
typedef void (*os_ready_fn)(void *ctx, os_readiness_t *out);

typedef struct os_http {
    const os_app_t *app; /* borrowed */
    metrics_t *metrics;  /* borrowed, may be NULL */
    os_ready_fn ready;   /* may be NULL (always ready) */
    void *ready_ctx;
    os_rebuild_ctl_t *rebuild; /* borrowed, may be NULL (admin endpoint answers 503) */
    const char *admin_token;   /* borrowed; NULL/"" → the admin endpoint is disabled */
    const clog_t *log;
} os_http_t;

/* Registers every route on `s` (before httpd_start). `h` must outlive the server. */
int os_http_register(httpd_t *s, os_http_t *h);

/* 1 when `authorization` (the header value, may be NULL) carries `token` as a Bearer token
 * or as the password of Basic credentials. Constant-time comparison. */
int os_http_admin_authorized(const char *authorization, const char *token);

#endif
