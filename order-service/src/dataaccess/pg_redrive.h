/* pg_redrive.h — the dead-letter redrive's transactions (os_redrive_store_port_t of
 * application/ops_ports.h) on PostgreSQL, on the connection pool the HTTP threads share. One
 * transaction per record: the record claimed in "order".dlq_redrives (its primary key makes a
 * record handled at most once, by any replica; a concurrent claim waits for the first one's
 * end and then finds it), the event applied by the projection's own batch store
 * (pg_projstore.h, nested as a savepoint: the same row lock, version guard and statements as
 * the live projection), the outcome written, then one synchronous COMMIT.
 */
#ifndef OS_PG_REDRIVE_H
#define OS_PG_REDRIVE_H

#include "application/ops_ports.h"
#include "pgpool.h"

/* The port view over `pool` (borrowed: it must outlive the port). */
os_redrive_store_port_t os_pgredrive_port(pgpool_t *pool);

#endif
