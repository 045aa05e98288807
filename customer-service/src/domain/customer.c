/* customer.c — the Customer aggregate's invariants. See customer.h. libc only. */
#include "customer.h"

#include "utf8text.h"
#include "uuidtext.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static customer_rule_t customer_fail(customer_violation_t *v, const char *field, customer_rule_t r,
                                     const char *msg)
{
    if (v != NULL) {
        v->field = field;
        v->rule = r;
        snprintf(v->message, sizeof v->message, "%s %s", field, msg);
    }
    return r;
}

customer_rule_t customer_check_name(const char *field, const char *value, customer_violation_t *v)
{
    const unsigned char *p = (const unsigned char *)value;
    size_t n, chars = 0, i = 0;
    int blank = 1;

    if (value == NULL || *value == '\0')
        return customer_fail(v, field, CUSTOMER_E_REQUIRED, "is required and must not be empty");
    n = strlen(value);
    while (i < n) {
        unsigned cp = 0;
        size_t k = utf8text_next(p + i, n - i, &cp);
        if (k == 0)
            return customer_fail(v, field, CUSTOMER_E_ENCODING, "is not valid UTF-8");
        if (cp < 0x20 || cp == 0x7F)
            return customer_fail(v, field, CUSTOMER_E_ENCODING, "must not contain control characters");
        if (!(cp == ' ' || cp == 0xA0 || cp == 0x3000 || (cp >= 0x2000 && cp <= 0x200B)))
            blank = 0;
        chars++;
        i += k;
    }
    if (chars > CUSTOMER_NAME_MAX_CHARS || n > CUSTOMER_NAME_MAX_BYTES)
        return customer_fail(v, field, CUSTOMER_E_TOO_LONG, "must be at most 100 characters long");
    if (blank)
        return customer_fail(v, field, CUSTOMER_E_BLANK, "must not be blank");
    return CUSTOMER_OK;
}

static customer_rule_t customer_check_all(const char *username, const char *first_name, const char *last_name,
                                          customer_violation_t *v)
{
    customer_rule_t r;
    if ((r = customer_check_name("username", username, v)) != CUSTOMER_OK ||
        (r = customer_check_name("firstName", first_name, v)) != CUSTOMER_OK ||
        (r = customer_check_name("lastName", last_name, v)) != CUSTOMER_OK)
        return r;
    return CUSTOMER_OK;
}

customer_rule_t customer_create(customer_t *c, const char *id, const char *username, const char *first_name,
                                const char *last_name, int64_t now_ms, customer_violation_t *v)
{
    customer_rule_t r;
    char nid[CUSTOMER_ID_LEN + 1];
    if (id == NULL || *id == '\0')
        return customer_fail(v, "customerId", CUSTOMER_E_REQUIRED, "is required");
    if (uuidtext_normalize(id, nid) != 0)
        return customer_fail(v, "customerId", CUSTOMER_E_UUID,
                             "must be a UUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6");
    if ((r = customer_check_all(username, first_name, last_name, v)) != CUSTOMER_OK)
        return r;
    memset(c, 0, sizeof *c);
    memcpy(c->id, nid, sizeof nid);
    snprintf(c->username, sizeof c->username, "%s", username);
    snprintf(c->first_name, sizeof c->first_name, "%s", first_name);
    snprintf(c->last_name, sizeof c->last_name, "%s", last_name);
    c->version = 1;
    c->created_at_ms = c->updated_at_ms = now_ms;
    return CUSTOMER_OK;
}

customer_rule_t customer_update(customer_t *c, const char *username, const char *first_name,
                                const char *last_name, int64_t now_ms, customer_violation_t *v)
{
    customer_rule_t r = customer_check_all(username, first_name, last_name, v);
    if (r != CUSTOMER_OK)
        return r;
    snprintf(c->username, sizeof c->username, "%s", username);
    snprintf(c->first_name, sizeof c->first_name, "%s", first_name);
    snprintf(c->last_name, sizeof c->last_name, "%s", last_name);
    c->version++;
    c->updated_at_ms = now_ms;
    return CUSTOMER_OK;
}

void customer_event_of(customer_event_t *ev, customer_event_type_t type, const customer_t *c, int64_t now_ms)
{
    ev->type = type;
    ev->customer = *c;
    ev->occurred_at_ms = now_ms;
    ev->traceparent = NULL;
}

const char *customer_event_type_name(customer_event_type_t t)
{
    switch (t) {
    case CUSTOMER_EV_CREATED:
        return "CREATED";
    case CUSTOMER_EV_UPDATED:
        return "UPDATED";
    case CUSTOMER_EV_DELETED:
        return "DELETED";
    }
    return "UNKNOWN";
}
