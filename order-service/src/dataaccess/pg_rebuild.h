/* pg_rebuild.h — the rebuild's store (os_rebuild_store_port_t) on PostgreSQL: a session of its
 * own per rebuild, the session-level advisory lock that allows one rebuild at a time per
 * database (CLI and the admin endpoint of every replica share the shadow table), the shadow
 * table "order".customers_rebuild (UNLOGGED while filled, LOGGED before the swap) written
 * through the projection store (pg_projstore.h) with the versions kept in memory
 * (vcache.h), and the swap: in one transaction, lock the live table and the offsets, rename
 * the shadow into place, drop the old table.
 */
#ifndef OS_PG_REBUILD_H
#define OS_PG_REBUILD_H

#include <stddef.h>

#include "application/worker_ports.h"
#include "clog.h"

typedef struct os_pgrebuild os_pgrebuild_t;

/* `conninfo` and `log` are borrowed and must outlive the store. Owned, or NULL (out of
 * memory). Nothing is connected before open. */
os_pgrebuild_t *os_pgrebuild_new(const char *conninfo, const clog_t *log);
/* Closes an open session and frees. NULL-safe. */
void os_pgrebuild_free(os_pgrebuild_t *s);
/* The port view (borrowed: valid while `s` lives). */
os_rebuild_store_port_t os_pgrebuild_port(os_pgrebuild_t *s);

#endif
