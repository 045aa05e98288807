/* cfgcli_fetch.c — fetching the configuration: one libcurl GET per try, rounds over the
 * comma list of URLs (failover), exponential backoff with jitter between rounds, a final
 * answer on 4xx, and the last-known-good cache (cfgcli_cache.c) when no server answers.
 */
#include "cfgcli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#include "dbuf.h"

#define CFGCLI_MAX_BODY (16u << 20)

/* Cache side (cfgcli_cache.c). */
int cfgcli_cache_write(const cfgcli_opts_t *o, const json_t *doc, const char *url, char *err, size_t errlen);
cfgcli_t *cfgcli_cache_load(const cfgcli_opts_t *o, const clog_t *log, char *err, size_t errlen);
/* YAML form (cfgcli_yaml.c): converts a merged YAML document into a one-source Environment. */
json_t *cfgcli_yaml_to_env(const char *body, size_t len, const char *name, char *err, size_t errlen);

typedef enum { TRY_OK = 0, TRY_RETRY = 1, TRY_FINAL = 2 } try_rc_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    dbuf_t *b = ud;
    return dbuf_add(b, ptr, size * nmemb) < 0 ? 0 : size * nmemb;
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

/* One GET of `url`. On TRY_OK *doc is an owned Environment document. */
static try_rc_t try_url(const cfgcli_opts_t *o, const char *url, const char *shown, json_t **doc, char *err,
                        size_t errlen)
{
    try_rc_t rc = TRY_RETRY;
    char cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    dbuf_t body;
    dbuf_init(&body, CFGCLI_MAX_BODY);
    CURL *h = curl_easy_init();
    if (h == NULL) {
        errbuf_set(err, errlen, "%s: curl_easy_init failed", shown);
        goto cleanup;
    }
    hdrs = curl_slist_append(NULL, o->format == CFGCLI_FORMAT_YAML
                                       ? "Accept: application/x-yaml, text/plain, */*"
                                       : "Accept: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cqrs-ordering-cfgcli/" CQ_VERSION);
    cfgcli_opts_curl(h, o);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        if (cc == CURLE_WRITE_ERROR)
            errbuf_set(err, errlen, "%s: response larger than %u bytes", shown, CFGCLI_MAX_BODY);
        else
            errbuf_set(err, errlen, "%s: %s", shown, cerr[0] ? cerr : curl_easy_strerror(cc));
        goto cleanup;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        char why[200];
        body_reason(dbuf_ptr(&body), dbuf_len(&body), why, sizeof why);
        errbuf_set(err, errlen, "%s: HTTP %ld%s", shown, status, why);
        /* the server answered: a 4xx will not change by asking again */
        rc = (status >= 400 && status < 500 && status != 408 && status != 429) ? TRY_FINAL : TRY_RETRY;
        goto cleanup;
    }
    if (o->format == CFGCLI_FORMAT_YAML) {
        *doc = cfgcli_yaml_to_env(dbuf_ptr(&body), dbuf_len(&body), shown, err, errlen);
    } else {
        json_error_t je;
        *doc = json_loadb(dbuf_ptr(&body), dbuf_len(&body), 0, &je);
        if (*doc == NULL)
            errbuf_set(err, errlen, "%s: invalid JSON at line %d: %s", shown, je.line, je.text);
        else if (!json_is_array(json_object_get(*doc, "propertySources"))) {
            errbuf_set(err, errlen, "%s: answer is not a config Environment (no propertySources)", shown);
            json_decref(*doc);
            *doc = NULL;
        }
    }
    rc = *doc ? TRY_OK : TRY_RETRY;
cleanup:
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    dbuf_free(&body);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static uint32_t rand32(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = (uint32_t)ts.tv_nsec * 2654435761u;
    }
    return r;
}

/* Counts the URLs in the comma list. */
static int count_urls(const char *list)
{
    int n = 0;
    const char *p = list;
    while (*p) {
        size_t l = strcspn(p, ",");
        const char *q = p;
        while (q < p + l && (*q == ' ' || *q == '\t'))
            q++;
        if (q < p + l)
            n++;
        p += l;
        if (*p == ',')
            p++;
    }
    return n;
}

