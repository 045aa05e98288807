/* projection_svc.h — applies one batch of customer events to the read model (application
 * layer): in ONE store transaction, load the stored versions of the batch's customers,
 * plan (domain/projection.h), apply the net operations and store the next offsets. Used by
 * the live projector (messaging/projector.c) and by the rebuild (into a shadow table).
 */
#ifndef OS_PROJECTION_SVC_H
#define OS_PROJECTION_SVC_H

#include <stddef.h>

#include "application/ports.h"

typedef struct os_proj_stats {
    size_t events;
    size_t inserted, updated, deleted, skipped_stale, skipped_absent;
    size_t ops; /* net row operations written */
} os_proj_stats_t;

/* Applies `n` events (topic order; may be 0 when only offsets move) and the offsets
 * (`noffs` entries for `topic`; skipped when the store has no save_offsets) atomically.
 * Returns 0 (committed; `stats` accumulated when not NULL), or -1 (rolled back, nothing
 * changed; err says why). */
int os_projection_apply(const os_projstore_port_t *store, const char *topic, const proj_event_t *evs,
                        size_t n, const os_offset_t *offs, size_t noffs, os_proj_stats_t *stats, char *err,
                        size_t errlen);

#endif
