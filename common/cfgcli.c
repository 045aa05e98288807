/* cfgcli.c — the config client's key store and typed getters (see cfgcli.h).
 *
 * Keys live in one array sorted by key, each with its value and origin. Getters look the
 * key up in the store and, when absent, in the env snapshot under the relaxed-binding
 * name, so every error can say where the bad value came from.
 */
#include "cfgcli_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

cfgcli_t *cfgcli_new(void)
{
    cfgcli_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->origin = strdup("");
    c->version = strdup("");
    if (c->origin == NULL || c->version == NULL) {
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

int cfgcli_lookup(const cfgcli_t *c, const char *key, const char **val, const char **src, int *unresolved)
{
    if (c == NULL || key == NULL)
        return -1;
    const cfgcli_ent_t *e = cfgcli_find_ent(c, key);
    if (e != NULL) {
        *val = e->value;
        *src = e->source;
        if (unresolved)
            *unresolved = e->unresolved;
        return 0;
    }
    if (!c->use_env)
        return -1;
    char name[512];
    const cfgcli_envvar_t *ev = NULL;
    if (cfgcli_env_name(key, name, sizeof name) > 0)
        ev = cfgcli_env_find(c, name);
    if (ev == NULL && cfgcli_env_name_spring(key, name, sizeof name) > 0)
        ev = cfgcli_env_find(c, name);
    if (ev == NULL)
        return -1;
    *val = ev->value;
    *src = ev->source;
    if (unresolved)
        *unresolved = 0;
    return 0;
}

const char *cfgcli_get_str(const cfgcli_t *c, const char *key, const char *dflt)
{
    const char *v, *s;
    return cfgcli_lookup(c, key, &v, &s, NULL) == 0 ? v : dflt;
}

int cfgcli_has(const cfgcli_t *c, const char *key)
{
    const char *v, *s;
    return cfgcli_lookup(c, key, &v, &s, NULL) == 0;
}

const char *cfgcli_source_of(const cfgcli_t *c, const char *key)
{
    const char *v, *s;
    return cfgcli_lookup(c, key, &v, &s, NULL) == 0 ? s : NULL;
}

/* Names the env var that could set `key`, for "not set" messages. */
static void env_hint(const char *key, char *buf, size_t cap)
{
    if (cfgcli_env_name(key, buf, cap) < 0)
        snprintf(buf, cap, "?");
}

int cfgcli_require_str(const cfgcli_t *c, const char *key, const char **out, char *err, size_t errlen)
{
    const char *v, *s;
    int unres = 0;
    char hint[512];
    if (cfgcli_lookup(c, key, &v, &s, &unres) != 0 || v[0] == '\0') {
        env_hint(key, hint, sizeof hint);
        errbuf_set(err, errlen, "config key '%s' is required but %s (set it in config-repo or env %s)", key,
                   cfgcli_has(c, key) ? "empty" : "not set", hint);
        return -1;
    }
    if (unres) {
        errbuf_set(err, errlen, "config key '%s' = '%s' (from %s) contains an unresolved placeholder", key, v,
                   s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Common front half of typed getters: 1 = use default, 0 = parse `*v`, -1 = error. */
static int typed_lookup(const cfgcli_t *c, const char *key, const char **v, const char **s, char *err,
                        size_t errlen)
{
    int unres = 0;
    if (cfgcli_lookup(c, key, v, s, &unres) != 0)
        return 1;
    const char *p = *v;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return 1;
    if (unres) {
        errbuf_set(err, errlen, "config key '%s' = '%s' (from %s) contains an unresolved placeholder", key,
                   *v, *s);
        return -1;
    }
    return 0;
}

static int bad_value(const char *key, const char *v, const char *s, const char *what, char *err,
                     size_t errlen)
{
    errbuf_set(err, errlen, "config key '%s' = '%s' (from %s) %s", key, v, s, what);
    return -1;
}

/* strtoll on the whole string (surrounding blanks allowed). */
static int parse_ll(const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || errno != 0)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0')
        return -1;
    *out = x;
    return 0;
}

/* Looks `key` up and parses it as an integer: 0 with *x, v and s set; 1 when absent (or
 * empty); -1 with err filled when unresolved or not an integer. */
static int get_ll(const cfgcli_t *c, const char *key, long long *x, const char **v, const char **s, char *err,
                  size_t errlen)
{
    int r = typed_lookup(c, key, v, s, err, errlen);
    if (r != 0)
        return r;
    if (parse_ll(*v, x) != 0)
        return bad_value(key, *v, *s, "is not an integer", err, errlen);
    return 0;
}

int cfgcli_get_long(const cfgcli_t *c, const char *key, long long dflt, long long *out, char *err,
                    size_t errlen)
{
    const char *v, *s;
    long long x = 0;
    int r = get_ll(c, key, &x, &v, &s, err, errlen);
    if (r < 0)
        return -1;
    *out = r > 0 ? dflt : x;
    return 0;
}

int cfgcli_get_int_range(const cfgcli_t *c, const char *key, int dflt, int min, int max, int *out, char *err,
                         size_t errlen)
{
    const char *v, *s;
    long long x = 0;
    int r = get_ll(c, key, &x, &v, &s, err, errlen);
    if (r < 0)
        return -1;
    if (r > 0) {
        *out = dflt;
        return 0;
    }
    if (x < min || x > max) {
        errbuf_set(err, errlen, "config key '%s' = '%s' (from %s) is out of range [%d, %d]", key, v, s, min,
                   max);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int cfgcli_get_int(const cfgcli_t *c, const char *key, int dflt, int *out, char *err, size_t errlen)
{
    return cfgcli_get_int_range(c, key, dflt, INT_MIN, INT_MAX, out, err, errlen);
}

int cfgcli_get_double(const cfgcli_t *c, const char *key, double dflt, double *out, char *err, size_t errlen)
{
    const char *v, *s;
    int r = typed_lookup(c, key, &v, &s, err, errlen);
    if (r < 0)
        return -1;
    if (r > 0) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    while (end != v && isspace((unsigned char)*end))
        end++;
    if (end == v || *end != '\0' || errno != 0 || !isfinite(x))
        return bad_value(key, v, s, "is not a number", err, errlen);
    *out = x;
    return 0;
}

int cfgcli_get_bool(const cfgcli_t *c, const char *key, int dflt, int *out, char *err, size_t errlen)
{
    const char *v, *s;
    int r = typed_lookup(c, key, &v, &s, err, errlen);
    if (r < 0)
        return -1;
    if (r > 0) {
        *out = dflt ? 1 : 0;
        return 0;
    }
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    char t[8];
    size_t n = 0;
    const char *p = v;
    while (isspace((unsigned char)*p))
        p++;
    while (*p && !isspace((unsigned char)*p) && n < sizeof t - 1)
        t[n++] = *p++;
    t[n] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0') {
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(t, yes[i]) == 0) {
                *out = 1;
                return 0;
            }
            if (strcasecmp(t, no[i]) == 0) {
                *out = 0;
                return 0;
            }
        }
    }
    return bad_value(key, v, s, "is not a boolean (true/false, yes/no, on/off, 1/0)", err, errlen);
}

int cfgcli_get_ms(const cfgcli_t *c, const char *key, long dflt, long *out, char *err, size_t errlen)
{
    const char *v, *s;
    int r = typed_lookup(c, key, &v, &s, err, errlen);
    if (r < 0)
        return -1;
    if (r > 0) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || errno != 0 || x < 0)
        return bad_value(key, v, s, "is not a duration (e.g. 250, 250ms, 5s, 2m, 1h)", err, errlen);
    while (isspace((unsigned char)*end))
        end++;
    long long mul = 0;
    const char *u = end;
    size_t ul = strlen(u);
    while (ul > 0 && isspace((unsigned char)u[ul - 1]))
        ul--;
    if (ul == 0 || (ul == 2 && strncasecmp(u, "ms", 2) == 0))
        mul = 1;
    else if (ul == 1 && (u[0] == 's' || u[0] == 'S'))
        mul = 1000;
    else if (ul == 1 && (u[0] == 'm' || u[0] == 'M'))
        mul = 60000;
    else if (ul == 1 && (u[0] == 'h' || u[0] == 'H'))
        mul = 3600000;
    else if (ul == 1 && (u[0] == 'd' || u[0] == 'D'))
        mul = 86400000;
    if (mul == 0)
        return bad_value(key, v, s, "is not a duration (e.g. 250, 250ms, 5s, 2m, 1h)", err, errlen);
    if (x > LONG_MAX / mul)
        return bad_value(key, v, s, "is too large a duration", err, errlen);
    *out = (long)(x * mul);
    return 0;
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
