/* customer_http.c — JSON <-> commands for customer-service (routes listed in
 * customer_http.h). Handlers run on httpd's loop threads and call the application layer
 * synchronously. */
#include "http/customer_http.h"
#include "trc.h"
#include "uuidtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CS_PREFIX "/customers"

/* problem+json with an optional "field" member. */
static int cs_problem(h2o_req_t *req, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int cs_problem(h2o_req_t *req, int status, const char *field, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    json_t *p;
    char *s;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    p = json_pack("{s:s,s:s,s:i,s:s}", "type", "about:blank", "title", httpd_reason(status), "status", status,
                  "detail", detail);
    if (p != NULL && field != NULL)
        json_object_set_new(p, "field", json_string(field));
    s = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (s == NULL)
        return httpd_send_problem(req, status, NULL, "%s", detail);
    httpd_send(req, status, "application/problem+json", s, strlen(s));
    free(s);
    return 0;
}

/* The current request's trace context (its SERVER span: httpd) as a traceparent in buf, or
 * NULL when the request is not traced. */
static const char *cs_traceparent(char buf[TRC_TRACEPARENT_LEN + 1])
{
    const trc_ctx_t *c = trc_current();
    if (c == NULL)
        return NULL;
    trc_format(c, buf);
    return buf;
}

static void cs_iso8601(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char base[24];
    gmtime_r(&t, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%03dZ", base, (int)((ms % 1000 + 1000) % 1000));
}

static void cs_etag(h2o_req_t *req, int64_t version)
{
    char tag[32];
    snprintf(tag, sizeof tag, "\"%lld\"", (long long)version);
    httpd_add_header(req, "ETag", tag);
}

/* Maps a non-OK application result to its problem response. */
static int cs_app_error(h2o_req_t *req, const customer_result_t *res)
{
    switch (res->rc) {
    case APP_INVALID:
        return cs_problem(req, 400, res->violation.field, "%s", res->detail);
    case APP_NOT_FOUND:
        return cs_problem(req, 404, NULL, "%s", res->detail);
    case APP_CONFLICT:
        return cs_problem(req, 409, strstr(res->detail, "username") ? "username" : "customerId", "%s",
                          res->detail);
    case APP_PRECONDITION:
        return cs_problem(req, 412, NULL, "%s", res->detail);
    case APP_UNAVAILABLE:
        httpd_add_header(req, "Retry-After", "1");
        return cs_problem(req, 503, NULL, "%s", res->detail);
    default:
        return cs_problem(req, 500, NULL, "%s", res->detail[0] ? res->detail : "unexpected error");
    }
}

/* Reads an optional string member. Returns 0 (found or absent: *out NULL) or -1 after
 * answering 400. `required` turns absence into a 400. */
static int cs_str_field(h2o_req_t *req, json_t *body, const char *name, int required, const char **out)
{
    json_t *v = json_object_get(body, name);
    *out = NULL;
    if (v == NULL || (json_is_null(v) && !required)) {
        if (required) {
            cs_problem(req, 400, name, "%s is required", name);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        cs_problem(req, 400, name, "%s must be a JSON string", name);
        return -1;
    }
    *out = json_string_value(v);
    if (strlen(*out) != json_string_length(v)) {
        cs_problem(req, 400, name, "%s must not contain NUL characters", name);
        return -1;
    }
    return 0;
}

/* Parses the body into a JSON object. Returns it (owned) or NULL after answering 4xx. */
static json_t *cs_body(h2o_req_t *req)
{
    json_error_t je;
    json_t *j;
    const char *ct = httpd_header(req, "content-type");
    if (ct != NULL && !httpd_content_type_is_json(ct)) {
        cs_problem(req, 415, NULL, "Content-Type must be application/json, not '%s'", ct);
        return NULL;
    }
    if (req->entity.base == NULL || req->entity.len == 0) {
        cs_problem(req, 400, NULL, "the request body is empty; expected a JSON object");
        return NULL;
    }
    j = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        cs_problem(req, 400, NULL, "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        cs_problem(req, 400, NULL, "the request body must be a JSON object");
        json_decref(j);
        return NULL;
    }
    return j;
}

/* If-Match → expected version (-1 none). Returns 0, or -1 after answering 400. */
static int cs_if_match(h2o_req_t *req, int64_t *out)
{
    const char *h = httpd_header(req, "if-match");
    char *end = NULL;
    long long v;
    *out = -1;
    if (h == NULL || strcmp(h, "*") == 0)
        return 0;
    if (strncmp(h, "W/", 2) == 0)
        h += 2;
    if (*h == '"')
        h++;
    v = strtoll(h, &end, 10);
    if (end == h || v < 1 || (*end != '\0' && !(end[0] == '"' && end[1] == '\0'))) {
        cs_problem(req, 400, "If-Match", "If-Match must be a customer version such as \"3\"");
        return -1;
    }
    *out = v;
    return 0;
}

static int cs_write_reply(h2o_req_t *req, int status, const customer_t *c, const char *msg)
{
    cs_etag(req, c->version);
    return httpd_send_json(
        req, status,
        json_pack("{s:s,s:I,s:s}", "customerId", c->id, "version", (json_int_t)c->version, "message", msg));
}

static int cs_create(customer_http_t *h, h2o_req_t *req)
{
    char tp[TRC_TRACEPARENT_LEN + 1];
    customer_cmd_t cmd = {NULL, NULL, NULL, NULL, -1, cs_traceparent(tp)};
    customer_result_t res;
    json_t *b = cs_body(req);
    char loc[64];
    int rc = 0;
    if (b == NULL)
        return 0;
    if (cs_str_field(req, b, "customerId", 0, &cmd.id) ||
        cs_str_field(req, b, "username", 1, &cmd.username) ||
        cs_str_field(req, b, "firstName", 1, &cmd.first_name) ||
        cs_str_field(req, b, "lastName", 1, &cmd.last_name))
        goto cleanup;
    if (customer_app_create(h->app, &cmd, &res) != APP_OK) {
        cs_app_error(req, &res);
        goto cleanup;
    }
    snprintf(loc, sizeof loc, CS_PREFIX "/%s", res.customer.id);
    httpd_add_header(req, "Location", loc);
    rc = cs_write_reply(req, 201, &res.customer, "Customer saved successfully!");
cleanup:
    json_decref(b);
    return rc;
}

static int cs_update(customer_http_t *h, h2o_req_t *req, const char *id)
{
    char tp[TRC_TRACEPARENT_LEN + 1];
    customer_cmd_t cmd = {id, NULL, NULL, NULL, -1, cs_traceparent(tp)};
    customer_result_t res;
    const char *bid = NULL;
    json_t *b = NULL;
    int rc = 0;
    if (cs_if_match(req, &cmd.if_match) != 0 || (b = cs_body(req)) == NULL)
        return 0;
    if (cs_str_field(req, b, "customerId", 0, &bid) || cs_str_field(req, b, "username", 1, &cmd.username) ||
        cs_str_field(req, b, "firstName", 1, &cmd.first_name) ||
        cs_str_field(req, b, "lastName", 1, &cmd.last_name))
        goto cleanup;
    if (bid != NULL && strcasecmp(bid, id) != 0) {
        cs_problem(req, 400, "customerId", "customerId in the body (%.40s) differs from the one in the path",
                   bid);
        goto cleanup;
    }
    if (customer_app_update(h->app, &cmd, &res) != APP_OK) {
        cs_app_error(req, &res);
        goto cleanup;
    }
    rc = cs_write_reply(req, 200, &res.customer, "Customer updated successfully!");
cleanup:
    json_decref(b);
    return rc;
}

static int cs_delete(customer_http_t *h, h2o_req_t *req, const char *id)
{
    char tp[TRC_TRACEPARENT_LEN + 1];
    customer_cmd_t cmd = {id, NULL, NULL, NULL, -1, cs_traceparent(tp)};
    customer_result_t res;
    if (cs_if_match(req, &cmd.if_match) != 0)
        return 0;
    if (customer_app_delete(h->app, &cmd, &res) != APP_OK)
        return cs_app_error(req, &res);
    return httpd_send(req, 204, NULL, "", 0);
}

static int cs_get(customer_http_t *h, h2o_req_t *req, const char *id)
{
    customer_result_t res;
    char ca[40], ua[40];
    if (customer_app_get(h->app, id, &res) != APP_OK)
        return cs_app_error(req, &res);
    cs_iso8601(res.customer.created_at_ms, ca);
    cs_iso8601(res.customer.updated_at_ms, ua);
    cs_etag(req, res.customer.version);
    return httpd_send_json(req, 200,
                           json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "customerId", res.customer.id,
                                     "username", res.customer.username, "firstName", res.customer.first_name,
                                     "lastName", res.customer.last_name, "version",
                                     (json_int_t)res.customer.version, "createdAt", ca, "updatedAt", ua));
}

static int cs_not_allowed(h2o_req_t *req, const char *allow)
{
    httpd_add_header(req, "Allow", allow);
    return cs_problem(req, 405, NULL, "method %.*s is not allowed on this resource; allowed: %s",
                      (int)req->method.len, req->method.base, allow);
}

static int cs_customers(void *ctx, h2o_req_t *req)
{
    customer_http_t *h = ctx;
    const char *path = httpd_path(req);
    const char *id;
    if (strcmp(path, CS_PREFIX) == 0 || strcmp(path, CS_PREFIX "/") == 0) {
        if (httpd_method_is(req, "POST"))
            return cs_create(h, req);
        return cs_not_allowed(req, "POST");
    }
    id = path + strlen(CS_PREFIX "/");
    if (strchr(id, '/') != NULL)
        return cs_problem(req, 404, NULL, "no such resource");
    if (!uuidtext_valid(id))
        return cs_problem(req, 400, "customerId",
                          "customerId in the path must be a UUID like "
                          "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    if (httpd_method_is(req, "GET") || httpd_method_is(req, "HEAD"))
        return cs_get(h, req, id);
    if (httpd_method_is(req, "PUT"))
        return cs_update(h, req, id);
    if (httpd_method_is(req, "DELETE"))
        return cs_delete(h, req, id);
    return cs_not_allowed(req, "GET, PUT, DELETE");
}

int customer_http_register(httpd_t *s, void *http)
{
    return httpd_route(s, NULL, CS_PREFIX, CS_PREFIX, cs_customers, http) != 0 ? -1 : 0;
}
