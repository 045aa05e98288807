/* cfgcli_env.c — the environment side of the config client: a private snapshot of the
 * process env, relaxed binding (config key → env var name), the lookup of a key (the store,
 * then the env), env overrides, and ${name:default} placeholder resolution. Builds on the
 * store (cfgcli_store.c) and calls nothing of cfgcli.c (see cfgcli_int.h).
 */
#include "cfgcli_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbuf.h"

/* Placeholders nest at most this deep (also breaks reference cycles). */
#define CFGCLI_MAX_DEPTH 16
/* No resolved value grows beyond this. */
#define CFGCLI_MAX_VALUE (1u << 20)

static int env_name_impl(const char *key, char *buf, size_t cap, int drop_dashes)
{
    size_t n = 0;
    int pend = 0; /* an '_' is owed before the next character */
    if (cap == 0)
        return -1;
    for (const char *p = key; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (drop_dashes && ch == '-')
            continue;
        if (ch == '.' || ch == '-' || ch == '[' || ch == ']' || ch == '_') {
            pend = n > 0;
            continue;
        }
        if (pend) {
            if (n + 1 >= cap)
                return -1;
            buf[n++] = '_';
            pend = 0;
        }
        if (n + 1 >= cap)
            return -1;
        buf[n++] = (char)toupper(ch);
    }
    buf[n] = '\0';
    return (int)n;
}

int cfgcli_env_name(const char *key, char *buf, size_t cap)
{
    return env_name_impl(key, buf, cap, 0);
}

int cfgcli_env_name_spring(const char *key, char *buf, size_t cap)
{
    return env_name_impl(key, buf, cap, 1);
}

static int cmp_envvar(const void *a, const void *b)
{
    return strcmp(((const cfgcli_envvar_t *)a)->name, ((const cfgcli_envvar_t *)b)->name);
}

int cfgcli_env_snapshot(cfgcli_t *c, char *const *envp)
{
    if (envp == NULL)
        envp = environ;
    size_t cnt = 0;
    while (envp && envp[cnt])
        cnt++;
    c->env = calloc(cnt ? cnt : 1, sizeof *c->env);
    if (c->env == NULL)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        const char *eq = strchr(envp[i], '=');
        if (eq == NULL || eq == envp[i])
            continue;
        cfgcli_envvar_t *v = &c->env[c->nenv];
        v->name = strndup(envp[i], (size_t)(eq - envp[i]));
        v->value = strdup(eq + 1);
        size_t sl = (size_t)(eq - envp[i]) + 5;
        v->source = malloc(sl);
        c->nenv++;
        if (v->name == NULL || v->value == NULL || v->source == NULL)
            return -1;
        snprintf(v->source, sl, "env:%s", v->name);
    }
    qsort(c->env, c->nenv, sizeof *c->env, cmp_envvar);
    return 0;
}

const cfgcli_envvar_t *cfgcli_env_find(const cfgcli_t *c, const char *name)
{
    if (c->nenv == 0)
        return NULL;
    cfgcli_envvar_t k = {.name = (char *)name};
    return bsearch(&k, c->env, c->nenv, sizeof *c->env, cmp_envvar);
}

const cfgcli_envvar_t *cfgcli_env_for_key(const cfgcli_t *c, const char *key)
{
    char name[512];
    const cfgcli_envvar_t *ev = NULL;
    if (cfgcli_env_name(key, name, sizeof name) > 0)
        ev = cfgcli_env_find(c, name);
    if (ev == NULL && cfgcli_env_name_spring(key, name, sizeof name) > 0)
        ev = cfgcli_env_find(c, name);
    return ev;
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
    const cfgcli_envvar_t *ev = cfgcli_env_for_key(c, key);
    if (ev == NULL)
        return -1;
    *val = ev->value;
    *src = ev->source;
    if (unresolved)
        *unresolved = 0;
    return 0;
}

int cfgcli_apply_overrides(cfgcli_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        cfgcli_ent_t *e = &c->ents[i];
        const cfgcli_envvar_t *ev = cfgcli_env_for_key(c, e->key);
        if (ev == NULL)
            continue;
        char *v = strdup(ev->value);
        char *s = strdup(ev->source);
        if (v == NULL || s == NULL) {
            free(v);
            free(s);
            return -1;
        }
        free(e->value);
        free(e->source);
        e->value = v;
        e->source = s;
    }
    return 0;
}

