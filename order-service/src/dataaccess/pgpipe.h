/* pgpipe.h — several statements in one round trip with libpq's pipeline mode (PostgreSQL
 * 14+ client library; any server with the extended protocol).
 *
 * Statements are queued with os_pgpipe_send (the connection enters pipeline mode on the
 * first one) and nothing is waited for until os_pgpipe_sync, which sends the Sync, reads
 * every queued statement's result and leaves pipeline mode. After a failing statement the
 * server skips the rest up to the Sync: sync reports the FIRST error. Inside an explicit
 * transaction (BEGIN queued first), the transaction is then in the failed state and the
 * caller rolls it back. Parameters are copied into libpq's output buffer when sent.
 *
 *   os_pgpipe_t p = {conn, 0};
 *   os_pgpipe_send(&p, NULL, "BEGIN", 0, NULL, …);
 *   os_pgpipe_send(&p, "stmt_upsert", NULL, 6, vals, …);   (prepared statement)
 *   os_pgpipe_send(&p, NULL, "COMMIT", 0, NULL, …);
 *   os_pgpipe_sync(&p, &last, "commit", …);                 (last: COMMIT's result)
 */
#ifndef OS_PGPIPE_H
#define OS_PGPIPE_H

#include <stddef.h>

#include <libpq-fe.h>

typedef struct os_pgpipe {
    PGconn *conn; /* borrowed; one thread */
    int queued;   /* statements sent whose results are not read yet */
} os_pgpipe_t;

/* Queues the prepared statement `name` or, when name is NULL, `sql` (one statement), with
 * `n` text parameters. Returns 0, or -1 with err (the connection failed). */
int os_pgpipe_send(os_pgpipe_t *p, const char *name, const char *sql, int n, const char *const *vals,
                   char *err, size_t errlen);

/* Ends the pipeline (see above). With `last` non-NULL and success, *last is the last
 * statement's result, owned by the caller (PQclear); otherwise *last is NULL. `what` names
 * the step in err. Returns 0, or -1 with the first error. The connection is out of
 * pipeline mode afterwards — reset if it could not be brought out of it otherwise. */
int os_pgpipe_sync(os_pgpipe_t *p, PGresult **last, const char *what, char *err, size_t errlen);

/* Ends the pipeline, discarding the results (for an abandoned batch). */
void os_pgpipe_discard(os_pgpipe_t *p);

#endif
