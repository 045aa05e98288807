/* customer.h — the Customer aggregate and its invariants (domain layer: libc only).
 *
 * A customer has a UUID id, a username (unique, enforced by the repository), a first and
 * a last name, and a version that starts at 1 and grows by one with every update.
 *
 * Rules (documented in customer-service/openapi.yaml as well):
 *   - id: canonical UUID text (8-4-4-4-12 hex digits), stored lower-case.
 *   - username, firstName, lastName: required, valid UTF-8, 1..100 characters (Unicode
 *     code points), not blank (only whitespace), no control characters (U+0000..U+001F,
 *     U+007F). Quotes, SQL meta-characters and any other printable text are fine.
 * Every validation failure names the field (its API name, e.g. "firstName") and the rule.
 */
#ifndef CS_CUSTOMER_H
#define CS_CUSTOMER_H

#include <stddef.h>
#include <stdint.h>

#define CUSTOMER_ID_LEN 36
#define CUSTOMER_NAME_MAX_CHARS 100
#define CUSTOMER_NAME_MAX_BYTES (CUSTOMER_NAME_MAX_CHARS * 4)

typedef struct customer {
    char id[CUSTOMER_ID_LEN + 1];
    char username[CUSTOMER_NAME_MAX_BYTES + 1];
    char first_name[CUSTOMER_NAME_MAX_BYTES + 1];
    char last_name[CUSTOMER_NAME_MAX_BYTES + 1];
    int64_t version;       /* 1 after create, +1 per update */
    int64_t created_at_ms; /* Unix epoch ms */
    int64_t updated_at_ms;
} customer_t;

typedef enum {
    CUSTOMER_OK = 0,
    CUSTOMER_E_REQUIRED, /* missing or empty */
    CUSTOMER_E_TOO_LONG, /* more than CUSTOMER_NAME_MAX_CHARS characters */
    CUSTOMER_E_BLANK,    /* only whitespace */
    CUSTOMER_E_ENCODING, /* not valid UTF-8, or contains control characters */
    CUSTOMER_E_UUID      /* not a canonical UUID */
} customer_rule_t;

/* A validation failure: which field (API name, static string) broke which rule, and a
 * human-readable message. */
typedef struct customer_violation {
    const char *field;
    customer_rule_t rule;
    char message[160];
} customer_violation_t;

typedef enum {
    CUSTOMER_EV_CREATED = 0,
    CUSTOMER_EV_UPDATED = 1,
    CUSTOMER_EV_DELETED = 2
} customer_event_type_t;

/* A domain event: the state after the change (for DELETED only id and version are
 * meaningful: version is the deleted customer's last version + 1). */
typedef struct customer_event {
    customer_event_type_t type;
    customer_t customer;
    int64_t occurred_at_ms;
    const char *traceparent; /* the W3C trace context of the command that caused it, kept with the
                                event's outbox row and carried to its record; NULL: none (borrowed) */
} customer_event_t;

/* Checks one name field; returns CUSTOMER_OK or the rule broken (fills v when not NULL). */
customer_rule_t customer_check_name(const char *field, const char *value, customer_violation_t *v);

/* Builds a new customer (version 1, created = updated = now_ms) after checking every
 * field. `id` must already be present (the application generates one when the client gave
 * none). All strings borrowed (copied). Returns CUSTOMER_OK or the first violation. */
customer_rule_t customer_create(customer_t *c, const char *id, const char *username, const char *first_name,
                                const char *last_name, int64_t now_ms, customer_violation_t *v);

/* Applies a full update to `c` (in place, only when every field is valid): new names,
 * version + 1, updated_at = now_ms. Returns CUSTOMER_OK or the first violation. */
customer_rule_t customer_update(customer_t *c, const char *username, const char *first_name,
                                const char *last_name, int64_t now_ms, customer_violation_t *v);

/* The event describing `c`'s current state. */
void customer_event_of(customer_event_t *ev, customer_event_type_t type, const customer_t *c, int64_t now_ms);

/* "CREATED", "UPDATED", "DELETED". */
const char *customer_event_type_name(customer_event_type_t t);

#endif
