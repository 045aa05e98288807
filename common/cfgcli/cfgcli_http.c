/* cfgcli_http.c — one request of the config client: the URL of {app}/{profiles}[/{label}]
 * (or of the .yml form) on one base URL of the comma list, the libcurl GET with the
 * client's timeouts, credentials, TLS settings and Accept header — plus If-None-Match and ?wait= for the
 * watcher's conditional and long-poll requests — and the answer turned into an Environment
 * document, a "not modified", or a message naming the URL without inline credentials.
 * The start-up fetch (cfgcli_fetch.c) and the watcher (cfgcli_watch.c) both go through it.
 */
#include "cfgcli_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFGCLI_MAX_BODY (16u << 20)

/* YAML form (cfgcli_yaml.c): converts a merged YAML document into a one-source Environment. */
json_t *cfgcli_yaml_to_env(const char *body, size_t len, const char *name, char *err, size_t errlen);

int cfgcli_url_next(const char **p, const char **b, const char **e)
{
    while (**p) {
        size_t l = strcspn(*p, ",");
        const char *s = *p, *t = *p + l;
        *p = *t == ',' ? t + 1 : t;
        while (s < t && (*s == ' ' || *s == '\t'))
            s++;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (s < t) {
            *b = s;
            *e = t;
            return 0;
        }
    }
    return -1;
}

int cfgcli_url_count(const char *list)
{
    int n = 0;
    const char *p = list, *b, *e;
    while (cfgcli_url_next(&p, &b, &e) == 0)
        n++;
    return n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    dbuf_t *b = ud;
    return dbuf_add(b, ptr, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* The header value of `line` when its name is `name` (case-insensitive), trimmed into out. */
static int header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return -1;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && isspace((unsigned char)*v))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    snprintf(out, cap, "%.*s", (int)(end - v), v);
    return 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    cfgcli_req_t *r = ud;
    size_t len = size * nmemb;
    char v[256];
    if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) { /* a new response (after a 100): start over */
        r->etag[0] = '\0';
        r->watch_max = -1;
    } else if (header_value(ptr, len, "etag", v, sizeof v) == 0) {
        snprintf(r->etag, sizeof r->etag, "%s", v);
    } else if (header_value(ptr, len, "x-config-watch-max", v, sizeof v) == 0) {
        char *end;
        long x = strtol(v, &end, 10);
        r->watch_max = (end != v && *end == '\0' && x > 0) ? x : -1;
    }
    return len;
}

/* Appends `s` percent-encoded for a path segment; '/' in labels becomes Spring's "(_)". */
static int add_segment(dbuf_t *b, const char *s, int keep_commas)
{
    static const char ok[] = "-._~";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int r;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            (*p && strchr(ok, *p)) || (keep_commas && *p == ','))
            r = dbuf_add(b, p, 1);
        else if (*p == '/' && !keep_commas)
            r = dbuf_adds(b, "(_)");
        else
            r = dbuf_addf(b, "%%%02X", *p);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* Copies base URL `b` (len bytes) into `out` with any "user:password@" replaced by "***@",
 * so that messages and logs never show inline credentials. */
static void redact_url(const char *b, size_t len, char *out, size_t cap)
{
    const char *end = b + len;
    const char *hs = memmem(b, len, "://", 3);
    const char *host = hs ? hs + 3 : b;
    const char *slash = memchr(host, '/', (size_t)(end - host));
    const char *lim = slash ? slash : end;
    const char *at = NULL;
    for (const char *q = host; q < lim; q++)
        if (*q == '@')
            at = q;
    if (at == NULL)
        snprintf(out, cap, "%.*s", (int)len, b);
    else
        snprintf(out, cap, "%.*s***%.*s", (int)(host - b), b, (int)(end - at), at);
}

/* The request URL for base `base` (len bytes). */
static int build_url(const cfgcli_opts_t *o, const char *base, size_t blen, dbuf_t *u)
{
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    const char *prof = o->profiles[0] ? o->profiles : CFGCLI_DEFAULT_PROFILES;
    if (dbuf_add(u, base, blen) < 0)
        return -1;
    if (o->format == CFGCLI_FORMAT_YAML) {
        if (o->label[0] && (dbuf_adds(u, "/") < 0 || add_segment(u, o->label, 0) < 0))
            return -1;
        return (dbuf_adds(u, "/") < 0 || add_segment(u, o->app, 0) < 0 || dbuf_adds(u, "-") < 0 ||
                add_segment(u, prof, 1) < 0 || dbuf_adds(u, ".yml") < 0)
                   ? -1
                   : 0;
    }
    if (dbuf_adds(u, "/") < 0 || add_segment(u, o->app, 0) < 0 || dbuf_adds(u, "/") < 0 ||
        add_segment(u, prof, 1) < 0)
        return -1;
    if (o->label[0] && (dbuf_adds(u, "/") < 0 || add_segment(u, o->label, 0) < 0))
        return -1;
    return 0;
}

