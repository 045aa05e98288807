/* customer_pgrepo.h — the PostgreSQL adapter of the customer repository port
 * (application/customer_app.h). Each write is ONE statement (a data-modifying CTE) that
 * changes customer.customers and inserts the event's customer.outbox row, so both commit
 * together or not at all. Thread-safe: connections come from a pgpool. The statements are
 * prepared once per pooled connection (names cs_insert, cs_update, cs_delete, cs_find). */
#ifndef CS_CUSTOMER_PGREPO_H
#define CS_CUSTOMER_PGREPO_H

#include "application/customer_app.h"
#include "clog.h"
#include "pgpool.h"
#include "embed.h"

/* The embedded SQL migrations of customer-service (customer-service/CMakeLists.txt). */
extern const embed_file_t customer_migrations[];

typedef struct customer_pgrepo {
    pgpool_t *pool;    /* borrowed */
    const clog_t *log; /* borrowed */
    int timeout_ms;    /* how long a request waits for a pooled connection */
} customer_pgrepo_t;

/* The port bound to `r` (borrowed; must outlive the port's use). */
customer_repo_t customer_pgrepo_port(customer_pgrepo_t *r);

#endif
