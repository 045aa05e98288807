/* projection.h — the read model's decision rules (domain layer, libc only).
 *
 * The read model "order".customers is a projection of the customer topic. Every event
 * carries the customer's version (1, 2, …); a tombstone (null value) deletes it. The rules:
 *   upsert event, no stored row            → INSERT
 *   upsert event, stored version < event's → UPDATE
 *   upsert event, stored version ≥ event's → SKIP (older or repeated event: no change)
 *   tombstone, stored row                  → DELETE
 *   tombstone, no stored row               → SKIP
 * A batch is planned as a whole: events for the same customer are decided in their topic
 * order against the state left by the previous one, and the batch collapses into at most one
 * net operation per customer (the final row, or its deletion) — so applying the plan in one
 * transaction gives exactly the state of applying the events one by one.
 */
#ifndef OS_PROJECTION_H
#define OS_PROJECTION_H

#include <stddef.h>
#include <stdint.h>

#define PROJ_ID_LEN 36

/* One decoded event (all strings borrowed from whoever decoded it). */
typedef struct proj_event {
    const char *customer_id; /* canonical UUID text */
    int tombstone;           /* 1 = deletion; the fields below are unused */
    int64_t version;
    const char *username;
    const char *first_name;
    const char *last_name;
    int64_t occurred_at_ms; /* 0 when unknown */
} proj_event_t;

/* The stored version of one customer (found = 0 when there is no row). */
typedef struct proj_stored {
    char customer_id[PROJ_ID_LEN + 1];
    int found;
    int64_t version;
} proj_stored_t;

typedef enum {
    PROJ_INSERT = 0,
    PROJ_UPDATE,
    PROJ_DELETE,
    PROJ_SKIP_STALE,  /* older or repeated version */
    PROJ_SKIP_ABSENT, /* tombstone for a customer that has no row */
} proj_decision_t;

typedef enum { PROJ_OP_UPSERT = 0, PROJ_OP_DELETE } proj_op_kind_t;

/* One net change to the read model. */
typedef struct proj_op {
    proj_op_kind_t kind;
    const proj_event_t *ev; /* UPSERT: the event whose values become the row (borrowed);
                               DELETE: the tombstone */
    int had_row;            /* 1 when a row existed before the batch */
} proj_op_t;

/* Longest username/first/last name the read model accepts (bytes). */
#define PROJ_TEXT_MAX 1024

/* Checks that an event can be stored at all: the id is a canonical UUID, an upsert has a
 * version ≥ 1 and non-NULL names that are valid UTF-8 of at most PROJ_TEXT_MAX bytes.
 * Returns 1, or 0 with the reason in msg (such an event goes to the dead-letter topic
 * instead of blocking the projection). */
int proj_event_valid(const proj_event_t *ev, char *msg, size_t msglen);

/* The rule for one event against one stored state. */
proj_decision_t proj_decide(int found, int64_t stored_version, const proj_event_t *ev);

/* "insert", "update", "delete", "skip-stale", "skip-absent". */
const char *proj_decision_name(proj_decision_t d);

/* Plans a batch of `n` events (in topic order). `stored` lists the stored state of the
 * batch's customers (any order; a customer missing from it counts as not found).
 * Writes one decision per event into decisions[n] and the net operations into ops (room
 * for n), their count in *nops (ops are sorted by customer id). Returns 0, or -1 when
 * out of memory (nothing written). */
int proj_plan(const proj_event_t *events, size_t n, const proj_stored_t *stored, size_t nstored,
              proj_decision_t *decisions, proj_op_t *ops, size_t *nops);

/* The distinct customer ids of a batch: writes up to n borrowed pointers into ids
 * (sorted) and returns their count, or -1 when out of memory. */
long proj_distinct_ids(const proj_event_t *events, size_t n, const char **ids);

#endif
