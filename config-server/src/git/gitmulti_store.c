/* gitmulti_store.c — the store port of several git repositories (gitmulti.h): which
 * repository serves a request (Spring's order), the {application} mirrors made on demand
 * and kept in an LRU, health, POST /monitor routing and plain-text files. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "errbuf.h"
#include "git/gitmulti_int.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- picking a mirror */

/* The recent failure of `key` into `why`: 1, or 0 when none. Called with m->mu held. */
static int failed_lately(cs_gitmulti_t *m, const char *key, char *why, size_t whylen)
{
    int64_t now = mono_ms();
    for (size_t i = 0; i < NFAILED; i++)
        if (m->failed[i].key != NULL && now - m->failed[i].at_ms < RETRY_FAILED_MS &&
            strcmp(m->failed[i].key, key) == 0) {
            errbuf_set(why, whylen, "%s", m->failed[i].error);
            return 1;
        }
    return 0;
}

/* Drops a reference of the failed `e`; the last one unlinks and frees it (a failed clone
 * takes no place among the mirrors). Called with m->mu held. */
static void drop_failed(cs_gitmulti_t *m, cs_gitent_t *e)
{
    cs_glru_unref(&m->lru, &e->node);
    if (e->node.refs == 0) {
        cs_glru_remove(&m->lru, &e->node);
        cs_gitmulti_ent_free(e);
    }
}

/* Closes the mirrors beyond the bound that no request uses. Takes and drops m->mu. */
static void evict_unused(cs_gitmulti_t *m)
{
    for (;;) {
        pthread_mutex_lock(&m->mu);
        cs_gitent_t *x = (cs_gitent_t *)cs_glru_evict(&m->lru, m->opening);
        pthread_mutex_unlock(&m->mu);
        if (x == NULL)
            return;
        if (m->log != NULL && x->gopen)
            clog_info(m->log,
                      "git repository %s: mirror of %s evicted (least recently used); its folder removed",
                      x->def->name, x->g.m.uri_display);
        cs_gitmulti_ent_free(x); /* outside the lock: waits for its fetcher, removes its folder */
    }
}

/* The mirror of `d` for these names, with a reference (templates), or NULL with `why`. */
static cs_gitent_t *get_ent(cs_gitmulti_t *m, cs_gitdef_t *d, const char *app, const char *profile,
                            const char *label, char *why, size_t whylen)
{
    if (!d->templated)
        return d->fixed;
    char *key = cs_gpat_expand(d->uri, app, profile, label[0] != '\0' ? label : d->default_label);
    if (key == NULL) {
        errbuf_set(why, whylen, "out of memory");
        return NULL;
    }
    pthread_mutex_lock(&m->mu);
    cs_gitent_t *e = (cs_gitent_t *)cs_glru_get(&m->lru, key);
    if (e != NULL) {
        free(key);
        while (e->state == ENT_OPENING)
            pthread_cond_wait(&m->cv, &m->mu);
        if (e->state == ENT_FAILED) {
            errbuf_set(why, whylen, "%s", e->error != NULL ? e->error : "cannot clone");
            drop_failed(m, e);
            e = NULL;
        }
        pthread_mutex_unlock(&m->mu);
        return e;
    }
    if (failed_lately(m, key, why, whylen)) {
        pthread_mutex_unlock(&m->mu);
        free(key);
        return NULL;
    }
    if ((e = calloc(1, sizeof(*e))) == NULL) {
        free(key);
        pthread_mutex_unlock(&m->mu);
        errbuf_set(why, whylen, "out of memory");
        return NULL;
    }
    e->node.key = key;
    e->node.refs = 1;
    e->def = d;
    e->state = ENT_OPENING;
    cs_glru_put(&m->lru, &e->node);
    m->opening++;
    pthread_mutex_unlock(&m->mu);

    char dir[4096], err[512];
    unsigned char md[32];
    unsigned int ml = 0;
    EVP_Digest(e->node.key, strlen(e->node.key), md, &ml, EVP_sha256(), NULL);
    int n = snprintf(dir, sizeof(dir), "%s/dyn/", m->basedir);
    for (unsigned i = 0; i < 8 && n > 0 && (size_t)n + 3 < sizeof(dir); i++)
        n += snprintf(dir + n, sizeof(dir) - (size_t)n, "%02x", md[i]);
    int rc = cs_gitmulti_ent_open(m, d, e, e->node.key, dir, 1, err, sizeof(err));

    pthread_mutex_lock(&m->mu);
    m->opening--;
    if (rc == 0) {
        e->state = ENT_READY;
        e->g.on_change = m->on_change;
        e->g.on_change_ctx = m->on_change_ctx;
        if (m->started && cs_gitrepo_start(&e->g) != 0 && m->log != NULL)
            clog_warn(m->log, "cannot start the fetcher of %s; it will not be refreshed", e->g.m.uri_display);
        if (m->log != NULL)
            clog_info(m->log, "git repository %s: cloned %s for a request (%zu of at most %zu mirrors)",
                      d->name, e->g.m.uri_display, m->lru.n, m->lru.max);
    } else {
        e->state = ENT_FAILED;
        char *red = cs_gitm_redact(e->node.key);
        size_t need = strlen(err) + 64 + (red != NULL ? strlen(red) : 0);
        if ((e->error = malloc(need)) != NULL)
            snprintf(e->error, need, "no repository at %s: %s", red != NULL ? red : "?", err);
        free(red);
        errbuf_set(why, whylen, "%s", e->error != NULL ? e->error : err);
        failed_uri_t *f = &m->failed[m->nextfail++ % NFAILED];
        free(f->key);
        free(f->error);
        f->key = strdup(e->node.key);
        f->error = strdup(why);
        f->at_ms = mono_ms();
        if (m->log != NULL)
            clog_warn(m->log, "git repository %s: %s (asked again within %d s: the same answer)", d->name,
                      why, RETRY_FAILED_MS / 1000);
        drop_failed(m, e);
        e = NULL;
    }
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    evict_unused(m);
    return e;
}

