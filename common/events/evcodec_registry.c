/* evcodec_registry.c — the codec's calls to a Confluent-compatible schema registry (libcurl
 * + jansson): one HTTP request (evcodec_http, also used by evcodec_resolve.c), the
 * compatibility check (the registry's, and the codec's own BACKWARD check when the
 * registry's level for the subject enforces none), the registration of the kafka-model
 * schemas with the re-keying of the codec by the registry's ids, and the subject's level. See
 * evcodec_use_registry in evcodec.h. */
#include "evcodec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "dbuf.h"

#define EVCODEC_BODY_MAX (1024 * 1024)

static size_t reg_on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

int evcodec_http(const evcodec_regconf_t *conf, const char *path, const char *body, long *status, dbuf_t *out,
                 char *err, size_t errlen)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char *full = NULL;
    long tmo = conf->timeout_ms > 0 ? conf->timeout_ms : 10000;
    int rc = -1;
    CURLcode cc;

    *status = 0;
    if (h == NULL || asprintf(&full, "%s%s", conf->url, path) < 0) {
        full = NULL;
        snprintf(err, errlen, "schema registry %s: out of memory", conf->url);
        goto cleanup;
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/vnd.schemaregistry.v1+json, application/json");
    if (body != NULL) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/vnd.schemaregistry.v1+json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    if (conf->user != NULL && *conf->user != '\0') {
        curl_easy_setopt(h, CURLOPT_USERNAME, conf->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, conf->password ? conf->password : "");
    }
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reg_on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, tmo);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "schema registry %s: %s", full, curl_easy_strerror(cc));
        goto cleanup;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    rc = 0;
cleanup:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(full);
    return rc;
}

long evcodec_http_error_code(const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    long code = json_is_integer(json_object_get(j, "error_code"))
                    ? (long)json_integer_value(json_object_get(j, "error_code"))
                    : 0;
    json_decref(j);
    return code;
}

/* before + the subject URL-escaped + after: malloc'ed, or NULL. */
static char *reg_path(const char *before, const char *subject, const char *after)
{
    char *esc = curl_easy_escape(NULL, subject, 0), *p = NULL;
    if (esc != NULL && asprintf(&p, "%s%s%s", before, esc, after) < 0)
        p = NULL;
    curl_free(esc);
    return p;
}

/* The registry's words in an answer body: "message", "messages" (Confluent's verbose
 * compatibility answer) and "reason" (Apicurio's), joined into out; the raw text when none
 * and `raw`. Returns 1 when it had words. */
static int reg_message(const char *body, int raw, char *out, size_t outlen)
{
    static const char *const keys[] = {"message", "reason"};
    json_t *j = json_loads(body, 0, NULL), *v;
    size_t i;
    dbuf_t b;
    int had;

    dbuf_init(&b, outlen > 0 ? outlen - 1 : 0);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (json_is_string(json_object_get(j, keys[k])))
            dbuf_addf(&b, "%s%s", dbuf_len(&b) ? "; " : "", json_string_value(json_object_get(j, keys[k])));
    json_array_foreach(json_object_get(j, "messages"), i, v) if (json_is_string(v))
        dbuf_addf(&b, "%s%s", dbuf_len(&b) ? "; " : "", json_string_value(v));
    had = dbuf_len(&b) > 0;
    if (!had && raw)
        dbuf_addf(&b, "%.300s", body);
    snprintf(out, outlen, "%s", dbuf_ptr(&b));
    dbuf_free(&b);
    json_decref(j);
    return had;
}

/* POSTs {"schema": text} to conf + `path` (the registry's answer in *status and `out`). 0, or
 * -1 with err filled (out of memory, or no answer). */
static int reg_post_schema(const evcodec_regconf_t *conf, const char *path, const char *text, long *status,
                           dbuf_t *out, char *err, size_t errlen)
{
    json_t *req = json_pack("{s:s}", "schema", text);
    char *body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
    int rc = -1;
    if (path == NULL || body == NULL)
        snprintf(err, errlen, "schema registry: out of memory");
    else
        rc = evcodec_http(conf, path, body, status, out, err, errlen);
    free(body);
    json_decref(req);
    return rc;
}

/* POST {url}/compatibility/subjects/{subject}/versions/latest with `text`. Returns 0
 * (compatible, or no version yet), -2 (incompatible: err has the registry's message), -1. */
