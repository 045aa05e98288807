/* pg_repos.h — the read-model and order repositories on PostgreSQL (ports.h), sharing a
 * connection pool with the HTTP threads. */
#ifndef OS_PG_REPOS_H
#define OS_PG_REPOS_H

#include "application/ports.h"
#include "pgpool.h"

/* Port views over `pool` (borrowed: it must outlive the ports). */
os_readmodel_port_t os_pg_readmodel_port(pgpool_t *pool);
os_order_repo_port_t os_pg_orders_port(pgpool_t *pool);

#endif
