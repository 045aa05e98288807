/* customer_http.h — customer-service's HTTP API on top of common/http/httpd.h:
 *   POST   /customers            create (201 + Location + ETag)
 *   GET    /customers/{id}       the write model's view of one customer (200 + ETag)
 *   PUT    /customers/{id}       full update, version + 1; If-Match: <version> → 412
 *   DELETE /customers/{id}       204 (a tombstone event follows); If-Match honoured
 * (/health/..., /metrics: common/svc/svc.h's svc_http_register, wired in main.c as in order-service.)
 * JSON in and out; every error is application/problem+json naming the problem (and the
 * offending `field` where there is one). See customer-service/openapi.yaml.
 */
#ifndef CS_CUSTOMER_HTTP_H
#define CS_CUSTOMER_HTTP_H

#include "application/customer_app.h"
#include "clog.h"
#include "httpd.h"

typedef struct customer_http {
    const customer_app_t *app; /* borrowed */
    const clog_t *log;         /* borrowed */
} customer_http_t;

/* Registers the /customers routes on `s` (before httpd_start; a svc_routes_fn). `http`, a
 * customer_http_t, is borrowed and must outlive the server. Returns 0 or -1. */
int customer_http_register(httpd_t *s, void *http);

#endif
