/* svc_pg.h — the PostgreSQL part of the glue both services share (common/svc.h has the
 * rest): the libpq conninfo built from the datasource.* keys, the start-up migration, a
 * readiness check over a connection pool, and a one-connection probe. Kept apart so a program without a
 * database (config-server) links no libpq.
 */
#ifndef CQ_SVC_PG_H
#define CQ_SVC_PG_H

#include <stddef.h>

#include "cfgcli.h"
#include "clog.h"
#include "embed.h"

/* The libpq conninfo from datasource.host (localhost; a comma list for a primary and its
 * standbys), .port (5432; one port, or one per host), .user (postgres), .password (none),
 * .dbname (cqrs), .sslmode (prefer; a libpq sslmode), .connect-timeout-s (5, 1..600; per
 * host), .target-session-attrs (any; read-write with several hosts: connect to the one that
 * accepts writes) and .tcp-user-timeout-ms (15000; 0 = the kernel's), with TCP keepalives
 * and application_name=<app>; and the TLS files .sslrootcert (the CA that signed the
 * server's certificate: with sslmode verify-full, the server is authenticated and its name
 * checked), .sslcert + .sslkey (a client certificate), each checked to be readable. Owned
 * string (free) or NULL with err naming the bad key. */
char *svc_conninfo(const cfgcli_t *cfg, const char *app, char *err, size_t errlen);

/* Connects to `conninfo` (up to `attempts` tries a second apart, given up at a SIGTERM or
 * SIGINT), applies the embedded SQL migrations `files` of `app` (pgx_migrate) and
 * disconnects. Returns 0 (logging how many were applied), or -1: after logging why, or
 * without a word when a signal is pending (see svc_stop_requested). */
int svc_migrate(const char *conninfo, const char *app, const embed_file_t *files, int attempts,
                const clog_t *log);

/* One connection to `conninfo` and back (a restart in place's pre-check of a new
 * datasource): 0, or -1 with libpq's reason in err. */
int svc_pg_probe(const char *conninfo, char *err, size_t errlen);

/* A svc_check_t up(): 1 when the pgpool_t `pool` reaches its database (pgpool_ping). */
int svc_pool_up(void *pool);

#endif
