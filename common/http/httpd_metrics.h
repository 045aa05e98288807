/* httpd_metrics.h — the HTTP metrics every program exports, and its GET /metrics answer:
 *   http_requests_total{method,route,status}, http_request_duration_seconds{method,route}
 * (an httpd observe hook fills them) plus the process metrics and <program>_build_info of
 * base/metrics_proc.h, refreshed at each scrape. The services get them through
 * svc_http_start (common/svc), config-server wires them itself. */
#ifndef CQ_HTTPD_METRICS_H
#define CQ_HTTPD_METRICS_H

#include <stdint.h>

#include "httpd.h"
#include "metrics.h"

/* Declares the HTTP and process families on `m` (NULL-safe) and sets
 * <program>_build_info{version} (metrics_proc_declare). */
void httpd_metrics_declare(metrics_t *m, const char *program, const char *version);

/* The method label of a request: one of the nine standard methods, else "OTHER" (a client
 * must not be able to create series at will). Static string. */
const char *httpd_method_label(const h2o_req_t *req);

/* An httpd observe hook (ctx = the metrics_t, NULL: nothing): counts the request in
 * http_requests_total and its duration in http_request_duration_seconds (route escaped,
 * method by httpd_method_label). */
void httpd_metrics_observe(void *metrics, const char *route, const h2o_req_t *req, int status,
                           uint64_t duration_us);

/* Answers GET /metrics: the process metrics refreshed, then `m` in the text format 0.0.4
 * (NULL: an empty 200). */
int httpd_send_metrics(h2o_req_t *req, metrics_t *m);

#endif