/* Drops the reference get_ent gave; evicts what is beyond the bound and unused. */
static void put_ent(cs_gitmulti_t *m, cs_gitent_t *e)
{
    if (!e->def->templated)
        return;
    pthread_mutex_lock(&m->mu);
    cs_glru_unref(&m->lru, &e->node);
    pthread_mutex_unlock(&m->mu);
    evict_unused(m);
}

/* Leases `label` of `e` into `out`. 0, or the status with `why` (the reference dropped). */
static int lease_in(cs_gitmulti_t *m, cs_gitent_t *e, const char *app, const char *profiles,
                    const char *label, cs_lease_t *out, char *why, size_t whylen)
{
    cs_gitmulti_lease_t *ml = malloc(sizeof(*ml));
    if (ml == NULL) {
        put_ent(m, e);
        errbuf_set(why, whylen, "out of memory");
        return 503;
    }
    cs_store_t s = cs_gitrepo_store(&e->g);
    int st = s.ops->acquire(s.ctx, app, profiles, label, &ml->inner, why, whylen);
    if (st != 0) {
        free(ml);
        put_ent(m, e);
        return st;
    }
    ml->e = e;
    *out = (cs_lease_t){.snap = ml->inner.snap,
                        .lbl = ml->inner.lbl,
                        .tok = (uintptr_t)ml,
                        .names = &e->names,
                        .sp = &e->def->sp};
    return 0;
}

