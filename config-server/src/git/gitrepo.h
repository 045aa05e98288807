/* gitrepo.h — the git backend as the HTTP layer's store (repo/store.h): a bare mirror of
 * the remote (gitmirror.h) kept fresh by a fetcher thread, and an LRU of immutable
 * per-commit snapshots.
 *
 * - A `{label}` is a tag, then a branch (git's order), then a commit id (prefix), resolved against the
 *   ref table of the last successful fetch (gitlabel.h has the rules); "" is the default
 *   label, and "main" falls back to "master" when there is no "main" (Spring's
 *   tryMasterBranch). Each commit is served from its own snapshot, built once and cached
 *   (at most `cache_max` unused ones are kept), so any number of labels are served at once
 *   and a fetch never changes what a request is reading.
 * - The fetcher fetches every `refresh_s` seconds (0: only when kicked), at once when
 *   kicked (POST /monitor), at most every 100 ms. A failed fetch keeps serving the last
 *   good refs, retries with exponential backoff (1 s … 60 s), and shows on health and in
 *   the log.
 * - The mirror lives in `basedir` (created 0700, never a symlink, owned by us); without
 *   one a private temporary directory is made and removed at close.
 */
#ifndef CS_GITREPO_H
#define CS_GITREPO_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "clog.h"
#include "env/environment.h"
#include "git/gitmirror.h"
#include "repo/store.h"

typedef struct cs_gitrepo_opts {
    const char *uri;
    const char *basedir;       /* NULL → a private temporary directory */
    int remove_basedir;        /* remove `basedir` at close (a mirror made for one {application}) */
    const char *default_label; /* NULL → "main" */
    int refresh_s;             /* 0 = fetch only when kicked */
    int timeout_s;             /* of one fetch; 0 → 10 */
    size_t cache_max;          /* unused snapshots kept; 0 → 16 */
    cs_snap_limits_t lim;
    int subdirs;         /* load the config files of sub-folders too (search paths) */
    cs_gitm_cred_t cred; /* taken over by cs_gitrepo_open */
    const clog_t *log;   /* borrowed, may be NULL */
} cs_gitrepo_opts_t;

typedef struct cs_gitsnap cs_gitsnap_t; /* one cached commit snapshot (gitrepo.c) */

typedef struct cs_gitrepo {
    cs_gitm_t m;
    char *basedir; /* owned */
    int own_basedir;
    char *default_label; /* owned */
    int refresh_s;
    int subdirs; /* snapshots hold the sub-folders' config files (search paths) */
    size_t cache_max;
    cs_snap_limits_t lim;
    const clog_t *log;
    pthread_mutex_t mu; /* everything below */
    pthread_cond_t cv;
    cs_gitm_refs_t *refs;      /* owned: the last good fetch's refs */
    cs_gitsnap_t *head, *tail; /* the snapshot cache, most recently used first */
    size_t ncached, cached_bytes;
    unsigned long fetches, failures, builds;
    time_t last_ok_at, last_try_at, error_at;
    char *last_error; /* owned, NULL after a good fetch */
    int64_t next_fetch_ms, last_try_ms;
    int kick, stop, running;
    pthread_t tid;
    void (*on_change)(void *); /* the store's subscriber (after refs changed), or NULL */
    void *on_change_ctx;
} cs_gitrepo_t;

/* Creates the mirror and fetches it once (a start-up that cannot fetch fails unless the
 * basedir already holds a mirror, then served with a warning). Takes o->cred. 0, or -1
 * with `err` filled. */
int cs_gitrepo_open(cs_gitrepo_t *g, cs_gitrepo_opts_t *o, char *err, size_t errlen);
/* Starts the fetcher thread. 0 or -1. */
int cs_gitrepo_start(cs_gitrepo_t *g);
/* Asks for a fetch now (coalesced, rate-limited). */
void cs_gitrepo_kick(cs_gitrepo_t *g);
/* Stops the fetcher and frees everything (no lease may be outstanding). NULL-safe. */
void cs_gitrepo_close(cs_gitrepo_t *g);

/* Makes (or checks) `dir`: a real directory (not a symlink), ours, not writable by others.
 * 0, or -1 with `err`. */
int cs_gitrepo_private_dir(const char *dir, char *err, size_t errlen);
/* Removes the folder `dir` and everything below it (symlinks not followed). */
void cs_gitrepo_rmtree(const char *dir);
/* How Spring names the property sources of `g` (borrowed strings of `g`): its URI, and its
 * work dir — a file: remote's own path, else the basedir. */
cs_srcnames_t cs_gitrepo_names(const cs_gitrepo_t *g);

/* The store port (labels = branches, tags, commit ids). */
cs_store_t cs_gitrepo_store(cs_gitrepo_t *g);

#endif