static int reg_compatible(const evcodec_regconf_t *conf, const char *subject, const char *text, char *err,
                          size_t errlen)
{
    char *path = reg_path("/compatibility/subjects/", subject, "/versions/latest?verbose=true");
    json_t *resp = NULL, *ok;
    char msg[600];
    long status = 0, code;
    dbuf_t out;
    int rc = -1;

    dbuf_init(&out, EVCODEC_BODY_MAX);
    if (reg_post_schema(conf, path, text, &status, &out, err, errlen) != 0)
        goto cleanup;
    code = evcodec_http_error_code(dbuf_ptr(&out));
    if (status == 404 && (code == 40401 || code == 40402)) { /* subject or version not found */
        rc = 0;
        goto cleanup;
    }
    resp = json_loads(dbuf_ptr(&out), 0, NULL);
    ok = json_object_get(resp, "is_compatible");
    if (status == 200 && json_is_boolean(ok)) {
        rc = json_is_true(ok) ? 0 : -2;
        if (rc != 0) {
            int said = reg_message(dbuf_ptr(&out), 0, msg, sizeof msg);
            snprintf(err, errlen,
                     "schema registry %s: the schema is not compatible with the latest version of subject "
                     "%s under its compatibility level%s%s",
                     conf->url, subject, said ? ": " : "", msg);
        }
        goto cleanup;
    }
    reg_message(dbuf_ptr(&out), 1, msg, sizeof msg);
    if (status == 409 || status == 422) { /* e.g. a schema the registry cannot take as Avro */
        snprintf(err, errlen, "schema registry %s: subject %s refuses the schema: HTTP %ld: %s", conf->url,
                 subject, status, msg);
        rc = -2;
        goto cleanup;
    }
    snprintf(err, errlen, "schema registry %s%s: HTTP %ld: %s", conf->url, path, status, msg);
cleanup:
    json_decref(resp);
    free(path);
    dbuf_free(&out);
    return rc;
}

/* POSTs one schema; returns the registry's id (> 0), -2 (refused as incompatible: 409) or
 * -1, with err filled. */
static long reg_register(const evcodec_regconf_t *conf, const char *subject, const char *text, char *err,
                         size_t errlen)
{
    char *path = reg_path("/subjects/", subject, "/versions");
    json_t *resp = NULL, *jid;
    char msg[600];
    long status = 0, id = -1;
    dbuf_t out;

    dbuf_init(&out, EVCODEC_BODY_MAX);
    if (reg_post_schema(conf, path, text, &status, &out, err, errlen) != 0)
        goto cleanup;
    resp = json_loads(dbuf_ptr(&out), 0, NULL);
    jid = json_object_get(resp, "id");
    if (status != 200 || !json_is_integer(jid) || json_integer_value(jid) <= 0 ||
        json_integer_value(jid) > INT32_MAX) {
        reg_message(dbuf_ptr(&out), 1, msg, sizeof msg);
        snprintf(err, errlen, "schema registry %s%s: HTTP %ld: %s", conf->url, path, status, msg);
        if (status == 409)
            id = -2;
        goto cleanup;
    }
    id = (long)json_integer_value(jid);
cleanup:
    json_decref(resp);
    free(path);
    dbuf_free(&out);
    return id;
}

/* conf for `url` (trailing '/' dropped; the strings borrowed from the caller's arguments
 * except url, copied into `base`). */
static void reg_conf(evcodec_regconf_t *conf, char *base, size_t baselen, const char *url, const char *user,
                     const char *password, long timeout_ms)
{
    snprintf(base, baselen, "%s", url);
    while (strlen(base) > 0 && base[strlen(base) - 1] == '/')
        base[strlen(base) - 1] = '\0';
    conf->url = base;
    conf->user = (char *)user;
    conf->password = (char *)password;
    conf->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
}

/* GET conf+path → "compatibilityLevel" (or Apicurio's "compatibility") into out: 0 or -1. */
static int reg_level_at(const evcodec_regconf_t *conf, const char *path, char *out, size_t outlen, char *err,
                        size_t errlen)
{
    long status = 0;
    dbuf_t b;
    json_t *j = NULL;
    const char *lv;
    int rc = -1;

    dbuf_init(&b, EVCODEC_BODY_MAX);
    if (evcodec_http(conf, path, NULL, &status, &b, err, errlen) != 0)
        goto cleanup;
    j = json_loads(dbuf_ptr(&b), 0, NULL);
    lv = json_string_value(json_object_get(j, "compatibilityLevel"));
    if (lv == NULL)
        lv = json_string_value(json_object_get(j, "compatibility"));
    if (status != 200 || lv == NULL) {
        snprintf(err, errlen, "schema registry %s%s: HTTP %ld: %.200s", conf->url, path, status,
                 dbuf_ptr(&b));
        goto cleanup;
    }
    snprintf(out, outlen, "%s", lv);
    rc = 0;
cleanup:
    json_decref(j);
    dbuf_free(&b);
    return rc;
}

/* The subject's level (its own, else the global one) into out: 0 or -1. */
static int reg_level(const evcodec_regconf_t *conf, const char *subject, char *out, size_t outlen, char *err,
                     size_t errlen)
{
    char *path = reg_path("/config/", subject, "?defaultToGlobal=true");
    int rc;
    if (path == NULL) {
        snprintf(err, errlen, "schema registry: out of memory");
        return -1;
    }
    rc = reg_level_at(conf, path, out, outlen, err, errlen);
    free(path);
    return rc == 0 ? 0 : reg_level_at(conf, "/config", out, outlen, err, errlen);
}

