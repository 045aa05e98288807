/* pg_ops.h — the operations API's reads and writes of order-service's own schema
 * (os_opsdb_port_t of application/ops_ports.h) on the connection pool the HTTP threads share:
 * the projection's stored positions and the history of their moves. */
#ifndef OS_PG_OPS_H
#define OS_PG_OPS_H

#include "application/ops_ports.h"
#include "pgpool.h"

/* The port view over `pool` (borrowed: it must outlive the port). */
os_opsdb_port_t os_pg_ops_port(pgpool_t *pool);

#endif
