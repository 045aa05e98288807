/* httpd_metrics.c — HTTP request metrics and the /metrics answer. See httpd_metrics.h. */
#include "httpd_metrics.h"

#include <stdio.h>
#include <stdlib.h>

#include "metrics_proc.h"

void httpd_metrics_declare(metrics_t *m, const char *program, const char *version)
{
    if (m == NULL)
        return;
    metrics_declare(m, "http_requests_total", METRICS_COUNTER, "HTTP requests by route and status.", NULL, 0);
    metrics_declare(m, "http_request_duration_seconds", METRICS_HISTOGRAM, "HTTP request handling time.",
                    NULL, 0);
    metrics_proc_declare(m, program, version);
}

const char *httpd_method_label(const h2o_req_t *req)
{
    static const char *const known[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                        "PATCH", "OPTIONS", "TRACE", "CONNECT"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (httpd_method_is(req, known[i]))
            return known[i];
    return "OTHER";
}

void httpd_metrics_observe(void *metrics, const char *route, const h2o_req_t *req, int status,
                           uint64_t duration_us)
{
    metrics_t *m = metrics;
    char labels[192], r[96];
    const char *method;
    if (m == NULL)
        return;
    method = httpd_method_label(req);
    metrics_label_escape(route ? route : "unmatched", r, sizeof r);
    snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",status=\"%d\"", method, r, status);
    metrics_add(m, "http_requests_total", labels, 1);
    snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\"", method, r);
    metrics_observe(m, "http_request_duration_seconds", labels, (double)duration_us / 1e6);
}

int httpd_send_metrics(h2o_req_t *req, metrics_t *m)
{
    static const char ct[] = "text/plain; version=0.0.4; charset=utf-8";
    size_t len = 0;
    char *txt;
    if (m == NULL)
        return httpd_send(req, 200, ct, "", 0);
    metrics_proc_update(m);
    txt = metrics_render(m, &len);
    if (txt == NULL)
        return httpd_send_problem(req, 500, "Internal Server Error", "metrics could not be rendered");
    httpd_send(req, 200, ct, txt, len);
    free(txt);
    return 0;
}
