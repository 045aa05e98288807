/* gitrepo.c — the git backend's live state: fetcher thread, ref table, per-commit
 * snapshot LRU and the store port (gitrepo.h). */
#define _XOPEN_SOURCE 700
#include "git/gitrepo.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "git/gitlabel.h"

#define MIN_FETCH_GAP_MS 100
#define MAX_BACKOFF_S 60

struct cs_gitsnap {
    git_oid commit;
    cs_snap_t *snap; /* owned */
    int refs;        /* leases outstanding */
    cs_gitsnap_t *prev, *next;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void iso_time(time_t t, char *buf, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---------------------------------------------------------------- the base directory */

/* Makes (or checks) `dir`: a real directory, not a symlink, ours, not writable by others. */
int cs_gitrepo_private_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        errbuf_set(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errbuf_set(err, errlen, "%s is not a directory (a symbolic link is refused)", dir);
        return -1;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 0022) != 0) {
        errbuf_set(err, errlen, "%s must be owned by this user and not writable by others", dir);
        return -1;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void cs_gitrepo_rmtree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

cs_srcnames_t cs_gitrepo_names(const cs_gitrepo_t *g)
{
    cs_srcnames_t n = {.dir = g->basedir, .uri = g->m.uri_display};
    if (strncmp(n.uri, "file://", 7) == 0)
        n.dir = n.uri + 7;
    else if (strncmp(n.uri, "file:", 5) == 0)
        n.dir = n.uri + 5;
    return n;
}

/* ---------------------------------------------------------------- the snapshot cache */

static void unlink_ent(cs_gitrepo_t *g, cs_gitsnap_t *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        g->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        g->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(cs_gitrepo_t *g, cs_gitsnap_t *e)
{
    e->prev = NULL;
    e->next = g->head;
    if (g->head != NULL)
        g->head->prev = e;
    g->head = e;
    if (g->tail == NULL)
        g->tail = e;
}

/* Drops unused snapshots from the cold end beyond cache_max. Called with g->mu held. */
static void evict(cs_gitrepo_t *g)
{
    for (cs_gitsnap_t *e = g->tail; e != NULL && g->ncached > g->cache_max;) {
        cs_gitsnap_t *prev = e->prev;
        if (e->refs == 0) {
            unlink_ent(g, e);
            g->ncached--;
            g->cached_bytes -= e->snap->bytes;
            cs_snap_free(e->snap);
            free(e);
        }
        e = prev;
    }
}

static cs_gitsnap_t *find_ent(cs_gitrepo_t *g, const git_oid *c)
{
    for (cs_gitsnap_t *e = g->head; e != NULL; e = e->next)
        if (git_oid_equal(&e->commit, c))
            return e;
    return NULL;
}

/* A leased snapshot of `commit` (built on a miss). NULL with `why` on failure. */
static cs_gitsnap_t *lease_commit(cs_gitrepo_t *g, const git_oid *commit, char *why, size_t whylen)
{
    pthread_mutex_lock(&g->mu);
    cs_gitsnap_t *e = find_ent(g, commit);
    if (e != NULL) {
        e->refs++;
        unlink_ent(g, e);
        push_front(g, e);
        pthread_mutex_unlock(&g->mu);
        return e;
    }
    pthread_mutex_unlock(&g->mu);
    char err[512];
    cs_snap_t *s = cs_gitm_snapshot(&g->m, commit, &g->lim, g->subdirs, err, sizeof(err));
    if (s == NULL) {
        errbuf_set(why, whylen, "cannot read commit %s: %s", git_oid_tostr_s(commit), err);
        return NULL;
    }
    pthread_mutex_lock(&g->mu);
    e = find_ent(g, commit); /* another request may have built it meanwhile */
    if (e != NULL) {
        cs_snap_free(s);
        unlink_ent(g, e);
    } else if ((e = calloc(1, sizeof(*e))) != NULL) {
        git_oid_cpy(&e->commit, commit);
        e->snap = s;
        g->ncached++;
        g->cached_bytes += s->bytes;
        g->builds++;
    } else {
        cs_snap_free(s);
        pthread_mutex_unlock(&g->mu);
        errbuf_set(why, whylen, "out of memory");
        return NULL;
    }
    e->refs++;
    push_front(g, e);
    evict(g);
    pthread_mutex_unlock(&g->mu);
    return e;
}

static void unlease(cs_gitrepo_t *g, cs_gitsnap_t *e)
{
    pthread_mutex_lock(&g->mu);
    e->refs--;
    evict(g);
    pthread_mutex_unlock(&g->mu);
}

/* ---------------------------------------------------------------- labels */

/* The commit of tag/branch `label` in the current refs (with Spring's main → master
 * fallback). 1 found, 0 not. Called with g->mu held. */
static int ref_commit(cs_gitrepo_t *g, const char *label, git_oid *out)
{
    const cs_gitm_ref_t *r = cs_gitm_refs_find(g->refs, 1, label); /* a tag first, as git rev-parse */
    if (r == NULL)
        r = cs_gitm_refs_find(g->refs, 0, label);
    if (r == NULL && strcmp(label, "main") == 0)
        r = cs_gitm_refs_find(g->refs, 0, "master");
    if (r == NULL)
        return 0;
    git_oid_cpy(out, &r->commit);
    return 1;
}

/* `label` → commit. "HEAD" is the default label (Spring checks HEAD out in its clone,
 * whose branch after the clone is the default one). 0, or 400/404 with `why`. */
static int resolve(cs_gitrepo_t *g, const char *label, git_oid *out, char *why, size_t whylen)
{
    if (label == NULL || label[0] == '\0' || strcmp(label, "HEAD") == 0)
        label = g->default_label;
    if (cs_gitlabel_check(label, why, whylen) != 0)
        return 400;
    pthread_mutex_lock(&g->mu);
    int found = ref_commit(g, label, out);
    pthread_mutex_unlock(&g->mu);
    if (found)
        return 0;
    if (cs_gitlabel_is_hex(label))
        return cs_gitm_lookup_prefix(&g->m, label, out, why, whylen);
    errbuf_set(why, whylen, "no branch, tag or commit '%s' in the config repository", label);
    return 404;
}

/* ---------------------------------------------------------------- fetching */

/* 1 when both ref tables name the same branches and tags at the same commits. */
static int refs_equal(const cs_gitm_refs_t *a, const cs_gitm_refs_t *b)
{
    if (a == NULL || b == NULL || a->n != b->n)
        return a == b;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].tag != b->v[i].tag || strcmp(a->v[i].name, b->v[i].name) != 0 ||
            !git_oid_equal(&a->v[i].commit, &b->v[i].commit))
            return 0;
    return 1;
}

/* Fetches once and publishes the new refs. Called without g->mu. 0 or -1. */
static int fetch_once(cs_gitrepo_t *g, char *err, size_t errlen)
{
    if (cs_gitm_fetch(&g->m, err, errlen) != 0)
        return -1;
    cs_gitm_refs_t *refs = cs_gitm_list_refs(&g->m, err, errlen);
    if (refs == NULL)
        return -1;
    pthread_mutex_lock(&g->mu);
    git_oid before, after;
    int had = g->refs != NULL && ref_commit(g, g->default_label, &before);
    cs_gitm_refs_t *old = g->refs;
    g->refs = refs;
    int has = ref_commit(g, g->default_label, &after);
    void (*notify)(void *) = g->on_change;
    void *notify_ctx = g->on_change_ctx;
    pthread_mutex_unlock(&g->mu);
    if (notify != NULL && !refs_equal(old, refs))
        notify(notify_ctx);
    cs_gitm_refs_free(old);
    if (g->log != NULL && has && (!had || !git_oid_equal(&before, &after))) {
        char a[GIT_OID_HEXSZ + 1] = "", b[GIT_OID_HEXSZ + 1] = "";
        git_oid_tostr(b, sizeof(b), &after);
        if (had)
            git_oid_tostr(a, sizeof(a), &before);
        clog_ev(g->log, CLOG_INFO,
                json_pack("{s:s,s:s,s:s,s:I}", "label", g->default_label, "old_commit", a, "commit", b,
                          "refs", (json_int_t)refs->n),
                "config repository fetched: %s is at %.12s", g->default_label, b);
    }
    return 0;
}

static void *fetcher(void *arg)
{
    cs_gitrepo_t *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        int64_t now = mono_ms();
        int due = g->kick || (g->next_fetch_ms > 0 && now >= g->next_fetch_ms);
        if (!due) {
            if (g->next_fetch_ms > 0) {
                int64_t at = g->next_fetch_ms;
                struct timespec ts = {.tv_sec = (time_t)(at / 1000), .tv_nsec = (long)(at % 1000) * 1000000};
                pthread_cond_timedwait(&g->cv, &g->mu, &ts);
            } else {
                pthread_cond_wait(&g->cv, &g->mu);
            }
            continue;
        }
        if (now - g->last_try_ms < MIN_FETCH_GAP_MS) { /* rate limit (webhook floods) */
            pthread_mutex_unlock(&g->mu);
            usleep((useconds_t)(MIN_FETCH_GAP_MS - (now - g->last_try_ms)) * 1000);
            pthread_mutex_lock(&g->mu);
            continue;
        }
        g->kick = 0;
        g->last_try_ms = now;
        g->last_try_at = time(NULL);
        pthread_mutex_unlock(&g->mu);
        char err[512];
        int rc = fetch_once(g, err, sizeof(err));
        pthread_mutex_lock(&g->mu);
        g->fetches++;
        if (rc == 0) {
            if (g->failures > 0 && g->log != NULL)
                clog_info(g->log, "config repository fetch recovered after %lu failed attempt(s)",
                          g->failures);
            g->failures = 0;
            g->last_ok_at = time(NULL);
            free(g->last_error);
            g->last_error = NULL;
            g->next_fetch_ms = g->refresh_s > 0 ? mono_ms() + (int64_t)g->refresh_s * 1000 : 0;
        } else {
            g->failures++;
            int shift = g->failures > 7 ? 6 : (int)g->failures - 1;
            int64_t backoff = (int64_t)(1 << shift) * 1000;
            if (backoff > MAX_BACKOFF_S * 1000)
                backoff = MAX_BACKOFF_S * 1000;
            g->next_fetch_ms = mono_ms() + backoff;
            if (g->log != NULL)
                clog_ev(g->log, g->failures == 1 ? CLOG_ERROR : CLOG_WARN,
                        json_pack("{s:s,s:s,s:I,s:I}", "uri", g->m.uri_display, "error", err, "attempt",
                                  (json_int_t)g->failures, "retry_in_ms", (json_int_t)backoff),
                        "config repository fetch failed; still serving the last fetched commits");
            free(g->last_error);
            g->last_error = strdup(err);
            g->error_at = time(NULL);
        }
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* ---------------------------------------------------------------- open / close */

int cs_gitrepo_open(cs_gitrepo_t *g, cs_gitrepo_opts_t *o, char *err, size_t errlen)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    g->refresh_s = o->refresh_s;
    g->subdirs = o->subdirs;
    g->cache_max = o->cache_max > 0 ? o->cache_max : 16;
    g->lim = o->lim;
    g->log = o->log;
    g->default_label = strdup(o->default_label != NULL ? o->default_label : "main");
    char mirror[4096];
    if (o->basedir != NULL) {
        g->basedir = strdup(o->basedir);
        g->own_basedir = o->remove_basedir;
    } else {
        const char *tmp = getenv("TMPDIR");
        char tmpl[4096];
        snprintf(tmpl, sizeof(tmpl), "%s/config-server-git-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
        if (mkdtemp(tmpl) == NULL) {
            errbuf_set(err, errlen, "cannot create a private directory for the git mirror: %s",
                       strerror(errno));
            goto fail;
        }
        g->basedir = strdup(tmpl);
        g->own_basedir = 1;
    }
    if (g->basedir == NULL || g->default_label == NULL) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    if (cs_gitrepo_private_dir(g->basedir, err, errlen) != 0)
        goto fail;
    snprintf(mirror, sizeof(mirror), "%s/mirror.git", g->basedir);
    if (cs_gitrepo_private_dir(mirror, err, errlen) != 0)
        goto fail;
    if (cs_gitm_open(&g->m, mirror, o->uri, &o->cred, o->timeout_s, err, errlen) != 0)
        goto fail;
    char ferr[512];
    int64_t t0 = mono_ms();
    if (fetch_once(g, ferr, sizeof(ferr)) != 0) {
        g->refs = cs_gitm_list_refs(&g->m, err, errlen);
        if (g->refs == NULL || g->refs->n == 0) {
            errbuf_set(err, errlen, "cannot clone %s: %s", g->m.uri_display, ferr);
            goto fail;
        }
        g->failures = 1;
        g->last_error = strdup(ferr);
        g->error_at = time(NULL);
        g->next_fetch_ms = mono_ms() + 1000;
        if (g->log != NULL)
            clog_warn(g->log, "cannot fetch %s (%s); serving the mirror already in %s", g->m.uri_display,
                      ferr, mirror);
    } else {
        g->last_ok_at = time(NULL);
        g->next_fetch_ms = g->refresh_s > 0 ? mono_ms() + (int64_t)g->refresh_s * 1000 : 0;
    }
    g->fetches = 1;
    g->last_try_at = time(NULL);
    g->last_try_ms = t0;
    git_oid def;
    if (g->log != NULL && !ref_commit(g, g->default_label, &def))
        clog_warn(g->log,
                  "the default label '%s' is no branch or tag of %s; requests without a label get 404",
                  g->default_label, g->m.uri_display);
    return 0;
fail:
    cs_gitrepo_close(g);
    return -1;
}

int cs_gitrepo_start(cs_gitrepo_t *g)
{
    if (pthread_create(&g->tid, NULL, fetcher, g) != 0)
        return -1;
    g->running = 1;
    return 0;
}

void cs_gitrepo_kick(cs_gitrepo_t *g)
{
    pthread_mutex_lock(&g->mu);
    g->kick = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void cs_gitrepo_close(cs_gitrepo_t *g)
{
    if (g == NULL)
        return;
    if (g->running) {
        pthread_mutex_lock(&g->mu);
        g->stop = 1;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->tid, NULL);
        g->running = 0;
    }
    for (cs_gitsnap_t *e = g->head, *n; e != NULL; e = n) {
        n = e->next;
        cs_snap_free(e->snap);
        free(e);
    }
    g->head = g->tail = NULL;
    cs_gitm_refs_free(g->refs);
    g->refs = NULL;
    if (g->m.dir != NULL)
        cs_gitm_close(&g->m);
    if (g->own_basedir && g->basedir != NULL)
        cs_gitrepo_rmtree(g->basedir);
    free(g->basedir);
    free(g->default_label);
    free(g->last_error);
    g->basedir = g->default_label = g->last_error = NULL;
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* ---------------------------------------------------------------- the store port */

static int store_acquire(void *ctx, const char *app, const char *profiles, const char *label, cs_lease_t *out,
                         char *why, size_t whylen)
{
    (void)app;
    (void)profiles;
    cs_gitrepo_t *g = ctx;
    git_oid c;
    int st = resolve(g, label, &c, why, whylen);
    if (st != 0)
        return st;
    cs_gitsnap_t *e = lease_commit(g, &c, why, whylen);
    if (e == NULL)
        return 503;
    *out = (cs_lease_t){.snap = e->snap, .lbl = &e->snap->labels[0], .tok = (uintptr_t)e};
    return 0;
}

static void store_release(void *ctx, cs_lease_t *l)
{
    unlease(ctx, (cs_gitsnap_t *)l->tok);
}

static json_t *store_health(void *ctx, int *degraded)
{
    cs_gitrepo_t *g = ctx;
    char why[512], at[32];
    cs_lease_t l;
    int st = store_acquire(g, "application", "default", "", &l, why, sizeof(why));
    json_t *d = json_pack("{s:s,s:s,s:s}", "backend", "git", "uri", g->m.uri_display, "defaultLabel",
                          g->default_label);
    if (st == 0) {
        iso_time(l.snap->loaded_at, at, sizeof(at));
        json_object_set_new(d, "version", json_string(l.snap->version));
        json_object_set_new(d, "files", json_integer((json_int_t)l.snap->nfiles));
        json_object_set_new(d, "brokenFiles", cs_snap_broken_json(l.snap));
        *degraded = l.snap->nbroken > 0;
        store_release(g, &l);
    } else {
        json_object_set_new(d, "version", json_null());
        json_object_set_new(d, "defaultLabelError", json_string(why));
        *degraded = 1;
    }
    pthread_mutex_lock(&g->mu);
    size_t nb = 0, nt = 0;
    for (size_t i = 0; g->refs != NULL && i < g->refs->n; i++)
        g->refs->v[i].tag ? nt++ : nb++;
    json_object_set_new(d, "branches", json_integer((json_int_t)nb));
    json_object_set_new(d, "tags", json_integer((json_int_t)nt));
    iso_time(g->last_try_at, at, sizeof(at));
    json_object_set_new(d, "checkedAt", json_string(at));
    if (g->last_ok_at != 0) {
        iso_time(g->last_ok_at, at, sizeof(at));
        json_object_set_new(d, "fetchedAt", json_string(at));
        json_object_set_new(d, "ageSeconds", json_integer((json_int_t)(time(NULL) - g->last_ok_at)));
    }
    json_object_set_new(d, "fetches", json_integer((json_int_t)g->fetches));
    json_object_set_new(d, "failedFetches", json_integer((json_int_t)g->failures));
    if (g->last_error != NULL) {
        iso_time(g->error_at, at, sizeof(at));
        json_object_set_new(d, "lastError", json_pack("{s:s,s:s}", "message", g->last_error, "at", at));
        int64_t in = g->next_fetch_ms - mono_ms();
        json_object_set_new(d, "retryInMs", json_integer(in > 0 ? (json_int_t)in : 0));
        *degraded = 1;
    } else {
        json_object_set_new(d, "lastError", json_null());
    }
    json_object_set_new(d, "snapshots",
                        json_pack("{s:I,s:I,s:I,s:I}", "cached", (json_int_t)g->ncached, "max",
                                  (json_int_t)g->cache_max, "sourceBytes", (json_int_t)g->cached_bytes,
                                  "built", (json_int_t)g->builds));
    pthread_mutex_unlock(&g->mu);
    return d;
}

static void store_refresh(void *ctx, const char *const *uris, size_t n)
{
    (void)uris;
    (void)n;
    cs_gitrepo_kick(ctx);
}

static void store_subscribe(void *ctx, void (*fn)(void *), void *fnctx)
{
    cs_gitrepo_t *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->on_change = fn;
    g->on_change_ctx = fnctx;
    pthread_mutex_unlock(&g->mu);
}

/* The leased snapshot's version is its commit id: the file is read from that commit. */
static int store_read_file(void *ctx, const cs_lease_t *l, const char *rel, size_t max, char **out,
                           size_t *len, char *why, size_t whylen)
{
    cs_gitrepo_t *g = ctx;
    return cs_gitm_read_file(&g->m, l->snap->version, rel, max, out, len, why, whylen);
}

static const cs_store_ops_t git_store_ops = {store_acquire, store_release,   store_health,
                                             store_refresh, store_subscribe, store_read_file};

cs_store_t cs_gitrepo_store(cs_gitrepo_t *g)
{
    return (cs_store_t){.ops = &git_store_ops, .ctx = g};
}
