/* customer_http.h — customer-service's HTTP API on top of common/httpd.h:
 *   POST   /customers            create (201 + Location + ETag)
 *   GET    /customers/{id}       the write model's view of one customer (200 + ETag)
 *   PUT    /customers/{id}       full update, version + 1; If-Match: <version> → 412
 *   DELETE /customers/{id}       204 (a tombstone event follows); If-Match honoured
 *   GET    /health/liveness, /health/readiness (DB and Kafka reachable), /metrics
 *          (answered by common/svc.h, shared with order-service)
 * JSON in and out; every error is application/problem+json naming the problem (and the
 * offending `field` where there is one). See customer-service/openapi.yaml.
 */
#ifndef CS_CUSTOMER_HTTP_H
#define CS_CUSTOMER_HTTP_H

#include "application/customer_app.h"
#include "httpd.h"
#include "metrics.h"
#include "svc.h"

/* Readiness checks: each returns 1 when healthy. */
typedef struct customer_health_ops {
    int (*db_ok)(void *self);
    int (*kafka_ok)(void *self);
} customer_health_ops_t;

typedef struct customer_http {
    const customer_app_t *app; /* borrowed */
    metrics_t *metrics;        /* borrowed */
    const customer_health_ops_t *health;
    void *health_self;
    const clog_t *log; /* borrowed */
} customer_http_t;

/* Registers every route on `s` (before httpd_start) and declares the HTTP metrics.
 * `h` is borrowed and must outlive the server. Returns 0 or -1. */
int customer_http_register(customer_http_t *h, httpd_t *s);

/* The observe hook for httpd_opts_t (ctx = the customer_http_t): counts requests by route
 * and status and records their latency. */
void customer_http_observe(void *ctx, const char *route, const h2o_req_t *req, int status,
                           uint64_t duration_us);

#endif