static int store_acquire(void *ctx, const char *app, const char *profiles, const char *label, cs_lease_t *out,
                         char *why, size_t whylen)
{
    cs_gitmulti_t *m = ctx;
    char prof[1025];
    for (size_t i = 0; i + 1 < m->ndefs; i++) {
        cs_gitdef_t *d = &m->defs[i];
        if (!cs_gpat_matches(&d->pat, app, profiles))
            continue;
        /* Spring's candidates: one per profile, the last first (the same mirror without {profile}) */
        snprintf(prof, sizeof(prof), "%s", profiles);
        for (;;) {
            char *comma = strrchr(prof, ',');
            const char *p = comma != NULL ? comma + 1 : prof;
            char skip[512];
            cs_gitent_t *e = get_ent(m, d, app, p, label, skip, sizeof(skip));
            if (e != NULL) {
                if (cs_gpat_serves(&d->pat, app, profiles) &&
                    lease_in(m, e, app, profiles, label, out, skip, sizeof(skip)) == 0)
                    return 0;
                if (!cs_gpat_serves(&d->pat, app, profiles))
                    put_ent(m, e);
            }
            if (m->log != NULL)
                clog_debug(m->log, "git repository %s passed over for %s/%s: %s", d->name, app, profiles,
                           e == NULL || cs_gpat_serves(&d->pat, app, profiles) ? skip
                                                                               : "its patterns match no "
                                                                                 "profile list");
            if (comma == NULL || !d->has_profile)
                break;
            *comma = '\0';
        }
    }
    cs_gitdef_t *dd = &m->defs[m->ndefs - 1];
    cs_gitent_t *e = get_ent(m, dd, app, profiles, label, why, whylen);
    if (e == NULL)
        return 404;
    return lease_in(m, e, app, profiles, label, out, why, whylen);
}

static void store_release(void *ctx, cs_lease_t *l)
{
    cs_gitmulti_lease_t *ml = (cs_gitmulti_lease_t *)l->tok;
    cs_store_t s = cs_gitrepo_store(&ml->e->g);
    s.ops->release(s.ctx, &ml->inner);
    put_ent(ctx, ml->e);
    free(ml);
}

/* ---------------------------------------------------------------- health, refresh, files */

static json_t *ent_health(cs_gitent_t *e, int *degraded)
{
    cs_store_t s = cs_gitrepo_store(&e->g);
    return s.ops->health(s.ctx, degraded);
}

static json_t *store_health(void *ctx, int *degraded)
{
    cs_gitmulti_t *m = ctx;
    cs_gitdef_t *dd = &m->defs[m->ndefs - 1];
    *degraded = 0;
    json_t *top = dd->fixed != NULL ? ent_health(dd->fixed, degraded)
                                    : json_pack("{s:s,s:s,s:s,s:n}", "backend", "git", "uri", dd->uri,
                                                "defaultLabel", dd->default_label, "version");
    json_t *repos = json_array();
    for (size_t i = 0; i < m->ndefs; i++) { /* a declared mirror's health may read a commit: unlocked */
        cs_gitdef_t *d = &m->defs[i];
        json_t *pats = json_array();
        for (size_t k = 0; k < d->pat.n; k++)
            json_array_append_new(pats, json_string(d->pat.v[k]));
        json_t *r = json_pack("{s:s,s:o,s:s}", "name", d->name, "patterns", pats, "uri", d->uri);
        if (d->fixed != NULL && i + 1 < m->ndefs) {
            int deg = 0;
            json_object_set_new(r, "health", ent_health(d->fixed, &deg));
            *degraded |= deg;
        }
        json_array_append_new(repos, r);
    }
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->ndefs; i++) {
        cs_gitdef_t *d = &m->defs[i];
        json_t *r = json_array_get(repos, i);
        if (d->templated) {
            json_t *mirrors = json_array();
            for (cs_glru_node_t *n = m->lru.head; n != NULL; n = n->next) {
                cs_gitent_t *e = (cs_gitent_t *)n;
                if (e->def == d && e->state == ENT_READY)
                    json_array_append_new(mirrors, json_string(e->g.m.uri_display));
            }
            json_object_set_new(r, "mirrors", mirrors);
        }
    }
    json_object_set_new(top, "repos", repos);
    json_object_set_new(top, "mirrors",
                        json_pack("{s:I,s:I}", "open", (json_int_t)m->lru.n, "max", (json_int_t)m->lru.max));
    pthread_mutex_unlock(&m->mu);
    return top;
}

/* `s` without a scheme, user info, a trailing "/" or ".git", with an scp-like "host:path"
 * as "host/path", lower-cased up to the first "/" (the host), into `out`. */
