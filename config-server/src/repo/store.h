/* store.h — the port through which the HTTP layer reads configuration, whatever the
 * backend: a folder (repo/repo.h, one live snapshot swapped on change) or a git mirror
 * (git/gitrepo.h, one snapshot per commit, a label being a branch, tag or commit id).
 *
 * A request leases the snapshot of its label, reads it without locks, and returns it:
 *
 *     cs_lease_t l;
 *     int st = store->ops->acquire(store->ctx, app, profiles, label, &l, why, sizeof(why));
 *     if (st == 0) { … l.snap, l.lbl …; store->ops->release(store->ctx, &l); }
 *
 * The snapshot stays valid and unchanged until release, however the repository changes
 * meanwhile (no torn reads).
 */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "repo/snapshot.h"

struct cs_srcnames;
struct cs_searchpaths;

typedef struct cs_lease {
    const cs_snap_t *snap; /* borrowed until release */
    const cs_label_t *lbl; /* borrowed: the overlay to read (the root for git) */
    uintptr_t tok;         /* the store's */
    /* Set by a store of several repositories (git/gitmulti.h), NULL otherwise: how the
     * chosen repository names its property sources, and its search paths (n == 0: none). */
    const struct cs_srcnames *names;
    const struct cs_searchpaths *sp;
} cs_lease_t;

typedef struct cs_store_ops {
    /* Leases the snapshot of `label` ("" = the default label) for the applications `app`
     * and profiles `profiles` (comma lists as in the URL; a store of several repositories
     * picks one by them). Returns 0, or the HTTP status to answer (404 unknown label or
     * repository, 400 a label that cannot be a ref, 503 nothing to serve yet) with the
     * reason in `why`. */
    int (*acquire)(void *ctx, const char *app, const char *profiles, const char *label, cs_lease_t *out,
                   char *why, size_t whylen);
    void (*release)(void *ctx, cs_lease_t *l);
    /* The details of the health component (new reference); *degraded set when the store
     * serves an older state than it should (reload or fetch failing, broken files). */
    json_t *(*health)(void *ctx, int *degraded);
    /* Looks for changes now (POST /monitor): a folder is re-read, a git remote fetched
     * (asynchronously). `uris` (n of them) name the repositories a push webhook concerns
     * (its repository's clone and web URLs); a store of several repositories fetches
     * those, or every one when none of them is named (n == 0: a form, or no URL). */
    void (*refresh)(void *ctx, const char *const *uris, size_t n);
    /* Calls fn(fnctx) after each change of what the store serves (a new folder snapshot;
     * a fetch that moved, added or removed a branch or tag), from the thread that made
     * it. One subscriber; set before the watcher/fetcher starts. */
    void (*subscribe)(void *ctx, void (*fn)(void *fnctx), void *fnctx);
    /* Reads the file `rel` of the leased tree (the plain-text endpoint): a path below the
     * repository root, "/"-separated ("nginx/nginx.conf"; a folder's label overlay is
     * "v2/nginx.conf"), already checked by the caller (no "..", no empty or hidden
     * component, no leading "/"). *out is malloc'ed and NUL-terminated, *len bytes, at most
     * `max`. Returns 0; 404 when there is no such regular file (missing, a directory, a
     * symlink that leaves the folder or, in git, any symlink); 413 when it is larger than
     * `max`; 500 or 503 with `why`. A folder reads the file as it is on disk now (as
     * Spring's native backend does); git reads the blob of the leased commit. */
    int (*read_file)(void *ctx, const cs_lease_t *l, const char *rel, size_t max, char **out, size_t *len,
                     char *why, size_t whylen);
} cs_store_ops_t;

typedef struct cs_store {
    const cs_store_ops_t *ops;
    void *ctx;
} cs_store_t;

#endif
