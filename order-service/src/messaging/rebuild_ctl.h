/* rebuild_ctl.h — runs at most one read-model rebuild at a time on a background thread (for
 * the admin endpoint) and reports its state: the os_rebuild_port_t of
 * application/worker_ports.h, which the HTTP layer drives and renders. */
#ifndef OS_REBUILD_CTL_H
#define OS_REBUILD_CTL_H

#include "application/worker_ports.h"
#include "messaging/rebuild.h"

typedef struct os_rebuild_ctl os_rebuild_ctl_t;

/* `opts` is copied; its strings, store and codec are borrowed. Owned result or NULL. */
os_rebuild_ctl_t *os_rebuild_ctl_new(const os_rebuild_opts_t *opts);
/* Cancels a running rebuild, joins, frees. NULL-safe. */
void os_rebuild_ctl_free(os_rebuild_ctl_t *c);
/* Starts a rebuild. Returns 1 started, 0 one is already running, -1 error. */
int os_rebuild_ctl_start(os_rebuild_ctl_t *c);
/* The state ("idle", "running", "succeeded", "failed"), the last run's figures and error. */
void os_rebuild_ctl_status(os_rebuild_ctl_t *c, os_rebuild_status_t *out);
/* The port view (borrowed: valid while `c` lives; c NULL → a port with self NULL). */
os_rebuild_port_t os_rebuild_ctl_port(os_rebuild_ctl_t *c);

#endif
