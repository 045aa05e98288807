/* pgx.h — PostgreSQL helpers shared by customer-service and order-service (libpq).
 *
 * Connecting with bounded retry, running a statement and reading its SQLSTATE, and
 * applying a service's versioned SQL migrations exactly once. Migrations are embedded
 * files (embed.h) named NNN_description.sql, applied in name order, each in its own
 * transaction, recorded in public.cq_schema_migrations(component, version, applied_at);
 * concurrent starters serialise on an advisory lock. Nothing here ever drops data.
 */
#ifndef CQ_PGX_H
#define CQ_PGX_H

#include <stddef.h>

#include <libpq-fe.h>

#include "clog.h"
#include "embed.h"

/* Connects to `conninfo`, trying up to `attempts` times (≥ 1) with a growing pause
 * (0.2 s doubling to 2 s). Returns an owned connection (PQfinish it) or NULL after
 * logging the last error. Server notices go to `log` (debug), which must outlive the
 * connection. */
PGconn *pgx_connect(const char *conninfo, int attempts, const clog_t *log);
/* pgx_connect that gives up (NULL, nothing logged) as soon as `stop` (may be NULL)
 * returns non-zero, checked between attempts and every 100 ms of a pause — a service's
 * start-up passes svc_stop_pending so SIGTERM is not held up by the database wait. */
PGconn *pgx_connect_until(const char *conninfo, int attempts, const clog_t *log, int (*stop)(void));

/* Routes the server's NOTICE/WARNING messages on `c` into `log` (debug level) instead of
 * libpq's default print to stderr, which would break the JSON-lines log. `log` must outlive
 * the connection; NULL leaves libpq's default. */
void pgx_route_notices(PGconn *c, const clog_t *log);

/* Runs `sql` (no parameters, no rows expected). Returns 0, or -1 with the server's
 * message copied into err (may be NULL). */
int pgx_exec(PGconn *c, const char *sql, char *err, size_t errlen);

/* The failure convention of the libpq adapters: writes "<what>: <message>" into err (the
 * result's error message, or the connection's when the result has none; trailing newlines
 * trimmed), PQclears `r` (may be NULL) and returns -1. */
int pgx_fail(PGresult *r, PGconn *c, const char *what, char *err, size_t errlen);

/* The SQLSTATE of a failed result ("23505" for unique_violation …), or "" when none. */
const char *pgx_sqlstate(const PGresult *r);

/* Applies the migrations in `files` that `component` has not applied yet. Returns the
 * number applied (≥ 0), or -1 after logging which file failed and why (that file's
 * transaction is rolled back; earlier ones stay). */
int pgx_migrate(PGconn *c, const char *component, const embed_file_t *files, const clog_t *log);

/* Escapes conninfo values: builds "host=… port=… user=… password=… dbname=…" from parts
 * (any may be NULL to leave it out). Returns a malloc'ed string. */
char *pgx_conninfo(const char *host, const char *port, const char *user, const char *password,
                   const char *dbname);

#endif
