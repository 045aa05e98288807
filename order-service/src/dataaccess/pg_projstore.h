/* pg_projstore.h — the projection's batch store (os_projstore_port_t) on PostgreSQL and the
 * stored offsets' lookup, used on a connection someone else owns: the live projection's
 * session (pg_projdb.h) and the rebuild's (pg_rebuild.h).
 *
 * A batch is one transaction on one dedicated connection: SELECT … FOR UPDATE of the
 * batch's customers (a key lookup each), one INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE for every
 * upsert, one DELETE … = ANY(…) for the deletions, one upsert of the offsets.
 * updated_at is the event's occurredAt, so a rebuild produces identical rows.
 *
 * Round trips: the statements are prepared once per server session and sent in libpq's
 * pipeline mode, so a batch costs two round trips (BEGIN + SELECT; then DELETE, INSERT,
 * offsets and COMMIT together) — or one when the versions come from the cache. An error
 * in any of them surfaces at commit (the rest of the pipeline is skipped by the server)
 * and the transaction is rolled back there.
 */
#ifndef OS_PG_PROJSTORE_H
#define OS_PG_PROJSTORE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "application/ports.h"
#include "dataaccess/pgpipe.h"
#include "dataaccess/vcache.h"

#define OS_TABLE_LIVE "\"order\".customers"
#define OS_TABLE_SHADOW "\"order\".customers_rebuild"

typedef struct os_pgproj {
    PGconn *conn;       /* borrowed; used by one thread only */
    const char *table;  /* OS_TABLE_LIVE or OS_TABLE_SHADOW (static) */
    int nested;         /* 1: batches are savepoints inside the caller's transaction */
    os_vcache_t *cache; /* optional (shadow table only): versions kept in memory instead of
                           read back; updated by apply — the caller aborts on any failure */
    int async_commit;   /* 1: the session commits without waiting for the WAL flush (the
                           live projection: a commit lost to a server crash is lost with its
                           offsets, and those events are read again from Kafka) */
    /* private, zero-initialised: */
    int session_pid; /* backend the statements were prepared on (a reset makes a new one) */
    int begun;       /* BEGIN (or SAVEPOINT) of the current batch is in the pipeline */
    os_pgpipe_t pipe;
} os_pgproj_t;

/* The port view (borrowed: valid while `s` lives). */
os_projstore_port_t os_pgproj_port(os_pgproj_t *s);

/* Prepares the store's statements on s->conn now when this server session does not have
 * them (a batch otherwise does it before its first statement): call it OUTSIDE a transaction
 * when batches are nested in the caller's (nested = 1), since a statement prepared twice
 * fails and would abort that transaction. 0 or -1. */
int os_pgproj_prepare(os_pgproj_t *s, char *err, size_t errlen);

/* Loads the stored offsets of `topic`: up to `cap` entries into out, count in *n.
 * Returns 0 or -1. */
int os_pgproj_load_offsets(PGconn *c, const char *topic, os_offset_t *out, size_t cap, size_t *n, char *err,
                           size_t errlen);

#endif