/* Pulls a short human reason out of an error body (problem+json detail/title, or text). */
static void body_reason(const char *body, size_t len, char *out, size_t cap)
{
    out[0] = '\0';
    json_t *j = json_loadb(body, len, 0, NULL);
    const json_t *d = j ? json_object_get(j, "detail") : NULL;
    if (!json_is_string(d) && j)
        d = json_object_get(j, "title");
    if (!json_is_string(d) && j)
        d = json_object_get(j, "message");
    if (json_is_string(d))
        snprintf(out, cap, ": %s", json_string_value(d));
    else if (len > 0 && j == NULL)
        snprintf(out, cap, ": %.*s", (int)(len > 120 ? 120 : len), body);
    json_decref(j);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

int cfgcli_req_init(cfgcli_req_t *r, const cfgcli_opts_t *o, const char *base, size_t blen, const char *etag,
                    long wait_s, char *err, size_t errlen)
{
    dbuf_t u;
    char hdr[300];
    memset(r, 0, sizeof *r);
    r->watch_max = -1;
    dbuf_init(&r->body, CFGCLI_MAX_BODY);
    dbuf_init(&u, 8192);
    redact_url(base, blen, r->base_shown, sizeof r->base_shown);
    if (build_url(o, base, blen, &u) < 0 || (wait_s > 0 && dbuf_addf(&u, "?wait=%lds", wait_s) < 0)) {
        errbuf_set(err, errlen, "config URL too long (%zu bytes)", blen);
        goto fail;
    }
    redact_url(dbuf_ptr(&u), dbuf_len(&u), r->shown, sizeof r->shown);
    r->h = curl_easy_init();
    r->hdrs = curl_slist_append(NULL, o->format == CFGCLI_FORMAT_YAML
                                          ? "Accept: application/x-yaml, text/plain, */*"
                                          : "Accept: application/json");
    if (r->hdrs != NULL && etag != NULL && etag[0] != '\0') {
        struct curl_slist *h2;
        snprintf(hdr, sizeof hdr, "If-None-Match: %s", etag);
        h2 = curl_slist_append(r->hdrs, hdr);
        if (h2 == NULL) {
            curl_slist_free_all(r->hdrs);
            r->hdrs = NULL;
        } else {
            r->hdrs = h2;
        }
    }
    if (r->h == NULL || r->hdrs == NULL) {
        errbuf_set(err, errlen, "%s: out of memory", r->shown);
        goto fail;
    }
    /* libcurl copies the URL */
    curl_easy_setopt(r->h, CURLOPT_URL, dbuf_ptr(&u));
    curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(r->h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(r->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(r->h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(r->h, CURLOPT_ERRORBUFFER, r->cerr);
    curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    /* a long poll is held up to wait_s by the server: the timeout covers that on top */
    curl_easy_setopt(r->h, CURLOPT_TIMEOUT_MS, o->request_timeout_ms + (wait_s > 0 ? wait_s * 1000 : 0));
    curl_easy_setopt(r->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->h, CURLOPT_USERAGENT, "cqrs-ordering-cfgcli/" CQ_VERSION);
    cfgcli_opts_curl(r->h, o);
    dbuf_free(&u);
    return 0;
fail:
    dbuf_free(&u);
    cfgcli_req_free(r);
    return -1;
}

cfgcli_try_t cfgcli_req_result(cfgcli_req_t *r, const cfgcli_opts_t *o, CURLcode cc, json_t **doc, char *err,
                               size_t errlen)
{
    long status = 0;
    *doc = NULL;
    if (cc != CURLE_OK) {
        if (cc == CURLE_WRITE_ERROR)
            errbuf_set(err, errlen, "%s: response larger than %u bytes", r->shown, CFGCLI_MAX_BODY);
        else
            errbuf_set(err, errlen, "%s: %s", r->shown, r->cerr[0] ? r->cerr : curl_easy_strerror(cc));
        return CFGCLI_TRY_RETRY;
    }
    curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
    if (status == 304)
        return CFGCLI_TRY_SAME;
    if (status < 200 || status > 299) {
        char why[200];
        body_reason(dbuf_ptr(&r->body), dbuf_len(&r->body), why, sizeof why);
        errbuf_set(err, errlen, "%s: HTTP %ld%s", r->shown, status, why);
        /* the server answered: a 4xx will not change by asking again */
        return (status >= 400 && status < 500 && status != 408 && status != 429) ? CFGCLI_TRY_FINAL
                                                                                 : CFGCLI_TRY_RETRY;
    }
    if (o->format == CFGCLI_FORMAT_YAML) {
        *doc = cfgcli_yaml_to_env(dbuf_ptr(&r->body), dbuf_len(&r->body), r->shown, err, errlen);
    } else {
        json_error_t je;
        *doc = json_loadb(dbuf_ptr(&r->body), dbuf_len(&r->body), 0, &je);
        if (*doc == NULL)
            errbuf_set(err, errlen, "%s: invalid JSON at line %d: %s", r->shown, je.line, je.text);
        else if (!json_is_array(json_object_get(*doc, "propertySources"))) {
            errbuf_set(err, errlen, "%s: answer is not a config Environment (no propertySources)", r->shown);
            json_decref(*doc);
            *doc = NULL;
        }
    }
    return *doc ? CFGCLI_TRY_OK : CFGCLI_TRY_RETRY;
}

void cfgcli_req_free(cfgcli_req_t *r)
{
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    if (r->h)
        curl_easy_cleanup(r->h);
    r->h = NULL;
    dbuf_free(&r->body);
}
