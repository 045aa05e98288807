/* cs_client.c — customer-service's HTTP API as the reconciliation asks it, on libcurl. See
 * cs_client.h. */
#include "messaging/cs_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "dbuf.h"

#define OS_CS_TIMEOUT_MS 10000L
#define OS_CS_MAX_BODY ((size_t)64 << 20)

static size_t os_cs_write(char *p, size_t size, size_t n, void *ud)
{
    return dbuf_add(ud, p, size * n) == 0 ? size * n : 0;
}

/* One request: method, path (+ query) under the base URL, optional JSON body, with the token
 * when `auth`. The status (0: no answer, err says why) and the body in *out (owned by `out`). */
static long os_cs_request(const os_csclient_t *c, const char *method, const char *path, const char *body,
                          int auth, dbuf_t *out, char *err, size_t errlen)
{
    char url[1024], hdr[300];
    long status = 0;
    struct curl_slist *h = NULL;
    CURL *e = curl_easy_init();
    if (e == NULL) {
        snprintf(err, errlen, "cannot create an HTTP client");
        return 0;
    }
    snprintf(url, sizeof url, "%s%s", c->base_url, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, OS_CS_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, os_cs_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    if (auth && c->token != NULL && c->token[0] != '\0') {
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", c->token);
        h = curl_slist_append(h, hdr);
    }
    if (body != NULL) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    CURLcode cc = curl_easy_perform(e);
    if (cc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(err, errlen, "customer-service (%s): %s", c->base_url, curl_easy_strerror(cc));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return status;
}

/* The answer's body as JSON (NULL when it is not; err says what came). */
static json_t *os_cs_json(long status, const dbuf_t *b, const char *what, char *err, size_t errlen)
{
    json_t *j = json_loadb(dbuf_ptr(b), dbuf_len(b), 0, NULL);
    if (status != 200 || j == NULL) {
        const char *detail = j ? json_string_value(json_object_get(j, "detail")) : NULL;
        snprintf(err, errlen, "customer-service %s: HTTP %ld%s%s", what, status, detail ? ": " : "",
                 detail ? detail : "");
        json_decref(j);
        return NULL;
    }
    return j;
}

static int os_cs_checksum(void *self, const char *from, const char *to, os_sum_t *out, os_sum_row_t *rows,
                          int cap, int *nrows, char *err, size_t errlen)
{
    char path[256];
    dbuf_t b;
    int rc = -1;
    dbuf_init(&b, OS_CS_MAX_BODY);
    snprintf(path, sizeof path, "/admin/checksum?%s%s%s%s%s", from ? "from=" : "", from ? from : "",
             from && to ? "&" : "", to ? "to=" : "", to ? to : "");
    if (rows != NULL && cap > 0) {
        size_t l = strlen(path);
        snprintf(path + l, sizeof path - l, "%slist=true&limit=%d", from || to ? "&" : "", cap);
    }
    long st = os_cs_request(self, "GET", path, NULL, 1, &b, err, errlen);
    json_t *j = st != 0 ? os_cs_json(st, &b, "GET /admin/checksum", err, errlen) : NULL;
    if (j == NULL)
        goto cleanup;
    const char *hash = json_string_value(json_object_get(j, "hash"));
    if (!json_is_integer(json_object_get(j, "count")) || hash == NULL) {
        snprintf(err, errlen, "customer-service GET /admin/checksum: no count or hash in the answer");
        goto cleanup;
    }
    out->count = json_integer_value(json_object_get(j, "count"));
    snprintf(out->hash, sizeof out->hash, "%s", hash);
    if (nrows != NULL)
        *nrows = 0;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(j, "rows"), i, r)
    {
        if (rows == NULL || nrows == NULL || (int)i >= cap)
            break;
        const char *id = json_string_value(json_object_get(r, "id"));
        const char *h = json_string_value(json_object_get(r, "hash"));
        snprintf(rows[i].id, sizeof rows[i].id, "%s", id != NULL ? id : "");
        rows[i].version = json_integer_value(json_object_get(r, "version"));
        snprintf(rows[i].hash, sizeof rows[i].hash, "%s", h != NULL ? h : "");
        *nrows = (int)i + 1;
    }
    rc = 0;
cleanup:
    json_decref(j);
    dbuf_free(&b);
    return rc;
}

static int os_cs_republish(void *self, const char *const *ids, size_t n, int *published, int *tombstones,
                           char *err, size_t errlen)
{
    dbuf_t b;
    int rc = -1;
    json_t *req = json_pack("{s:[],s:b}", "ids", "tombstonesForMissing", 1);
    for (size_t i = 0; req != NULL && i < n; i++)
        json_array_append_new(json_object_get(req, "ids"), json_string(ids[i]));
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    dbuf_init(&b, OS_CS_MAX_BODY);
    if (body == NULL) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    long st = os_cs_request(self, "POST", "/admin/backfill", body, 1, &b, err, errlen);
    json_t *j = st != 0 ? os_cs_json(st, &b, "POST /admin/backfill", err, errlen) : NULL;
    if (j == NULL)
        goto cleanup;
    *published = (int)json_integer_value(json_object_get(j, "published"));
    *tombstones = (int)json_integer_value(json_object_get(j, "tombstones"));
    json_decref(j);
    rc = 0;
cleanup:
    free(body);
    dbuf_free(&b);
    return rc;
}

os_sums_port_t os_csclient_sums_port(os_csclient_t *c)
{
    return (os_sums_port_t){c, os_cs_checksum};
}

os_republish_port_t os_csclient_republish_port(os_csclient_t *c)
{
    return (os_republish_port_t){c, os_cs_republish};
}
