/* evcodec_resolve.c — writer schemas looked up in a Confluent-compatible schema registry by
 * the id in a record's frame (GET {url}/schemas/ids/{id}), parsed from the registry's own
 * text (never re-serialised), checked once against the reader's record, and cached (bounded,
 * least recently used dropped first, refcounted so a decoder can keep using an entry the
 * cache drops). What a failure means — poison or retry — is in evcodec.h
 * (evcodec_resolve_by_registry). */
#include "evcodec_int.h"
#include "errbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <jansson.h>

#define EVCODEC_CACHE_DEFAULT 64
#define EVCODEC_LOOKUPS "schema_registry_lookups_total" /* declared by name below (tests/helm checks it) */
#define EVCODEC_CACHED "schema_registry_cached_schemas"

static void res_count(evcodec_resolver_t *r, const char *result)
{
    char lbl[64];
    if (r->metrics == NULL)
        return;
    snprintf(lbl, sizeof lbl, "result=\"%s\"", result);
    metrics_add(r->metrics, EVCODEC_LOOKUPS, lbl, 1);
}

static void res_wschema_free(evcodec_wschema_t *w)
{
    if (w == NULL)
        return;
    if (w->iface)
        avro_value_iface_decref(w->iface);
    if (w->schema)
        avro_schema_decref(w->schema);
    free(w);
}

/* The registry's 200 answer for `id` → a new entry (refs 0), `bad` set when it is unusable.
 * NULL (err) when the body is not a registry answer at all (retry). */
static evcodec_wschema_t *res_parse(const evcodec_resolver_t *r, int32_t id, const char *body, char *err,
                                    size_t errlen)
{
    json_t *j = json_loads(body, 0, NULL), *refs;
    const char *text = json_string_value(json_object_get(j, "schema"));
    const char *type = json_string_value(json_object_get(j, "schemaType"));
    evcodec_wschema_t *w = NULL;
    char why[200];

    if (text == NULL) {
        errbuf_set(err, errlen, "schema registry %s/schemas/ids/%d: no \"schema\" in the answer: %.200s",
                   r->conf.url, (int)id, body);
        goto cleanup;
    }
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        errbuf_set(err, errlen, "schema registry: out of memory");
        goto cleanup;
    }
    w->id = id;
    refs = json_object_get(j, "references");
    if (type != NULL && strcmp(type, "AVRO") != 0) {
        errbuf_set(w->bad, sizeof w->bad, "the registry's schema id %d is %s, not Avro", (int)id, type);
    } else if (avro_schema_from_json_length(text, strlen(text), &w->schema) != 0) {
        w->schema = NULL;
        errbuf_set(w->bad, sizeof w->bad, "the registry's schema id %d does not parse%s: %s", (int)id,
                   json_array_size(refs) > 0 ? " (it has references, which are not resolved)" : "",
                   avro_strerror());
    } else if (evcodec_readable(r->reader, w->schema, why, sizeof why) != 0) {
        errbuf_set(w->bad, sizeof w->bad, "the registry's schema id %d cannot be read as %s: %s", (int)id,
                   EVCODEC_SUBJECT_CUSTOMER, why);
    } else if ((w->iface = avro_generic_class_from_schema(w->schema)) == NULL) {
        errbuf_set(w->bad, sizeof w->bad, "the registry's schema id %d: %s", (int)id, avro_strerror());
    }
cleanup:
    json_decref(j);
    return w;
}

/* Asks the registry for `id`: a new entry (refs 0), or NULL with *rc and err. */
static evcodec_wschema_t *res_fetch(evcodec_resolver_t *r, int32_t id, evcodec_err_t *rc, char *err,
                                    size_t errlen)
{
    char path[64], msg[300];
    long status = 0, code;
    evcodec_wschema_t *w = NULL;
    dbuf_t b;

    *rc = EVCODEC_E_REGISTRY;
    dbuf_init(&b, 1024 * 1024);
    snprintf(path, sizeof path, "/schemas/ids/%d", (int)id);
    if (evcodec_http(&r->conf, path, NULL, &status, &b, err, errlen) != 0) {
        res_count(r, "error");
        goto cleanup;
    }
    code = evcodec_http_error_code(dbuf_ptr(&b));
    if (status == 200) {
        w = res_parse(r, id, dbuf_ptr(&b), err, errlen);
        if (w == NULL)
            res_count(r, "error");
        else
            res_count(r, w->bad[0] ? "unusable" : "found");
        goto cleanup;
    }
    snprintf(msg, sizeof msg, "%.200s", dbuf_ptr(&b));
    if (status == 404 && code == 40403) { /* Confluent's "schema not found": definite */
        *rc = EVCODEC_E_UNKNOWN_ID;
        errbuf_set(err, errlen, "unknown schema id %d: the schema registry %s does not have it: %s", (int)id,
                   r->conf.url, msg);
        res_count(r, "not_found");
        goto cleanup;
    }
    errbuf_set(err, errlen, "schema registry %s%s: HTTP %ld%s: %s", r->conf.url, path, status,
               status == 404 ? " without error code 40403 (is the URL right?)" : "", msg);
    res_count(r, "error");
cleanup:
    dbuf_free(&b);
    return w;
}

