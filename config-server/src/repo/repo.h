/* repo.h — the live repository: the current snapshot (swapped atomically, read without
 * locks) plus the reload status shown on the health endpoint.
 *
 * Readers: `cs_snap_t *s = cs_repo_enter(r, &tok); … cs_repo_exit(r, tok);` — two atomic
 * increments, no lock; the snapshot stays valid until exit. A reload builds a new
 * snapshot off to the side; if the content hash changed it is published with one atomic
 * exchange and the old one is freed after every reader that could see it has left
 * (a two-counter grace period, as in SRCU). A reload that fails (bad YAML, huge file…)
 * keeps the current snapshot and records the error (health + log).
 */
#ifndef CS_REPO_H
#define CS_REPO_H

#include <pthread.h>
#include <stdatomic.h>

#include <jansson.h>

#include "clog.h"
#include "repo/snapshot.h"
#include "repo/store.h"

typedef struct cs_repo {
    char *root; /* owned */
    cs_snap_limits_t lim;
    const clog_t *log; /* borrowed, may be NULL */
    _Atomic(cs_snap_t *) cur;
    atomic_uint epoch;
    atomic_long readers[2];
    pthread_mutex_t mu; /* guards the fields below and serialises reloads */
    char *last_error;   /* owned, NULL when the last reload succeeded */
    time_t error_at;
    time_t checked_at;
    unsigned long reloads;
    void (*on_change)(void *); /* the store's subscriber (called after a swap), or NULL */
    void *on_change_ctx;
} cs_repo_t;

/* Loads the repository for the first time. Returns 0, or -1 with `err` filled. */
int cs_repo_open(cs_repo_t *r, const char *root, const cs_snap_limits_t *lim, const clog_t *log, char *err,
                 size_t errlen);
/* Frees everything (no reader may be inside). NULL-safe. */
void cs_repo_close(cs_repo_t *r);

/* Enters a read section and returns the current snapshot (borrowed until exit). */
const cs_snap_t *cs_repo_enter(cs_repo_t *r, unsigned *tok);
void cs_repo_exit(cs_repo_t *r, unsigned tok);

/* Re-reads the repository; swaps when the content changed. Returns 1 swapped, 0 same
 * content, -1 error (kept the old snapshot). Thread-safe. */
int cs_repo_reload(cs_repo_t *r);

/* The health details: version, loadedAt, ageSeconds, files, labels, brokenFiles,
 * lastError. New ref. */
json_t *cs_repo_health(cs_repo_t *r, int *degraded);

/* The folder backend as the HTTP layer's store port (labels = overlay directories). */
cs_store_t cs_repo_store(cs_repo_t *r);

#endif