static void repo_key(const char *s, char *out, size_t size)
{
    const char *p = strstr(s, "://");
    p = p != NULL ? p + 3 : s;
    const char *slash = strchr(p, '/'), *at = strchr(p, '@');
    if (at != NULL && (slash == NULL || at < slash))
        p = at + 1;
    size_t n = 0;
    int host = 1;
    for (; *p != '\0' && n + 1 < size; p++) {
        char c = *p;
        if (host && c == ':' && strstr(s, "://") == NULL)
            c = '/'; /* git@host:org/repo */
        if (c == '/')
            host = 0;
        out[n++] = host ? (char)tolower((unsigned char)c) : c;
    }
    out[n] = '\0';
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    if (n > 4 && strcmp(out + n - 4, ".git") == 0)
        out[n -= 4] = '\0';
    /* a port of a URL ("host:22/x") is not a difference between a clone URL and a web one */
    char *colon = strchr(out, ':'), *sl = strchr(out, '/');
    if (colon != NULL && (sl == NULL || colon < sl)) {
        size_t skip = (size_t)((sl != NULL ? sl : out + n) - colon);
        memmove(colon, colon + skip, strlen(colon + skip) + 1);
    }
}

int cs_gitmulti_same_repo(const char *url, const char *uri)
{
    char a[1024], b[1024];
    repo_key(url, a, sizeof(a));
    repo_key(uri, b, sizeof(b));
    return a[0] != '\0' && strcmp(a, b) == 0;
}

static int named(cs_gitent_t *e, const char *const *uris, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cs_gitmulti_same_repo(uris[i], e->g.m.uri_display))
            return 1;
    return 0;
}

/* Kicks the mirrors `uris` names (every one when `all`). 1 when one was kicked. Called with
 * m->mu held. */
static int kick(cs_gitmulti_t *m, const char *const *uris, size_t n, int all)
{
    int any = 0;
    for (size_t i = 0; i < m->ndefs; i++) {
        cs_gitent_t *e = m->defs[i].fixed;
        if (e != NULL && (all || named(e, uris, n))) {
            cs_gitrepo_kick(&e->g);
            any = 1;
        }
    }
    for (cs_glru_node_t *x = m->lru.head; x != NULL; x = x->next) {
        cs_gitent_t *e = (cs_gitent_t *)x;
        if (e->state == ENT_READY && (all || named(e, uris, n))) {
            cs_gitrepo_kick(&e->g);
            any = 1;
        }
    }
    return any;
}

static void store_refresh(void *ctx, const char *const *uris, size_t n)
{
    cs_gitmulti_t *m = ctx;
    pthread_mutex_lock(&m->mu);
    int some = n > 0 && kick(m, uris, n, 0);
    if (!some)
        kick(m, NULL, 0, 1);
    pthread_mutex_unlock(&m->mu);
    if (m->log != NULL)
        clog_info(m->log, "monitor: %s",
                  some ? "fetching the repositories the webhook names"
                       : "fetching every repository (the webhook names none of them)");
}

static void store_subscribe(void *ctx, void (*fn)(void *), void *fnctx)
{
    cs_gitmulti_t *m = ctx;
    pthread_mutex_lock(&m->mu);
    m->on_change = fn;
    m->on_change_ctx = fnctx;
    for (size_t i = 0; i < m->ndefs; i++)
        if (m->defs[i].fixed != NULL) {
            cs_store_t s = cs_gitrepo_store(&m->defs[i].fixed->g);
            s.ops->subscribe(s.ctx, fn, fnctx);
        }
    pthread_mutex_unlock(&m->mu);
}

static int store_read_file(void *ctx, const cs_lease_t *l, const char *rel, size_t max, char **out,
                           size_t *len, char *why, size_t whylen)
{
    (void)ctx;
    const cs_gitmulti_lease_t *ml = (const cs_gitmulti_lease_t *)l->tok;
    cs_store_t s = cs_gitrepo_store(&ml->e->g);
    return s.ops->read_file(s.ctx, &ml->inner, rel, max, out, len, why, whylen);
}

static const cs_store_ops_t multi_ops = {store_acquire, store_release,   store_health,
                                         store_refresh, store_subscribe, store_read_file};

cs_store_t cs_gitmulti_store(cs_gitmulti_t *m)
{
    return (cs_store_t){.ops = &multi_ops, .ctx = m};
}
