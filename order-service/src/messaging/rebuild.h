/* rebuild.h — rebuilds the customer read model from the topic (the seed's replay).
 *
 * 1. Create an empty shadow table "order".customers_rebuild.
 * 2. Consume every partition from the beginning with a fresh consumer (assign, a one-off
 *    group id, nothing committed) and apply the events to the shadow table with the same
 *    rules as the live projection, until every partition reached the high watermark
 *    read at the start.
 * 3. Swap in ONE transaction: lock the live table and the stored offsets (the live
 *    projector pauses; reads continue from the old table), catch the shadow up to the live
 *    projector's stored offsets (so it holds at least everything the live table holds),
 *    rename the shadow into place, drop the old table, commit. The live projector then
 *    continues from its stored offsets on the new table; re-applying events the shadow
 *    already has changes nothing (versions).
 * Poison messages are skipped (the live projection already dead-lettered them).
 * PostgreSQL is reached only through the store port (application/worker_ports.h;
 * dataaccess/pg_rebuild.h implements it); the topic is read with a consumer of its own.
 */
#ifndef OS_REBUILD_H
#define OS_REBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "application/worker_ports.h"
#include "clog.h"
#include "evcodec.h"
#include "kfk.h"

typedef struct os_rebuild_opts {
    const kfk_client_t *kafka; /* the shared client settings (borrowed) */
    const char *topic;
    const char *group_prefix;      /* the one-off group id is "<prefix>-rebuild-<pid>-<ms>" */
    os_rebuild_store_port_t store; /* borrowed; one rebuild at a time uses it */
    const kfk_kv_t *consumer_kv;   /* extra consumer keys (auto-offset-reset etc. ignored) */
    size_t n_consumer_kv;
    int batch_max;              /* ≤ 0 → 5000 */
    const evcodec_t *codec;     /* borrowed */
    const clog_t *log;          /* borrowed */
    const volatile int *cancel; /* optional: non-zero aborts (shadow dropped) */
} os_rebuild_opts_t;

/* Runs a rebuild to completion (os_rebuild_stats_t: application/worker_ports.h). Returns 0 (swapped), or -1
 * with err (the live table is untouched and the shadow dropped). */
int os_rebuild_run(const os_rebuild_opts_t *o, os_rebuild_stats_t *st, char *err, size_t errlen);

#endif
