/* watchreq.c — environment answers with If-None-Match and ?wait= (watchreq.h), and the
 * watch hub's operations: re-evaluating a held query after a change, 304 on expiry. */
#include "http/watchreq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/answer.h"

int cs_watch_etag_matches(const char *inm, const char *etag)
{
    if (inm == NULL)
        return 0;
    size_t el = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' '))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

int cs_watch_wait_param(const char *query, long max_ms, long *ms, char *why, size_t whylen)
{
    const char *v = NULL;
    for (const char *p = query; p != NULL && *p != '\0';) {
        if (strncmp(p, "wait=", 5) == 0) {
            v = p + 5;
            break;
        }
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    if (v == NULL)
        return 0;
    size_t n = strcspn(v, "&");
    char buf[32];
    if (n == 0 || n >= sizeof(buf) || v[0] < '0' || v[0] > '9')
        goto bad;
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *end = NULL;
    errno = 0;
    long long num = strtoll(buf, &end, 10);
    if (errno != 0 || num < 0)
        goto bad;
    long long unit = strcmp(end, "") == 0 || strcmp(end, "s") == 0 ? 1000
                     : strcmp(end, "ms") == 0                      ? 1
                     : strcmp(end, "m") == 0                       ? 60000
                     : strcmp(end, "h") == 0                       ? 3600000
                                                                   : 0;
    if (unit == 0)
        goto bad;
    long long total = num > (long long)max_ms ? (long long)max_ms : num * unit; /* no overflow */
    *ms = total > max_ms ? max_ms : (long)total;
    return 1;
bad:
    snprintf(
        why, whylen,
        "query parameter wait='%.*s' is not a duration: give whole seconds (30) or a number with ms, s, m "
        "or h (500ms, 30s, 2m)",
        (int)(n > 40 ? 40 : n), v);
    return -1;
}

int cs_http_watch(cs_http_t *h, h2o_req_t *req, const cs_req_t *r, int v2, int resolve)
{
    char why[256], hdr[24];
    snprintf(hdr, sizeof(hdr), "%ld", h->watch_max_ms / 1000);
    httpd_add_header(req, "X-Config-Watch-Max", hdr);
    long wait_ms = 0;
    if (cs_watch_wait_param(httpd_query(req), h->watch_max_ms, &wait_ms, why, sizeof(why)) < 0)
        return httpd_send_problem(req, 400, "Bad Request", "%s", why);
    cs_query_t *q = malloc(sizeof(*q));
    if (q == NULL)
        return httpd_send_problem(req, 500, "Internal Server Error", "out of memory");
    cs_query_init(q, r, v2, resolve);
    cs_answer_t a;
    cs_answer_eval(h, q, &a);
    int same = a.status == 200 && cs_watch_etag_matches(httpd_header(req, "if-none-match"), a.etag);
    int rc = 0;
    if (same && wait_ms > 0 && h->hub != NULL)
        rc = cs_hub_hold(h->hub, req, q->key, a.etag, (uint64_t)wait_ms);
    if (rc != HTTPD_LATER) {
        if (!same)
            cs_answer_body(h, q, &a);
        cs_answer_send(req, &a, same);
    }
    cs_answer_done(h, &a);
    free(q);
    return rc;
}

/* ---------------------------------------------------------------- the hub's operations */

static void *hub_recheck(void *ctx, const char *gkey, const char *etag)
{
    cs_http_t *h = ctx;
    cs_query_t *q = malloc(sizeof(*q));
    cs_answer_t *a = malloc(sizeof(*a));
    if (q == NULL || a == NULL || cs_query_from_key(q, gkey) != 0) {
        free(q);
        free(a);
        return NULL; /* tried again on the next change or answered at expiry */
    }
    cs_answer_eval(h, q, a);
    if (a->status == 200 && strcmp(a->etag, etag) == 0) {
        cs_answer_done(h, a);
        free(a);
        a = NULL;
    } else {
        cs_answer_body(h, q, a);
    }
    free(q);
    return a;
}

static void hub_send(void *ctx, void *state, h2o_req_t *req)
{
    (void)ctx;
    cs_answer_send(req, state, 0);
}

static void hub_done(void *ctx, void *state)
{
    cs_answer_done(ctx, state);
    free(state);
}

static void hub_expire(void *ctx, h2o_req_t *req, const char *etag)
{
    (void)ctx;
    httpd_add_header(req, "ETag", etag);
    httpd_add_header(req, "Cache-Control", "no-cache");
    httpd_send(req, 304, NULL, NULL, 0);
}

const cs_hub_ops_t cs_watch_hub_ops = {hub_recheck, hub_send, hub_done, hub_expire};
