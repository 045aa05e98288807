/* repo.c — the live snapshot holder with its lock-free read side (see repo.h). */
#include "repo/repo.h"
#include "repo/beneath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void iso_time(time_t t, char *buf, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Logs every broken file of `s` (at start-up). */
static void log_broken(const cs_repo_t *r, const cs_snap_t *s)
{
    for (size_t i = 0; r->log != NULL && s->nbroken > 0 && i < s->nlabels; i++)
        for (size_t j = 0; j < s->labels[i].nfiles; j++)
            if (s->labels[i].files[j].broken != NULL)
                clog_ev(r->log, CLOG_ERROR, json_pack("{s:s}", "file", s->labels[i].files[j].rel),
                        "config file cannot be served: %s; requests that need it get 503, the others are "
                        "served",
                        s->labels[i].files[j].broken);
}

int cs_repo_open(cs_repo_t *r, const char *root, const cs_snap_limits_t *lim, const clog_t *log, char *err,
                 size_t errlen)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    r->log = log;
    if (lim != NULL)
        r->lim = *lim;
    r->root = strdup(root);
    if (r->root == NULL) {
        snprintf(err, errlen, "out of memory");
        cs_repo_close(r);
        return -1;
    }
    cs_snap_t *s = cs_snap_load(root, &r->lim, err, errlen);
    if (s == NULL) {
        cs_repo_close(r);
        return -1;
    }
    log_broken(r, s);
    atomic_store(&r->cur, s);
    r->checked_at = time(NULL);
    return 0;
}

void cs_repo_close(cs_repo_t *r)
{
    if (r == NULL)
        return;
    cs_snap_free(atomic_exchange(&r->cur, NULL));
    free(r->root);
    free(r->last_error);
    r->root = NULL;
    r->last_error = NULL;
    pthread_mutex_destroy(&r->mu);
}

const cs_snap_t *cs_repo_enter(cs_repo_t *r, unsigned *tok)
{
    for (;;) {
        unsigned e = atomic_load(&r->epoch);
        atomic_fetch_add(&r->readers[e & 1], 1);
        if (atomic_load(&r->epoch) == e) {
            *tok = e & 1;
            return atomic_load(&r->cur);
        }
        atomic_fetch_sub(&r->readers[e & 1], 1); /* a swap flipped the epoch meanwhile: retry */
    }
}

void cs_repo_exit(cs_repo_t *r, unsigned tok)
{
    atomic_fetch_sub(&r->readers[tok & 1], 1);
}

/* Publishes `next` and frees the previous snapshot once no reader can hold it.
 * Called with r->mu held (one writer at a time). */
static void publish(cs_repo_t *r, cs_snap_t *next)
{
    cs_snap_t *old = atomic_exchange(&r->cur, next);
    unsigned e = atomic_fetch_add(&r->epoch, 1);
    while (atomic_load(&r->readers[e & 1]) != 0)
        usleep(200);
    cs_snap_free(old);
}

/* A broken file of `next` that is not broken in `cur` (new, or good there), or NULL:
 * publishing `next` would then stop serving something that works now. */
static const cs_file_t *newly_broken(const cs_snap_t *cur, const cs_snap_t *next)
{
    for (size_t i = 0; next->nbroken > 0 && i < next->nlabels; i++) {
        const cs_label_t *nl = &next->labels[i];
        const cs_label_t *cl = cur == NULL ? NULL : i == 0 ? &cur->labels[0] : cs_snap_label(cur, nl->name);
        for (size_t j = 0; j < nl->nfiles; j++) {
            if (nl->files[j].broken == NULL)
                continue;
            const cs_file_t *was = cs_snap_find(cl, nl->files[j].base, nl->files[j].ext);
            if (was == NULL || was->broken == NULL)
                return &nl->files[j];
        }
    }
    return NULL;
}

/* Records a failed reload (logged once per distinct error). Called with r->mu held. */
static void record_error(cs_repo_t *r, const char *err)
{
    if (r->last_error != NULL && strcmp(r->last_error, err) == 0)
        return;
    free(r->last_error);
    r->last_error = strdup(err);
    r->error_at = time(NULL);
    if (r->log != NULL)
        clog_ev(r->log, CLOG_ERROR, json_pack("{s:s}", "error", err),
                "config repository reload failed; still serving the previous snapshot");
}