/* Tries every URL of the list once. TRY_OK fills *doc and *used (owned). */
static try_rc_t one_round(const cfgcli_opts_t *o, const clog_t *log, int round, json_t **doc, char **used,
                          char *err, size_t errlen)
{
    try_rc_t rc = TRY_RETRY;
    const char *p = o->urls;
    dbuf_t u;
    dbuf_init(&u, 8192);
    while (*p) {
        size_t l = strcspn(p, ",");
        const char *b = p, *e = p + l;
        p = *e == ',' ? e + 1 : e;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (b == e)
            continue;
        dbuf_reset(&u);
        if (build_url(o, b, (size_t)(e - b), &u) < 0) {
            errbuf_set(err, errlen, "config URL too long (%zu bytes)", (size_t)(e - b));
            rc = TRY_FINAL;
            break;
        }
        char base_shown[1024], shown[9216];
        redact_url(b, (size_t)(e - b), base_shown, sizeof base_shown);
        redact_url(dbuf_ptr(&u), dbuf_len(&u), shown, sizeof shown);
        rc = try_url(o, dbuf_ptr(&u), shown, doc, err, errlen);
        if (rc == TRY_OK) {
            *used = strdup(base_shown);
            if (*used == NULL) {
                json_decref(*doc);
                *doc = NULL;
                errbuf_set(err, errlen, "out of memory");
                rc = TRY_FINAL;
            }
            break;
        }
        if (log)
            clog_ev(log, CLOG_WARN,
                    json_pack("{s:s, s:i, s:i}", "url", shown, "attempt", round, "max_attempts", o->attempts),
                    "config fetch failed: %s", err);
        if (rc == TRY_FINAL)
            break;
    }
    dbuf_free(&u);
    return rc;
}

cfgcli_t *cfgcli_fetch(const cfgcli_opts_t *o, const clog_t *log, char *err, size_t errlen)
{
    char last[1024] = "no config server URL given";
    cfgcli_t *c = NULL;
    json_t *doc = NULL;
    char *used = NULL;
    try_rc_t rc = TRY_RETRY;
    int attempts = o->attempts < 1 ? 1 : o->attempts;
    int round = 0;
    if (o->app[0] == '\0') {
        errbuf_set(err, errlen, "config client: no application name");
        return NULL;
    }
    if (count_urls(o->urls) == 0) {
        errbuf_set(err, errlen, "config client: CONFIG_SERVER_URL is empty");
        return NULL;
    }
    for (round = 1; round <= attempts; round++) {
        rc = one_round(o, log, round, &doc, &used, last, sizeof last);
        if (rc != TRY_RETRY)
            break;
        if (round < attempts) {
            long d = cfgcli_backoff_ms(o, round, rand32());
            if (log)
                clog_ev(log, CLOG_INFO,
                        json_pack("{s:i, s:I}", "attempt", round, "retry_in_ms", (json_int_t)d),
                        "config server not available yet, retrying");
            sleep_ms(d);
        }
    }
    if (rc == TRY_OK) {
        char cerr[512];
        c = cfgcli_build(o, doc, used, "configserver:", err, errlen);
        if (c != NULL && o->cache_file[0] && cfgcli_cache_write(o, doc, used, cerr, sizeof cerr) < 0 && log)
            clog_warn(log, "config cache not written: %s", cerr);
        if (c != NULL && log)
            clog_ev(log, CLOG_INFO,
                    json_pack("{s:s, s:s, s:s, s:I}", "url", used, "profiles", o->profiles, "version",
                              cfgcli_version(c), "keys", (json_int_t)cfgcli_count(c)),
                    "configuration loaded from config server");
        goto cleanup;
    }
    if (rc == TRY_FINAL) {
        errbuf_set(err, errlen, "config server refused the request: %s", last);
        goto cleanup;
    }
    /* no server answered: last-known-good cache */
    if (o->cache_file[0]) {
        char cerr[600];
        c = cfgcli_cache_load(o, log, cerr, sizeof cerr);
        if (c == NULL)
            errbuf_set(err, errlen, "config server unavailable after %d attempts; last error: %s; cache: %s",
                       attempts, last, cerr);
    } else {
        errbuf_set(err, errlen, "config server unavailable after %d attempts; last error: %s (no cache file)",
                   attempts, last);
    }
cleanup:
    json_decref(doc);
    free(used);
    return c;
}
