/* changes.h — an in-process change counter (mutex + condition variable) implementing
 * os_changes_port_t: the projector bumps it after each commit, create-order waits on it.
 */
#ifndef OS_CHANGES_H
#define OS_CHANGES_H

#include "application/ports.h"

typedef struct os_changes os_changes_t;

/* Owned (os_changes_free); NULL on failure. */
os_changes_t *os_changes_new(void);
void os_changes_free(os_changes_t *c); /* NULL-safe */
/* The port view of `c` (borrowed: valid while c lives). */
os_changes_port_t os_changes_port(os_changes_t *c);

#endif
