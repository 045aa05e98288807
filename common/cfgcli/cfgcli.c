/* cfgcli.c — the config client's typed getters (see cfgcli.h).
 *
 * Every getter looks the key up with cfgcli_lookup (cfgcli_env.c: the store
 * (cfgcli_store.c), then the env snapshot under the relaxed-binding name), so every error
 * can say where the bad value came from.
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