/* Finds the '}' closing the placeholder whose body starts at `p`, honouring nesting. */
static const char *find_close(const char *p)
{
    int depth = 1;
    for (; *p; p++) {
        if (p[0] == '$' && p[1] == '{') {
            depth++;
            p++;
        } else if (*p == '}') {
            if (--depth == 0)
                return p;
        }
    }
    return NULL;
}

static int resolve_text(const cfgcli_t *c, const char *text, int depth, dbuf_t *out, int *unresolved);

/* Resolves the value that placeholder `name` refers to into `out`. 1 found, 0 not, -1 OOM. */
static int resolve_name(const cfgcli_t *c, const char *name, int depth, dbuf_t *out, int *unresolved)
{
    const cfgcli_ent_t *e = cfgcli_find_ent(c, name);
    if (e != NULL)
        return resolve_text(c, e->value, depth + 1, out, unresolved) < 0 ? -1 : 1;
    if (!c->use_env)
        return 0;
    const cfgcli_envvar_t *ev = cfgcli_env_find(c, name);
    char rn[512];
    if (ev == NULL && cfgcli_env_name(name, rn, sizeof rn) > 0)
        ev = cfgcli_env_find(c, rn);
    if (ev == NULL)
        return 0;
    return dbuf_adds(out, ev->value) < 0 ? -1 : 1;
}

/* Appends `text` to `out` with placeholders resolved; sets *unresolved when one could not
 * be (it is then kept literally). 0 or -1 (OOM / too big). */
static int resolve_text(const cfgcli_t *c, const char *text, int depth, dbuf_t *out, int *unresolved)
{
    if (depth > CFGCLI_MAX_DEPTH) {
        *unresolved = 1;
        return dbuf_adds(out, text);
    }
    const char *p = text;
    while (*p) {
        const char *ph = strstr(p, "${");
        if (ph == NULL)
            return dbuf_adds(out, p);
        if (dbuf_add(out, p, (size_t)(ph - p)) < 0)
            return -1;
        const char *body = ph + 2;
        const char *close = find_close(body);
        if (close == NULL) { /* unterminated: literal text */
            *unresolved = 1;
            return dbuf_adds(out, ph);
        }
        /* name ends at the first ':' that is not inside a nested placeholder */
        const char *colon = NULL;
        for (const char *q = body; q < close; q++) {
            if (q[0] == '$' && q[1] == '{')
                break;
            if (*q == ':') {
                colon = q;
                break;
            }
        }
        size_t nlen = (size_t)((colon ? colon : close) - body);
        char *name = strndup(body, nlen);
        if (name == NULL)
            return -1;
        int r = nlen ? resolve_name(c, name, depth, out, unresolved) : 0;
        free(name);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (colon != NULL) {
                char *dflt = strndup(colon + 1, (size_t)(close - colon - 1));
                if (dflt == NULL)
                    return -1;
                r = resolve_text(c, dflt, depth + 1, out, unresolved);
                free(dflt);
                if (r < 0)
                    return -1;
            } else {
                *unresolved = 1;
                if (dbuf_add(out, ph, (size_t)(close + 1 - ph)) < 0)
                    return -1;
            }
        }
        p = close + 1;
    }
    return 0;
}

int cfgcli_resolve_all(cfgcli_t *c, char *err, size_t errlen)
{
    char **vals = calloc(c->n ? c->n : 1, sizeof *vals);
    int *unres = calloc(c->n ? c->n : 1, sizeof *unres);
    int rc = -1;
    dbuf_t b;
    dbuf_init(&b, CFGCLI_MAX_VALUE);
    if (vals == NULL || unres == NULL) {
        errbuf_set(err, errlen, "out of memory resolving placeholders");
        goto cleanup;
    }
    /* resolve every value against the unresolved store, then swap them all in */
    for (size_t i = 0; i < c->n; i++) {
        if (strstr(c->ents[i].value, "${") == NULL)
            continue;
        dbuf_reset(&b);
        if (resolve_text(c, c->ents[i].value, 0, &b, &unres[i]) < 0 ||
            (vals[i] = dbuf_take(&b, NULL)) == NULL) {
            errbuf_set(err, errlen, "config key '%s' (from %s): placeholder expansion failed (too large?)",
                       c->ents[i].key, c->ents[i].source);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        if (vals[i] == NULL)
            continue;
        free(c->ents[i].value);
        c->ents[i].value = vals[i];
        c->ents[i].unresolved = unres[i];
        vals[i] = NULL;
    }
    rc = 0;
cleanup:
    if (vals != NULL)
        for (size_t i = 0; i < c->n; i++)
            free(vals[i]);
    free(vals);
    free(unres);
    dbuf_free(&b);
    return rc;
}
