/* pgpool.h — a small fixed-size pool of libpq connections for the HTTP threads.
 *
 * A libpq connection must not be used by two threads at once; each request borrows one
 * (blocking while all are busy) and gives it back. A connection found broken is reset
 * (PQreset) when it is given back with `broken` set, or lazily on the next borrow.
 */
#ifndef OS_PGPOOL_H
#define OS_PGPOOL_H

#include <stddef.h>

#include <libpq-fe.h>

#include "clog.h"

typedef struct os_pgpool os_pgpool_t;

/* Opens `size` connections to `conninfo` (borrowed, copied), each with up to `attempts`
 * tries. Returns an owned pool or NULL (err says why). `log` borrowed, may be NULL. */
os_pgpool_t *os_pgpool_new(const char *conninfo, int size, int attempts, const clog_t *log, char *err,
                           size_t errlen);
void os_pgpool_free(os_pgpool_t *p); /* NULL-safe; all connections must be returned */

/* Borrows a connection (blocks while all are busy). Never NULL. */
PGconn *os_pgpool_get(os_pgpool_t *p);
/* Returns it; `broken` = 1 when the caller saw a connection failure. */
void os_pgpool_put(os_pgpool_t *p, PGconn *c, int broken);

/* 1 when a trivial query succeeds on a pooled connection (readiness). */
int os_pgpool_ping(os_pgpool_t *p);

#endif
