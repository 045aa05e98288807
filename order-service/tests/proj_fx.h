/* proj_fx.h — customer events for order-service's projection unit tests (test_projection.c,
 * test_projector.c): two customer ids and the builders of an upsert and a tombstone. */
#ifndef OS_PROJ_FX_H
#define OS_PROJ_FX_H

#include <stdint.h>

#include "domain/projection.h"

#define A "00000000-0000-0000-0000-00000000000a"
#define B "00000000-0000-0000-0000-00000000000b"

/* Customer `id` at version `v` with username `name` (first/last name "F"/"L"). */
static inline proj_event_t up(const char *id, int64_t v, const char *name)
{
    proj_event_t e = {id, 0, v, name, "F", "L", 1000};
    return e;
}

/* The tombstone of customer `id`. */
static inline proj_event_t del(const char *id)
{
    proj_event_t e = {id, 1, 0, NULL, NULL, NULL, 0};
    return e;
}

#endif
