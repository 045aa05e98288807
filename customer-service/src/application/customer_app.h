/* customer_app.h — customer-service's application layer: the command handlers (create,
 * update, delete) and the query (get), and the ports they drive.
 *
 * Ports are ops-structs with a context pointer; the adapters live in dataaccess/ (the
 * repository), messaging/ (the event encoder) and main.c (clock, id generator). Tests use
 * fakes. The repository writes the customer row AND the event's outbox row in one
 * transaction — that is what makes the event impossible to lose.
 */
#ifndef CS_CUSTOMER_APP_H
#define CS_CUSTOMER_APP_H

#include <stddef.h>
#include <stdint.h>

#include "domain/customer.h"

typedef enum {
    REPO_OK = 0,
    REPO_NOT_FOUND,    /* no such customer */
    REPO_DUP_ID,       /* insert: the id exists */
    REPO_DUP_USERNAME, /* insert/update: another customer has the username */
    REPO_CONFLICT,     /* update/remove: the stored version is not the expected one */
    REPO_UNAVAILABLE,  /* the database cannot be reached / no connection */
    REPO_ERROR         /* anything else */
} repo_rc_t;

typedef struct customer_repo_ops {
    /* Inserts `c` and an outbox row for `ev` with `payload` (framed Avro, borrowed). */
    repo_rc_t (*insert)(void *self, const customer_t *c, const customer_event_t *ev,
                        const unsigned char *payload, size_t len);
    /* Stores `c` (whose version is expected_version + 1) only if the stored version is
     * expected_version, plus the outbox row. */
    repo_rc_t (*update)(void *self, const customer_t *c, int64_t expected_version, const customer_event_t *ev,
                        const unsigned char *payload, size_t len);
    /* Deletes customer `id` if its stored version is expected_version, plus an outbox
     * tombstone row (NULL payload) for `ev`. */
    repo_rc_t (*remove)(void *self, const char *id, int64_t expected_version, const customer_event_t *ev);
    /* Reads customer `id` into *out. */
    repo_rc_t (*find)(void *self, const char *id, customer_t *out);
} customer_repo_ops_t;

typedef struct customer_repo {
    const customer_repo_ops_t *ops;
    void *self;
} customer_repo_t;

/* Encodes an event's value (framed Avro). Returns 0 with *out malloc'ed (caller frees). */
typedef struct customer_encoder_ops {
    int (*encode)(void *self, const customer_event_t *ev, unsigned char **out, size_t *len);
} customer_encoder_ops_t;

typedef struct customer_encoder {
    const customer_encoder_ops_t *ops;
    void *self;
} customer_encoder_t;

typedef struct customer_idgen_ops {
    void (*new_id)(void *self, char out[CUSTOMER_ID_LEN + 1]); /* lower-case UUID */
} customer_idgen_ops_t;

typedef struct customer_idgen {
    const customer_idgen_ops_t *ops;
    void *self;
} customer_idgen_t;

typedef struct customer_clock_ops {
    int64_t (*now_ms)(void *self); /* Unix epoch milliseconds */
} customer_clock_ops_t;

typedef struct customer_clock {
    const customer_clock_ops_t *ops;
    void *self;
} customer_clock_t;

typedef struct customer_app {
    customer_repo_t repo;
    customer_encoder_t encoder;
    customer_idgen_t idgen;
    customer_clock_t clock;
} customer_app_t;

typedef enum {
    APP_OK = 0,
    APP_INVALID,      /* 400: a field broke a rule (see violation) */
    APP_NOT_FOUND,    /* 404 */
    APP_CONFLICT,     /* 409: duplicate id or username, or concurrent changes kept winning (see detail) */
    APP_PRECONDITION, /* 412: If-Match version does not match */
    APP_UNAVAILABLE,  /* 503: database unreachable */
    APP_ERROR         /* 500 */
} app_rc_t;

typedef struct customer_cmd {
    const char *id; /* create: optional (NULL → generated); update/delete: required */
    const char *username;
    const char *first_name;
    const char *last_name;
    int64_t if_match;        /* expected current version, or -1 for "any" */
    const char *traceparent; /* W3C trace context of the request (NULL: none), stored with the outbox row */
} customer_cmd_t;

typedef struct customer_result {
    app_rc_t rc;
    customer_t customer;            /* the state after the command (or found by get) */
    customer_violation_t violation; /* rc == APP_INVALID */
    char detail[640];               /* a human-readable explanation for every non-OK rc */
} customer_result_t;

app_rc_t customer_app_create(const customer_app_t *app, const customer_cmd_t *cmd, customer_result_t *res);
app_rc_t customer_app_update(const customer_app_t *app, const customer_cmd_t *cmd, customer_result_t *res);
app_rc_t customer_app_delete(const customer_app_t *app, const customer_cmd_t *cmd, customer_result_t *res);
app_rc_t customer_app_get(const customer_app_t *app, const char *id, customer_result_t *res);

#endif
