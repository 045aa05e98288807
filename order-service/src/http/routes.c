/* routes.c — order-service's HTTP handlers. See routes.h. */
#include "http/routes.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "http/order_json.h"
#include "svc.h"
#include "uuidtext.h"

static const char *os_body(h2o_req_t *req, size_t *len)
{
    *len = req->entity.base ? req->entity.len : 0;
    return req->entity.base;
}

static int os_send_status_problem(h2o_req_t *req, const os_result_t *res)
{
    switch (res->status) {
    case OS_EINVALID:
        return httpd_send_problem(req, 400, "Bad Request", "%s", res->msg);
    case OS_ENOTFOUND:
        return httpd_send_problem(req, 404, "Not Found", "%s", res->msg);
    case OS_ESTALE:
        httpd_add_header(req, "retry-after", "1");
        return httpd_send_problem(req, 412, "Precondition Failed", "%s", res->msg);
    default:
        return httpd_send_problem(req, 503, "Service Unavailable", "%s", res->msg);
    }
}

/* A customer version as a client has it: 3, or customer-service's ETag "3" (W/ allowed).
 * Returns it (≥ 1), or -1 when `s` is not one. */
static long long os_version_arg(const char *s)
{
    char *end;
    size_t n = strlen(s);
    if (strncmp(s, "W/", 2) == 0)
        s += 2, n -= 2;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    if (n == 0 || n > 18 || s[0] < '1' || s[0] > '9') /* no sign, space or leading zero */
        return -1;
    long long v = strtoll(s, &end, 10);
    return end == s + n && v >= 1 ? v : -1;
}

/* Reads minVersion (query) or X-Min-Version (header) and waitMs (query): 1 with values, 0
 * when no minimum was asked, -1 after answering 400 naming the parameter. Each one given is
 * checked, also when it does not count (the header beside minVersion, waitMs without either). */
static int os_min_version(h2o_req_t *req, long long *min, long long *wait)
{
    char v[64];
    const char *hv = httpd_header(req, "x-min-version");
    long long hmin = -1;
    int q = httpd_query_get(req, "minVersion", v, sizeof v);
    if (q < 0 || (q > 0 && (*min = os_version_arg(v)) < 0))
        return httpd_send_problem(req, 400, "Bad Request",
                                  "minVersion must be a customer version (a positive integer, or the ETag"
                                  " customer-service answered)"),
               -1;
    if (hv != NULL && (hmin = os_version_arg(hv)) < 0)
        return httpd_send_problem(req, 400, "Bad Request",
                                  "X-Min-Version must be a customer version (a positive integer, or the"
                                  " ETag customer-service answered)"),
               -1;
    *wait = -1;
    int qw = httpd_query_get(req, "waitMs", v, sizeof v);
    if (qw != 0) {
        char *end;
        *wait = qw > 0 ? strtoll(v, &end, 10) : -1;
        if (qw < 0 || end == v || *end != '\0' || *wait < 0)
            return httpd_send_problem(req, 400, "Bad Request",
                                      "waitMs must be a number of milliseconds (≥ 0)"),
                   -1;
    }
    if (q == 0 && hv == NULL)
        return 0;
    if (q == 0)
        *min = hmin;
    return 1;
}

static int os_post_order(void *ctx, h2o_req_t *req)
{
    os_http_t *h = ctx;
    order_t o;
    char msg[ORDER_MSG_MAX];
    os_result_t res;
    size_t len;
    const char *body = os_body(req, &len);
    if (strcmp(httpd_path(req), "/orders") != 0)
        return httpd_send_problem(req, 404, "Not Found", "no such resource: %s", httpd_path(req));
    const char *ct = httpd_header(req, "content-type");
    if (ct != NULL && !httpd_content_type_is_json(ct))
        return httpd_send_problem(req, 415, "Unsupported Media Type",
                                  "Content-Type must be application/json, not %s", ct);
    if (os_order_from_json(body, len, &o, msg, sizeof msg) != 0)
        return httpd_send_problem(req, 400, "Bad Request", "%s", msg);
    os_app_t app = *h->app;
    if (h->tune != NULL)
        h->tune(h->tune_ctx, &app);
    os_create_order(&app, &o, &res);
    os_order_json_free_items(&o);
    if (res.status != OS_OK) {
        if (res.status == OS_EINTERNAL)
            clog_error(h->log, "create order failed: %s", res.msg);
        return os_send_status_problem(req, &res);
    }
    char loc[64];
    snprintf(loc, sizeof loc, "/orders/%s", o.tracking_id);
    httpd_add_header(req, "location", loc);
    return httpd_send_json(req, 201,
                           json_pack("{s:s,s:s,s:s}", "orderTrackingId", o.tracking_id, "orderStatus",
                                     order_status_name(o.status), "message", res.msg));
}

/* The single path segment after `prefix` ("/orders/" → the id), or NULL. */
static const char *os_path_id(h2o_req_t *req, const char *prefix)
{
    const char *path = httpd_path(req);
    size_t pl = strlen(prefix);
    if (strncmp(path, prefix, pl) != 0 || path[pl] == '\0' || strchr(path + pl, '/') != NULL)
        return NULL;
    return path + pl;
}

