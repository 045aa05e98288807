/* pg_projdb.h — the live projection's database session (os_projdb_port_t) on PostgreSQL: one
 * connection owned here, used by the projector's thread only. The batches go through the
 * projection store (pg_projstore.h) on the live table, committing asynchronously
 * (synchronous_commit off: a commit lost to a server crash is lost together with its stored
 * offsets, and the projector re-reads those events from Kafka). A broken connection is
 * re-made (PQreset) when the projector asks for its session; a new server session — a
 * different backend — is reported so that the projector re-reads its position.
 */
#ifndef OS_PG_PROJDB_H
#define OS_PG_PROJDB_H

#include <stddef.h>

#include "application/worker_ports.h"
#include "clog.h"

typedef struct os_pgprojdb os_pgprojdb_t;

/* Connects to `conninfo` (up to 30 attempts, pgx_connect); both strings and `log` are
 * borrowed and must outlive the session. Owned result, or NULL with err. */
os_pgprojdb_t *os_pgprojdb_new(const char *conninfo, const clog_t *log, char *err, size_t errlen);
/* Closes the connection and frees. NULL-safe. */
void os_pgprojdb_free(os_pgprojdb_t *d);
/* The port view (borrowed: valid while `d` lives). */
os_projdb_port_t os_pgprojdb_port(os_pgprojdb_t *d);

#endif