int cs_repo_reload(cs_repo_t *r)
{
    char err[512];
    int rc = -1;
    cs_snap_t *next = cs_snap_load(r->root, &r->lim, err, sizeof(err));
    pthread_mutex_lock(&r->mu);
    r->checked_at = time(NULL);
    const cs_snap_t *cur = atomic_load(&r->cur);
    const cs_file_t *nb = next != NULL ? newly_broken(cur, next) : NULL;
    if (nb != NULL) /* keep serving the working version; say which file broke */
        snprintf(err, sizeof(err), "%s", nb->broken);
    if (next == NULL || nb != NULL) {
        record_error(r, err);
        cs_snap_free(next);
        goto cleanup;
    }
    free(r->last_error);
    r->last_error = NULL;
    if (cur != NULL && strcmp(cur->version, next->version) == 0) {
        cs_snap_free(next);
        rc = 0;
        goto cleanup;
    }
    char oldv[41];
    snprintf(oldv, sizeof(oldv), "%s", cur != NULL ? cur->version : "");
    char newv[41];
    snprintf(newv, sizeof(newv), "%s", next->version);
    size_t nfiles = next->nfiles;
    publish(r, next);
    r->reloads++;
    if (r->log != NULL)
        clog_ev(r->log, CLOG_INFO,
                json_pack("{s:s,s:s,s:I}", "old_version", oldv, "version", newv, "files", (json_int_t)nfiles),
                "config repository reloaded");
    if (r->on_change != NULL)
        r->on_change(r->on_change_ctx);
    rc = 1;
cleanup:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

json_t *cs_repo_health(cs_repo_t *r, int *degraded)
{
    unsigned tok;
    const cs_snap_t *s = cs_repo_enter(r, &tok);
    char loaded[32], checked[32];
    iso_time(s->loaded_at, loaded, sizeof(loaded));
    json_t *labels = json_array();
    json_array_append_new(labels, json_string("master"));
    for (size_t i = 1; i < s->nlabels; i++)
        json_array_append_new(labels, json_string(s->labels[i].name));
    json_t *d =
        json_pack("{s:s,s:s,s:I,s:I,s:o}", "version", s->version, "loadedAt", loaded, "ageSeconds",
                  (json_int_t)(time(NULL) - s->loaded_at), "files", (json_int_t)s->nfiles, "labels", labels);
    json_object_set_new(d, "brokenFiles", cs_snap_broken_json(s));
    int broken = s->nbroken > 0;
    cs_repo_exit(r, tok);
    pthread_mutex_lock(&r->mu);
    iso_time(r->checked_at, checked, sizeof(checked));
    json_object_set_new(d, "checkedAt", json_string(checked));
    json_object_set_new(d, "reloads", json_integer((json_int_t)r->reloads));
    *degraded = r->last_error != NULL || broken;
    if (r->last_error != NULL) {
        char at[32];
        iso_time(r->error_at, at, sizeof(at));
        json_object_set_new(d, "lastError", json_pack("{s:s,s:s}", "message", r->last_error, "at", at));
    } else {
        json_object_set_new(d, "lastError", json_null());
    }
    pthread_mutex_unlock(&r->mu);
    return d;
}

/* ---------------------------------------------------------------- the store port */

static int store_acquire(void *ctx, const char *app, const char *profiles, const char *label, cs_lease_t *out,
                         char *why, size_t whylen)
{
    (void)app;
    (void)profiles;
    cs_repo_t *r = ctx;
    unsigned tok;
    const cs_snap_t *s = cs_repo_enter(r, &tok);
    const cs_label_t *l = cs_snap_label(s, label != NULL && label[0] ? label : NULL);
    if (l == NULL) {
        cs_repo_exit(r, tok);
        snprintf(why, whylen, "no label '%s' in the config repository", label);
        return 404;
    }
    *out = (cs_lease_t){.snap = s, .lbl = l, .tok = tok};
    return 0;
}

static void store_release(void *ctx, cs_lease_t *l)
{
    cs_repo_exit(ctx, (unsigned)l->tok);
}

static json_t *store_health(void *ctx, int *degraded)
{
    return cs_repo_health(ctx, degraded);
}

static void store_refresh(void *ctx, const char *const *uris, size_t n)
{
    (void)uris;
    (void)n;
    cs_repo_reload(ctx);
}

static void store_subscribe(void *ctx, void (*fn)(void *), void *fnctx)
{
    cs_repo_t *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->on_change = fn;
    r->on_change_ctx = fnctx;
    pthread_mutex_unlock(&r->mu);
}

static int store_read_file(void *ctx, const cs_lease_t *l, const char *rel, size_t max, char **out,
                           size_t *len, char *why, size_t whylen)
{
    const cs_repo_t *r = ctx;
    (void)l; /* the folder as it is now: the snapshot holds only the parsed config files */
    return cs_read_beneath(r->root, rel, max, out, len, why, whylen);
}

static const cs_store_ops_t repo_store_ops = {store_acquire, store_release,   store_health,
                                              store_refresh, store_subscribe, store_read_file};

cs_store_t cs_repo_store(cs_repo_t *r)
{
    return (cs_store_t){.ops = &repo_store_ops, .ctx = r};
}
