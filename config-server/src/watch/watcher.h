/* watcher.h — keeps the repository snapshot fresh: an inotify watch on the repo root and
 * its label directories (any change → reload after a 50 ms quiet period) plus a periodic
 * rescan as a fallback (network filesystems, missed events, ConfigMap symlink swaps).
 * Runs on its own thread; cs_watch_stop wakes it through a pipe and joins it.
 */
#ifndef CS_WATCHER_H
#define CS_WATCHER_H

#include <pthread.h>

#include "repo/repo.h"

typedef struct cs_watch {
    cs_repo_t *repo; /* borrowed */
    int rescan_ms;
    int ifd;     /* inotify fd or -1 */
    int wake[2]; /* stop pipe */
    pthread_t tid;
    int running;
} cs_watch_t;

/* Starts the watcher thread. `rescan_ms` <= 0 → 2000. Returns 0 or -1. */
int cs_watch_start(cs_watch_t *w, cs_repo_t *repo, int rescan_ms);
/* Stops and joins. Safe on a watcher that failed to start. */
void cs_watch_stop(cs_watch_t *w);

#endif
