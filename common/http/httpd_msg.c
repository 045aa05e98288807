/* httpd_msg.c — the request and response helpers route handlers call (httpd.h): reason
 * phrases, httpd_send / _json / _problem, response headers, and the request's path, query,
 * headers and method, the JSON media-type check. Plain h2o request calls: nothing here
 * knows the server (httpd.c).
 */
#include "httpd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hexdig.h"
#include "utf8text.h"

const char *httpd_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

/* ---------------------------------------------------------------- responses */

int httpd_send(h2o_req_t *req, int status, const char *content_type, const void *body, size_t len)
{
    req->res.status = status;
    req->res.reason = httpd_reason(status);
    if (content_type != NULL)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       h2o_strdup(&req->pool, content_type, SIZE_MAX).base, strlen(content_type));
    if (body == NULL || status == 304 || status == 204)
        len = 0;
    req->res.content_length = len;
    h2o_send_inline(req, len ? (const char *)body : "", len);
    return 0;
}

int httpd_send_json(h2o_req_t *req, int status, json_t *json)
{
    char *s = json != NULL ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (s == NULL)
        return httpd_send_problem(req, 500, "Internal Server Error", "response could not be encoded");
    httpd_send(req, status, "application/json", s, strlen(s));
    free(s);
    return 0;
}

/* Copies `in` to `out` (cap bytes, NUL-terminated) as valid UTF-8: each byte that is not
 * part of a valid sequence (a decoded %ff in a path, a truncated character) becomes "%HH". */
static void httpd_utf8_clean(const char *in, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t n = strlen(in), o = 0;
    while (n > 0 && o + 1 < cap) {
        unsigned cp;
        size_t k = utf8text_next(p, n, &cp);
        if (k == 0) {
            if (o + 4 > cap)
                break;
            snprintf(out + o, cap - o, "%%%02X", *p);
            o += 3;
            k = 1;
        } else {
            if (o + k + 1 > cap)
                break;
            memcpy(out + o, p, k);
            o += k;
        }
        p += k;
        n -= k;
    }
    out[o] = '\0';
}

int httpd_send_problem(h2o_req_t *req, int status, const char *title, const char *detail_fmt, ...)
{
    char raw[1024], detail[1024], fallback[160];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(raw, sizeof(raw), detail_fmt, ap);
    va_end(ap);
    httpd_utf8_clean(raw, detail, sizeof(detail));
    json_t *p = json_pack("{s:s,s:s,s:i,s:s}", "type", "about:blank", "title",
                          title != NULL ? title : httpd_reason(status), "status", status, "detail", detail);
    char *s = p != NULL ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (s == NULL) {
        /* out of memory (or a title that is not UTF-8): the same status, no detail */
        int n = snprintf(fallback, sizeof(fallback),
                         "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"detail\":\"\"}",
                         httpd_reason(status), status);
        return httpd_send(req, status, "application/problem+json", fallback, (size_t)n);
    }
    httpd_send(req, status, "application/problem+json", s, strlen(s));
    free(s);
    return 0;
}

int httpd_content_type_is_json(const char *ct)
{
    if (ct == NULL)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t len = strcspn(ct, "; \t");
    if (len == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    /* application/<subtype>+json (RFC 6839), e.g. application/vnd.api.v1+json */
    return len > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + len - 5, "+json", 5) == 0 && memchr(ct + 12, '/', len - 12) == NULL;
}

void httpd_add_header(h2o_req_t *req, const char *name, const char *value)
{
    size_t nlen = strlen(name);
    char *n = h2o_mem_alloc_pool(&req->pool, nlen + 1);
    for (size_t i = 0; i < nlen; i++)
        n[i] = (char)h2o_tolower(name[i]);
    n[nlen] = '\0';
    h2o_iovec_t v = h2o_strdup(&req->pool, value, SIZE_MAX);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n, nlen, 1, NULL, v.base, v.len);
}

/* ---------------------------------------------------------------- requests */

const char *httpd_path(h2o_req_t *req)
{
    size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    return h2o_strdup(&req->pool, req->path.base, len).base;
}

const char *httpd_query(h2o_req_t *req)
{
    if (req->query_at == SIZE_MAX)
        return "";
    return h2o_strdup(&req->pool, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1).base;
}

int httpd_query_get(h2o_req_t *req, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    if (req->query_at == SIZE_MAX || outlen == 0)
        return 0;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p)), *vend = stop;
        size_t klen = (size_t)((eq ? eq : stop) - p);
        if (klen == nlen && memcmp(p, name, nlen) == 0) {
            size_t n = 0;
            for (const char *v = eq ? eq + 1 : stop; v < vend; v++) {
                int c = (unsigned char)*v;
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi, lo;
                    if (vend - v < 3 || (hi = hexdig_value(v[1])) < 0 || (lo = hexdig_value(v[2])) < 0)
                        return -1;
                    c = hi * 16 + lo;
                    v += 2;
                }
                if (c == 0 || n + 1 >= outlen)
                    return -1;
                out[n++] = (char)c;
            }
            out[n] = '\0';
            return 1;
        }
        p = stop + 1;
    }
    return 0;
}

const char *httpd_header(h2o_req_t *req, const char *name)
{
    size_t nlen = strlen(name);
    char lower[128];
    if (nlen >= sizeof(lower))
        return NULL;
    for (size_t i = 0; i < nlen; i++)
        lower[i] = (char)h2o_tolower(name[i]);
    ssize_t i = h2o_find_header_by_str(&req->headers, lower, nlen, -1);
    if (i < 0)
        return NULL;
    h2o_iovec_t v = req->headers.entries[i].value;
    return h2o_strdup(&req->pool, v.base, v.len).base;
}

int httpd_method_is(const h2o_req_t *req, const char *m)
{
    return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}
