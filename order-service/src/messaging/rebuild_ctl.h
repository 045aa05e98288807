/* rebuild_ctl.h — runs at most one read-model rebuild at a time on a background thread
 * (for the admin endpoint) and reports its state. */
#ifndef OS_REBUILD_CTL_H
#define OS_REBUILD_CTL_H

#include <jansson.h>

#include "messaging/rebuild.h"

typedef struct os_rebuild_ctl os_rebuild_ctl_t;

/* `opts` is copied; its strings and codec are borrowed. Owned result or NULL. */
os_rebuild_ctl_t *os_rebuild_ctl_new(const os_rebuild_opts_t *opts);
/* Cancels a running rebuild, joins, frees. NULL-safe. */
void os_rebuild_ctl_free(os_rebuild_ctl_t *c);
/* Starts a rebuild. Returns 1 started, 0 one is already running, -1 error. */
int os_rebuild_ctl_start(os_rebuild_ctl_t *c);
/* {"state":"idle|running|succeeded|failed","events","rows","poison","elapsedMs","swapMs",
 *  "error"} — new reference. */
json_t *os_rebuild_ctl_status(os_rebuild_ctl_t *c);

#endif
