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

/* `base` with " key='value'" appended, the value escaped as pgx_conninfo escapes it (NULL or
 * "" value: a copy of `base`). Returns a malloc'ed string; `base` stays the caller's. */
char *pgx_conninfo_append(const char *base, const char *key, const char *value);

/* ---- several servers (a primary and its standbys) ----
 * libpq takes comma lists, host=a,b port=p1,p2, tries them in order and, with
 * target_session_attrs=read-write, keeps only a server that accepts writes: after a
 * failover a new connection finds the promoted standby by itself. */

/* Checks a datasource address: `hosts` a comma list of non-empty host names (or socket
 * directories), `ports` one port for all or one per host, each 1..65535. Returns 0, or -1
 * with err saying what is wrong. */
int pgx_check_hosts(const char *hosts, const char *ports, char *err, size_t errlen);

/* 1 when `v` is a libpq target_session_attrs value: any, read-write, read-only, primary,
 * standby, prefer-standby. */
int pgx_target_attrs_ok(const char *v);

/* 1 when a failure means the server is unavailable to writes rather than the statement
 * being wrong: the connection broke (`c` not CONNECTION_OK), or the SQLSTATE of `r` is a
 * connection exception (class 08), an operator intervention that ends sessions (57P01
 * admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now), 25006 (a read-only
 * transaction: the server is a standby) or 53300 (too many connections). Callers answer
 * 503 and drop the connection. */
int pgx_unavailable(const PGresult *r, const PGconn *c);

/* 1 when the server of `c` reported it is a hot standby (in_hot_standby, PostgreSQL 14+;
 * updated when libpq reads the server's messages). */
int pgx_on_standby(const PGconn *c);

/* 1 when the idle connection `c` can be lent out: CONNECTION_OK, not on a standby, and
 * nothing pending on its socket says the server closed it (a crashed or stopped server
 * closes its sockets; reading that now spares a request the failed round trip). Reads
 * what the socket holds without blocking. */
int pgx_idle_usable(PGconn *c);

#endif
