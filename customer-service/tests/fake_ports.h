/* fake_ports.h — in-memory fakes of customer-service's application ports (repository
 * with an outbox log, encoder, id generator, clock) for unit tests. No I/O. */
#ifndef CS_FAKE_PORTS_H
#define CS_FAKE_PORTS_H

#include "application/customer_app.h"

#define MAXC 16

typedef struct fake_outbox {
    char id[CUSTOMER_ID_LEN + 1];
    int64_t version;
    customer_event_type_t type;
    int tombstone;
    char payload[64];
    char traceparent[64]; /* "" when none */
} fake_outbox_t;

typedef struct fake_repo {
    customer_t rows[MAXC];
    int used[MAXC];
    fake_outbox_t outbox[64];
    int nout;
    repo_rc_t force;        /* when not REPO_OK, every write returns it */
    int bump_before_update; /* simulate a concurrent writer: n times */
} fake_repo_t;

typedef struct fx {
    fake_repo_t repo;
    int64_t clock;
    int idn;
    customer_app_t app;
} fx_t;

/* A zeroed fixture with every port wired to the fakes (caller frees). */
fx_t *fx_new(void);

#endif
