/* cfgcli_store.c — the config client's key store: one array sorted by key, each entry
 * with its value and origin (insert, replace, find, iterate by prefix), the result's
 * metadata and the JSON dump. The bottom of the config client: it calls no other cfgcli
 * file (cfgcli_env.c builds on it, cfgcli.c's getters on both; see cfgcli_int.h).
 */
#include "cfgcli_int.h"

#include <stdlib.h>
#include <string.h>

cfgcli_t *cfgcli_new(void)
{
    cfgcli_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->origin = strdup("");
    c->version = strdup("");
    c->etag = strdup("");
    c->watch_max = -1;
    if (c->origin == NULL || c->version == NULL || c->etag == NULL) {
        cfgcli_free(c);
        return NULL;
    }
    return c;
}

void cfgcli_free(cfgcli_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->ents[i].key);
        free(c->ents[i].value);
        free(c->ents[i].source);
    }
    free(c->ents);
    for (size_t i = 0; i < c->nenv; i++) {
        free(c->env[i].name);
        free(c->env[i].value);
        free(c->env[i].source);
    }
    free(c->env);
    free(c->origin);
    free(c->version);
    free(c->etag);
    free(c);
}

/* Binary search: index of `key`, or of where it would be inserted (*found = 0). */
static size_t find_pos(const cfgcli_t *c, const char *key, int *found)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->ents[mid].key, key);
        if (r == 0) {
            *found = 1;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

cfgcli_ent_t *cfgcli_find_ent(const cfgcli_t *c, const char *key)
{
    if (c == NULL || key == NULL)
        return NULL;
    int found;
    size_t i = find_pos(c, key, &found);
    return found ? &c->ents[i] : NULL;
}

int cfgcli_put(cfgcli_t *c, const char *key, const char *value, const char *source, int overwrite)
{
    int found;
    size_t i = find_pos(c, key, &found);
    char *v = strdup(value ? value : "");
    char *s = strdup(source ? source : "");
    char *k = NULL;
    int rc = -1;
    if (v == NULL || s == NULL)
        goto cleanup;
    if (found) {
        if (!overwrite) {
            rc = 1;
            goto cleanup;
        }
        free(c->ents[i].value);
        free(c->ents[i].source);
        c->ents[i].value = v;
        c->ents[i].source = s;
        c->ents[i].unresolved = 0;
        return 0;
    }
    k = strdup(key);
    if (k == NULL)
        goto cleanup;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 32;
        cfgcli_ent_t *ne = realloc(c->ents, ncap * sizeof *ne);
        if (ne == NULL)
            goto cleanup;
        c->ents = ne;
        c->cap = ncap;
    }
    memmove(&c->ents[i + 1], &c->ents[i], (c->n - i) * sizeof *c->ents);
    c->ents[i] = (cfgcli_ent_t){.key = k, .value = v, .source = s, .unresolved = 0};
    c->n++;
    return 0;
cleanup:
    free(k);
    free(v);
    free(s);
    return rc;
}

int cfgcli_set(cfgcli_t *c, const char *key, const char *value, const char *source)
{
    if (c == NULL || key == NULL)
        return -1;
    return cfgcli_put(c, key, value, source, 1) < 0 ? -1 : 0;
}

int cfgcli_foreach_prefix(const cfgcli_t *c, const char *prefix, cfgcli_iter_fn fn, void *ud)
{
    if (c == NULL || fn == NULL)
        return 0;
    if (prefix == NULL)
        prefix = "";
    size_t pl = strlen(prefix);
    int found;
    for (size_t i = find_pos(c, prefix, &found); i < c->n; i++) {
        const cfgcli_ent_t *e = &c->ents[i];
        if (strncmp(e->key, prefix, pl) != 0)
            break;
        int r = fn(ud, e->key, e->key + pl, e->value, e->source);
        if (r != 0)
            return r;
    }
    return 0;
}

size_t cfgcli_count(const cfgcli_t *c)
{
    return c ? c->n : 0;
}

const char *cfgcli_origin(const cfgcli_t *c)
{
    return c && c->origin ? c->origin : "";
}

const char *cfgcli_version(const cfgcli_t *c)
{
    return c && c->version ? c->version : "";
}

const char *cfgcli_etag(const cfgcli_t *c)
{
    return c->etag;
}

long cfgcli_watch_max(const cfgcli_t *c)
{
    return c->watch_max;
}

int cfgcli_set_http_meta(cfgcli_t *c, const char *etag, long watch_max)
{
    char *e = strdup(etag ? etag : "");
    if (e == NULL)
        return -1;
    free(c->etag);
    c->etag = e;
    c->watch_max = watch_max > 0 ? watch_max : -1;
    return 0;
}

int cfgcli_from_cache(const cfgcli_t *c)
{
    return c ? c->from_cache : 0;
}

static int is_secret_key(const char *key)
{
    static const char *const words[] = {"password", "secret", "token", "credentials"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasestr(key, words[i]) != NULL)
            return 1;
    return 0;
}

char *cfgcli_dump_json(const cfgcli_t *c, int mask_secrets)
{
    char *out = NULL;
    json_t *root = json_object();
    if (root == NULL || c == NULL)
        goto cleanup;
    for (size_t i = 0; i < c->n; i++) {
        const cfgcli_ent_t *e = &c->ents[i];
        const char *v = (mask_secrets && is_secret_key(e->key) && e->value[0]) ? "******" : e->value;
        json_t *o = json_pack("{s:s, s:s}", "value", v, "source", e->source);
        if (o == NULL || json_object_set_new(root, e->key, o) != 0)
            goto cleanup;
    }
    out = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
cleanup:
    json_decref(root);
    return out;
}