static int os_get_order_h(void *ctx, h2o_req_t *req)
{
    os_http_t *h = ctx;
    char id[ORDER_UUID_LEN + 1];
    os_result_t res;
    os_order_view_t v;
    const char *raw = os_path_id(req, "/orders/");
    if (raw == NULL)
        return httpd_send_problem(req, 404, "Not Found", "use GET /orders/{trackingId}");
    if (uuidtext_normalize(raw, id) != 0)
        return httpd_send_problem(req, 400, "Bad Request", "trackingId must be a UUID");
    memset(&v, 0, sizeof v);
    if (os_get_order(h->app, id, &v, &res) != OS_OK) {
        os_order_view_clear(&v);
        return os_send_status_problem(req, &res);
    }
    json_t *j = os_order_view_json(&v);
    os_order_view_clear(&v);
    return httpd_send_json(req, 200, j);
}

static int os_get_customer_h(void *ctx, h2o_req_t *req)
{
    os_http_t *h = ctx;
    char id[ORDER_UUID_LEN + 1];
    os_result_t res;
    os_customer_t c;
    const char *raw = os_path_id(req, "/customers/");
    if (raw == NULL)
        return httpd_send_problem(req, 404, "Not Found", "use GET /customers/{customerId}");
    if (uuidtext_normalize(raw, id) != 0)
        return httpd_send_problem(req, 400, "Bad Request", "customerId must be a UUID");
    long long min = 0, wait = -1;
    int asked = os_min_version(req, &min, &wait);
    if (asked < 0)
        return 0;
    memset(&c, 0, sizeof c);
    int64_t current = 0;
    os_status_t st =
        asked ? os_get_customer_min(h->app, id, min, wait < 0 ? INT64_MAX : wait, &c, &current, &res)
              : os_get_customer(h->app, id, &c, &res);
    if (st != OS_OK) {
        os_customer_clear(&c);
        if (st == OS_ESTALE) {
            char cur[32];
            snprintf(cur, sizeof cur, "%lld", (long long)current);
            httpd_add_header(req, "read-model-version", cur);
        }
        return os_send_status_problem(req, &res);
    }
    char tag[32];
    snprintf(tag, sizeof tag, "\"%lld\"", (long long)c.version);
    httpd_add_header(req, "etag", tag);
    json_t *j = os_customer_json(&c);
    os_customer_clear(&c);
    return httpd_send_json(req, 200, j);
}

/* {"state":"idle|running|succeeded|failed","events","rows","poison","elapsedMs","swapMs",
 *  "error"} — new reference. */
static json_t *os_rebuild_json(const os_rebuild_port_t *rb)
{
    os_rebuild_status_t st;
    memset(&st, 0, sizeof st);
    rb->status(rb->self, &st);
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:s?}", "state", st.state ? st.state : "idle", "events",
                     (json_int_t)st.stats.events, "rows", (json_int_t)st.stats.rows, "poison",
                     (json_int_t)st.stats.poison, "elapsedMs", (json_int_t)st.stats.elapsed_ms, "swapMs",
                     (json_int_t)st.stats.swap_ms, "error", st.error[0] ? st.error : NULL);
}

static int os_admin_rebuild(void *ctx, h2o_req_t *req)
{
    os_http_t *h = ctx;
    if (svc_admin_check(req, h->admin_token, "ORDER_ADMIN_TOKEN", "order-service admin") != 0)
        return 0;
    if (h->rebuild.self == NULL)
        return httpd_send_problem(req, 503, "Service Unavailable", "rebuild is not available");
    if (httpd_method_is(req, "GET"))
        return httpd_send_json(req, 200, os_rebuild_json(&h->rebuild));
    int rc = h->rebuild.start(h->rebuild.self);
    if (rc < 0)
        return httpd_send_problem(req, 503, "Service Unavailable", "cannot start the rebuild");
    if (rc == 0)
        return httpd_send_problem(req, 409, "Conflict", "a rebuild is already running");
    clog_info(h->log, "rebuild of the read model started via the admin endpoint");
    httpd_add_header(req, "location", "/admin/rebuild-read-model");
    return httpd_send_json(req, 202, os_rebuild_json(&h->rebuild));
}

int os_http_register(httpd_t *s, os_http_t *h)
{
    if (httpd_route_exact(s, "POST", "/orders", "/orders", os_post_order, h) ||
        httpd_route(s, "GET", "/orders", "/orders/{trackingId}", os_get_order_h, h) ||
        httpd_route(s, "GET", "/customers", "/customers/{id}", os_get_customer_h, h) ||
        httpd_route(s, "POST", "/admin/rebuild-read-model", "/admin", os_admin_rebuild, h) ||
        httpd_route(s, "GET", "/admin/rebuild-read-model", "/admin", os_admin_rebuild, h))
        return -1;
    return 0;
}
