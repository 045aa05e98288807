/* outbox_pgstore.h — the outbox relay's store (application/outbox_store.h) on PostgreSQL: one
 * connection of its own, the session-level advisory lock as leadership (PostgreSQL releases
 * it when the session ends, so a killed leader's lock frees itself), LISTEN customer_outbox
 * (a trigger NOTIFYs on insert), the position (customer.outbox_relay, one row) committed
 * with synchronous_commit off, and the read and store statements prepared on the leader's
 * session (cs_relay_fetch, cs_relay_save).
 */
#ifndef CS_OUTBOX_PGSTORE_H
#define CS_OUTBOX_PGSTORE_H

#include "application/outbox_store.h"
#include "clog.h"

typedef struct outbox_pgstore outbox_pgstore_t;

/* `conninfo` and `log` are borrowed and must outlive the store. Nothing is connected before
 * the first lead(). Owned, or NULL (out of memory). */
outbox_pgstore_t *outbox_pgstore_new(const char *conninfo, const clog_t *log);
/* Closes the session and frees. NULL-safe. */
void outbox_pgstore_free(outbox_pgstore_t *s);
/* The port bound to `s` (borrowed: valid while `s` lives). */
outbox_store_t outbox_pgstore_port(outbox_pgstore_t *s);

#endif