/* The BACKWARD check made here when the registry's level for the subject enforces no
 * backward compatibility (NONE, FORWARD… — Apicurio's default is NONE — or a level it does
 * not tell): the subject's latest version, as a writer, must be readable by `reader` (the
 * schema the encoder will write) under the decoder's resolution rules (evcodec_compat.c).
 * 0 (readable, no version yet, or the registry enforces it itself), -2 (not: err says why),
 * -1. */
static int reg_self_check(const evcodec_regconf_t *conf, const char *subject, const evcodec_entry_t *reader,
                          char *err, size_t errlen)
{
    char level[64], why[300], *path = NULL;
    long status = 0, code;
    json_t *j = NULL;
    const char *text;
    avro_schema_t w = NULL;
    dbuf_t b;
    int rc = -1;

    dbuf_init(&b, EVCODEC_BODY_MAX);
    if (reg_level(conf, subject, level, sizeof level, why, sizeof why) != 0)
        snprintf(level, sizeof level, "unknown");
    if (strncmp(level, "BACKWARD", 8) == 0 || strncmp(level, "FULL", 4) == 0) {
        rc = 0;
        goto cleanup;
    }
    path = reg_path("/subjects/", subject, "/versions/latest");
    if (path == NULL || evcodec_http(conf, path, NULL, &status, &b, err, errlen) != 0) {
        if (path == NULL)
            snprintf(err, errlen, "schema registry: out of memory");
        goto cleanup;
    }
    code = evcodec_http_error_code(dbuf_ptr(&b));
    if (status == 404 && (code == 40401 || code == 40402)) {
        rc = 0;
        goto cleanup;
    }
    j = json_loads(dbuf_ptr(&b), 0, NULL);
    text = json_string_value(json_object_get(j, "schema"));
    if (status != 200 || text == NULL) {
        snprintf(err, errlen, "schema registry %s%s: HTTP %ld: %.300s", conf->url, path, status,
                 dbuf_ptr(&b));
        goto cleanup;
    }
    rc = -2;
    if (avro_schema_from_json_length(text, strlen(text), &w) != 0) {
        w = NULL;
        snprintf(err, errlen,
                 "schema registry %s: the latest version of subject %s does not parse as Avro here (%s), so "
                 "the BACKWARD check the service makes (the subject's level is %s) cannot pass",
                 conf->url, subject, avro_strerror(), level);
        goto cleanup;
    }
    if (evcodec_readable(reader, w, why, sizeof why) != 0) {
        snprintf(
            err, errlen,
            "schema registry %s: the schema is not BACKWARD compatible with the latest version of subject "
            "%s (checked by the service, the subject's level being %s): %s",
            conf->url, subject, level, why);
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (w != NULL)
        avro_schema_decref(w);
    json_decref(j);
    free(path);
    dbuf_free(&b);
    return rc;
}

int evcodec_use_registry(evcodec_t *c, const char *url, const char *subject, const char *user,
                         const char *password, long timeout_ms, char *err, size_t errlen)
{
    evcodec_regconf_t conf;
    int32_t ids[EVCODEC_MAX_SCHEMAS];
    size_t order[EVCODEC_MAX_SCHEMAS], n = 0;
    char base[1024];
    int rc;

    if (c == NULL || url == NULL || *url == '\0' || subject == NULL) {
        snprintf(err, errlen, "schema registry: no URL or subject");
        return -1;
    }
    reg_conf(&conf, base, sizeof base, url, user, password, timeout_ms);
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
    /* the schema the encoder will write, against what the subject holds now */
    rc = reg_compatible(&conf, subject, c->e[order[n - 1]].text, err, errlen);
    if (rc == 0)
        rc = reg_self_check(&conf, subject, &c->e[order[n - 1]], err, errlen);
    if (rc != 0)
        return rc;
    for (size_t k = 0; k < n; k++) {
        long id = reg_register(&conf, subject, c->e[order[k]].text, err, errlen);
        if (id < 0)
            return (int)id;
        ids[k] = (int32_t)id;
    }
    /* Re-key only when the new ids do not collide with other subjects' catalog ids. */
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < c->n; i++)
            if (strcmp(c->e[i].subject, subject) != 0 && c->e[i].id == ids[k]) {
                snprintf(err, errlen, "schema registry: id %d of %s collides with the catalog's %s",
                         (int)ids[k], subject, c->e[i].subject);
                return -1;
            }
    for (size_t k = 0; k < n; k++)
        c->e[order[k]].id = ids[k];
    return 0;
}

int evcodec_registry_level(const char *url, const char *subject, const char *user, const char *password,
                           long timeout_ms, char *out, size_t outlen, char *err, size_t errlen)
{
    evcodec_regconf_t conf;
    char base[1024];

    if (url == NULL || *url == '\0' || subject == NULL) {
        snprintf(err, errlen, "schema registry: no URL or subject");
        return -1;
    }
    reg_conf(&conf, base, sizeof base, url, user, password, timeout_ms);
    return reg_level(&conf, subject, out, outlen, err, errlen);
}