/* The cached entry for `id` with one more reference, or NULL. Under r->mu. */
static evcodec_wschema_t *res_find_locked(evcodec_resolver_t *r, int32_t id)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->cache[i]->id == id) {
            r->cache[i]->refs++;
            r->cache[i]->used = ++r->tick;
            return r->cache[i];
        }
    return NULL;
}

/* Drops the cache's reference to entry i. Under r->mu. */
static void res_drop_locked(evcodec_resolver_t *r, size_t i)
{
    evcodec_wschema_t *w = r->cache[i];
    r->cache[i] = r->cache[--r->n];
    if (--w->refs == 0)
        res_wschema_free(w);
}

evcodec_wschema_t *evcodec_wschema_get(evcodec_resolver_t *r, int32_t id, evcodec_err_t *rc, char *err,
                                       size_t errlen)
{
    evcodec_wschema_t *w, *had;

    pthread_mutex_lock(&r->mu);
    w = res_find_locked(r, id);
    pthread_mutex_unlock(&r->mu);
    if (w != NULL)
        return w;
    /* not under the lock: a slow registry must not hold up decoders of cached ids */
    w = res_fetch(r, id, rc, err, errlen);
    if (w == NULL)
        return NULL;
    pthread_mutex_lock(&r->mu);
    had = res_find_locked(r, id); /* another thread fetched it meanwhile */
    if (had != NULL) {
        pthread_mutex_unlock(&r->mu);
        res_wschema_free(w);
        return had;
    }
    if (r->n == r->max) { /* the least recently used goes */
        size_t lru = 0;
        for (size_t i = 1; i < r->n; i++)
            if (r->cache[i]->used < r->cache[lru]->used)
                lru = i;
        res_drop_locked(r, lru);
    }
    w->refs = 2; /* the cache's and the caller's */
    w->used = ++r->tick;
    r->cache[r->n++] = w;
    if (r->metrics)
        metrics_set(r->metrics, EVCODEC_CACHED, NULL, (double)r->n);
    pthread_mutex_unlock(&r->mu);
    return w;
}

void evcodec_wschema_release(evcodec_resolver_t *r, evcodec_wschema_t *w)
{
    int last;
    if (w == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    last = --w->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last)
        res_wschema_free(w);
}

static void res_free(evcodec_resolver_t *r)
{
    if (r == NULL)
        return;
    while (r->n > 0)
        res_drop_locked(r, r->n - 1);
    free(r->cache);
    free(r->conf.url);
    free(r->conf.user);
    free(r->conf.password);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int evcodec_resolve_by_registry(evcodec_t *c, const char *url, const char *user, const char *password,
                                long timeout_ms, size_t cache_max, metrics_t *metrics, char *err,
                                size_t errlen)
{
    evcodec_resolver_t *r = NULL;
    size_t len;

    if (c == NULL || url == NULL || *url == '\0' || c->res != NULL ||
        evcodec_latest(c, EVCODEC_SUBJECT_CUSTOMER) == NULL) {
        errbuf_set(err, errlen, "schema registry: no URL, no %s schema, or already set",
                   EVCODEC_SUBJECT_CUSTOMER);
        return -1;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL)
        goto nomem;
    pthread_mutex_init(&r->mu, NULL);
    r->max = cache_max > 0 ? cache_max : EVCODEC_CACHE_DEFAULT;
    r->cache = calloc(r->max, sizeof *r->cache);
    r->conf.url = strdup(url);
    r->conf.user = user ? strdup(user) : NULL;
    r->conf.password = password ? strdup(password) : NULL;
    if (r->cache == NULL || r->conf.url == NULL || (user && !r->conf.user) || (password && !r->conf.password))
        goto nomem;
    len = strlen(r->conf.url);
    while (len > 0 && r->conf.url[len - 1] == '/')
        r->conf.url[--len] = '\0';
    r->conf.timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    r->reader = evcodec_latest(c, EVCODEC_SUBJECT_CUSTOMER);
    r->metrics = metrics;
    if (metrics != NULL) {
        metrics_declare(metrics, "schema_registry_lookups_total", METRICS_COUNTER,
                        "Writer schemas asked of the schema registry by id, by result (found, not_found: "
                        "the records are dead-lettered, unusable: the schema cannot be read as the "
                        "reader's, error: no usable answer, retried).",
                        NULL, 0);
        metrics_declare(metrics, "schema_registry_cached_schemas", METRICS_GAUGE,
                        "Writer schemas from the registry in the cache.", NULL, 0);
        metrics_set(metrics, EVCODEC_CACHED, NULL, 0);
    }
    c->res = r;
    c->res_free = res_free;
    return 0;
nomem:
    res_free(r);
    errbuf_set(err, errlen, "schema registry: out of memory");
    return -1;
}
