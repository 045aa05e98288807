/* ts.c — test support: env, HTTP via libcurl, clocks. See ts.h. */
#include "ts.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "dbuf.h"

const char *ts_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v != NULL && *v != '\0') ? v : dflt;
}

static size_t ts_on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

int ts_http(const char *method, const char *url, const char *body, size_t body_len, const char *const *hdrs,
            ts_resp_t *out)
{
    int rc = -1;
    CURL *c = curl_easy_init();
    struct curl_slist *list = NULL;
    dbuf_t b, h;
    dbuf_init(&b, 256u << 20);
    dbuf_init(&h, 1u << 20);
    memset(out, 0, sizeof *out);
    if (c == NULL)
        goto cleanup;
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
        list = curl_slist_append(list, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ts_on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ts_on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) != CURLE_OK)
        goto cleanup;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    out->body = dbuf_take(&b, &out->body_len);
    out->headers = dbuf_take(&h, NULL);
    rc = 0;
cleanup:
    curl_slist_free_all(list);
    if (c != NULL)
        curl_easy_cleanup(c);
    dbuf_free(&b);
    dbuf_free(&h);
    return rc;
}

void ts_resp_free(ts_resp_t *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

char *ts_resp_header(const ts_resp_t *r, const char *name)
{
    size_t nl = strlen(name);
    const char *p = r->headers;
    while (p != NULL && *p != '\0') {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return strndup(v, (size_t)(p + len - v));
        }
        p = eol ? eol + 2 : NULL;
    }
    return NULL;
}

long long ts_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void ts_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}
