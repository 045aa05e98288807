/* evcodec_registry.c — registering the kafka-model schemas with a Confluent-compatible
 * schema registry (libcurl + jansson) and re-keying the codec by the registry's ids.
 * See evcodec_use_registry in evcodec.h. */
#include "evcodec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "dbuf.h"

static size_t reg_on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* POSTs one schema; returns the registry's id (> 0) or -1 with err filled. */
static long reg_register(CURL *h, const char *url, const char *subject, const char *text, long timeout_ms,
                         char *err, size_t errlen)
{
    char *esc = curl_easy_escape(h, subject, 0);
    char *full = NULL, *body = NULL;
    json_t *req = json_pack("{s:s}", "schema", text), *resp = NULL;
    struct curl_slist *hdrs = NULL;
    dbuf_t out;
    long status = 0, id = -1;
    CURLcode cc;

    dbuf_init(&out, 1024 * 1024);
    if (esc == NULL || req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL ||
        asprintf(&full, "%s/subjects/%s/versions", url, esc) < 0) {
        full = NULL;
        snprintf(err, errlen, "schema registry: out of memory");
        goto cleanup;
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/vnd.schemaregistry.v1+json");
    hdrs = curl_slist_append(hdrs, "Accept: application/vnd.schemaregistry.v1+json, application/json");
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reg_on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "schema registry %s: %s", full, curl_easy_strerror(cc));
        goto cleanup;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    resp = json_loads(dbuf_ptr(&out), 0, NULL);
    if (status != 200 || !json_is_integer(json_object_get(resp, "id")) ||
        json_integer_value(json_object_get(resp, "id")) <= 0 ||
        json_integer_value(json_object_get(resp, "id")) > INT32_MAX) {
        snprintf(err, errlen, "schema registry %s: HTTP %ld: %.300s", full, status, dbuf_ptr(&out));
        goto cleanup;
    }
    id = (long)json_integer_value(json_object_get(resp, "id"));
cleanup:
    json_decref(resp);
    json_decref(req);
    curl_slist_free_all(hdrs);
    curl_free(esc);
    free(body);
    free(full);
    dbuf_free(&out);
    return id;
}

int evcodec_use_registry(evcodec_t *c, const char *url, const char *subject, const char *user,
                         const char *password, long timeout_ms, char *err, size_t errlen)
{
    CURL *h = NULL;
    int32_t ids[EVCODEC_MAX_SCHEMAS];
    size_t order[EVCODEC_MAX_SCHEMAS], n = 0;
    char base[1024];
    int rc = -1;

    if (c == NULL || url == NULL || *url == '\0' || subject == NULL) {
        snprintf(err, errlen, "schema registry: no URL or subject");
        return -1;
    }
    snprintf(base, sizeof base, "%s", url);
    while (strlen(base) > 0 && base[strlen(base) - 1] == '/')
        base[strlen(base) - 1] = '\0';
    /* the subject's catalog entries, oldest (lowest catalog id) first */
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].subject, subject) == 0)
            order[n++] = i;
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (c->e[order[b]].catalog_id < c->e[order[a]].catalog_id) {
                size_t t = order[a];
                order[a] = order[b];
                order[b] = t;
            }
    if (n == 0) {
        snprintf(err, errlen, "schema registry: the catalog has no schema for subject %s", subject);
        return -1;
    }
    h = curl_easy_init();
    if (h == NULL) {
        snprintf(err, errlen, "schema registry: curl_easy_init failed");
        return -1;
    }
    if (user != NULL && *user != '\0') {
        curl_easy_setopt(h, CURLOPT_USERNAME, user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, password ? password : "");
    }
    for (size_t k = 0; k < n; k++) {
        long id = reg_register(h, base, subject, c->e[order[k]].text, timeout_ms > 0 ? timeout_ms : 10000,
                               err, errlen);
        if (id < 0)
            goto cleanup;
        ids[k] = (int32_t)id;
    }
    /* Re-key only when the new ids do not collide with other subjects' catalog ids. */
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < c->n; i++)
            if (strcmp(c->e[i].subject, subject) != 0 && c->e[i].id == ids[k]) {
                snprintf(err, errlen, "schema registry: id %d of %s collides with the catalog's %s",
                         (int)ids[k], subject, c->e[i].subject);
                goto cleanup;
            }
    for (size_t k = 0; k < n; k++)
        c->e[order[k]].id = ids[k];
    rc = 0;
cleanup:
    curl_easy_cleanup(h);
    return rc;
}
