/* snapshot_pgstore.h — the operations' store (application/snapshot_store.h) on PostgreSQL:
 * re-publishing customers as customer.outbox rows in one transaction per call (the customers
 * locked FOR SHARE, the rows inserted in id order with one multi-row INSERT), the outbox
 * backlog, and the checksum of id ranges (common/pg/pgx_checksum.h over customer.customers).
 * Thread-safe: connections come from the pool the repository uses.
 */
#ifndef CS_SNAPSHOT_PGSTORE_H
#define CS_SNAPSHOT_PGSTORE_H

#include "application/snapshot_store.h"
#include "pgpool.h"

typedef struct snapshot_pgstore {
    pgpool_t *pool; /* borrowed */
} snapshot_pgstore_t;

/* The port bound to `s` (borrowed; must outlive the port's use). */
snapshot_store_t snapshot_pgstore_port(snapshot_pgstore_t *s);

#endif
