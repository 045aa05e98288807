/* pg_reconcile.h — the read model's side of the live reconciliation (application/reconcile.h)
 * on PostgreSQL: the checksum of a range of "order".customers (common/pg/pgx_checksum.h, the
 * same function customer-service answers GET /admin/checksum with) and the repair's reset
 * of versions, on the connection pool the HTTP threads share.
 */
#ifndef OS_PG_RECONCILE_H
#define OS_PG_RECONCILE_H

#include "application/reconcile.h"
#include "pgpool.h"

/* The port views over `pool` (borrowed: it must outlive the ports). */
os_sums_port_t os_pgreconcile_sums_port(pgpool_t *pool);
os_rmreset_port_t os_pgreconcile_reset_port(pgpool_t *pool);

#endif
