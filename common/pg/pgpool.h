/* pgpool.h — a small blocking PostgreSQL connection pool for the services' request threads.
 *
 * A libpq connection must not be used by two threads at once: each request borrows one and
 * gives it back. Connections are opened lazily (up to `size`), handed out exclusively, and
 * closed when they come back broken (the next borrow reconnects), so the pool recovers by
 * itself after a database restart. The services write: a connection whose server is (or
 * became) a hot standby is never lent, and an idle one whose server closed it is
 * reconnected before it is lent (pgx_idle_usable), so after a failover the pool moves to
 * the promoted standby (a multi-host conninfo with target_session_attrs=read-write) without
 * failing one request per pooled connection. When a connection attempt fails the pool
 * marks the database down for 500 ms: the idle connections are closed (behind a cut
 * network path they would hang their next request), callers without a connection fail at
 * once instead of queueing behind connect timeouts, and one caller at a time reconnects;
 * the first success (or a connection coming back healthy) clears it. Server notices go to the log.
 */
#ifndef CQ_PGPOOL_H
#define CQ_PGPOOL_H

#include <libpq-fe.h>

#include "clog.h"

typedef struct pgpool pgpool_t;

/* `conninfo` and `log` are borrowed (must outlive the pool). Owned result or NULL. */
pgpool_t *pgpool_new(const char *conninfo, int size, const clog_t *log);
/* Closes every connection. Connections must have been returned. NULL-safe. */
void pgpool_free(pgpool_t *p);

/* A connection in CONNECTION_OK state, waiting up to timeout_ms for a free one; NULL when
 * none could be had (the database is down or the pool exhausted). Borrowed until
 * pgpool_put. */
PGconn *pgpool_get(pgpool_t *p, int timeout_ms);
/* Returns a connection; `broken` (or a bad status) closes it so the next get reconnects. */
void pgpool_put(pgpool_t *p, PGconn *c, int broken);

/* 1 when a connection answers "SELECT 1" (readiness), or one came back healthy from a
 * request within the last 2 s. */
int pgpool_ping(pgpool_t *p);

#endif
