/* order.c — order validation (the seed's rules and messages, with exact money) and
 * status names. See order.h. */
#include "order.h"
#include "utf8text.h"
#include "uuidtext.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const order_status_names[] = {"PENDING", "PAID", "APPROVED", "CANCELLED", "CANCELLING"};

int order_set_text(char *dst, size_t cap, const char *field, const char *src, size_t len, char *msg,
                   size_t msglen)
{
    size_t blank = 0;
    if (src == NULL)
        len = 0;
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)src[i]))
            blank++;
    if (len == 0 || blank == len) {
        snprintf(msg, msglen, "%s must not be empty", field);
        return -1;
    }
    if (memchr(src, '\0', len) != NULL) {
        snprintf(msg, msglen, "%s must not contain NUL characters", field);
        return -1;
    }
    long chars = utf8text_chars(src, len);
    if (chars < 0) {
        snprintf(msg, msglen, "%s is not valid UTF-8", field);
        return -1;
    }
    if ((size_t)chars > cap || len > ORDER_TEXT_BYTES(cap) - 1) {
        snprintf(msg, msglen, "%s must be at most %zu characters", field, cap);
        return -1;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

static int order_check_field(const char *v, size_t cap, const char *field, char *msg, size_t msglen)
{
    char tmp[ORDER_TEXT_BYTES(ORDER_STREET_MAX + ORDER_CITY_MAX)];
    size_t len = strnlen(v, ORDER_TEXT_BYTES(cap));
    return order_set_text(tmp, cap, field, v, len, msg, msglen);
}

order_err_t order_validate(const order_t *o, char *msg, size_t msglen)
{
    char a[MONEY_STR_MAX];
    char b[MONEY_STR_MAX];
    money_t sum = money_from_cents(0);

    if (!uuidtext_valid(o->customer_id)) {
        snprintf(msg, msglen, "customerId must be a UUID");
        return ORDER_EINVALID;
    }
    if (!uuidtext_valid(o->restaurant_id)) {
        snprintf(msg, msglen, "restaurantId must be a UUID");
        return ORDER_EINVALID;
    }
    if (order_check_field(o->address.street, ORDER_STREET_MAX, "address.street", msg, msglen) ||
        order_check_field(o->address.postal_code, ORDER_POSTAL_CODE_MAX, "address.postalCode", msg, msglen) ||
        order_check_field(o->address.city, ORDER_CITY_MAX, "address.city", msg, msglen))
        return ORDER_EINVALID;
    if (!money_is_positive(o->price)) {
        snprintf(msg, msglen, "Total price must be greater than zero!");
        return ORDER_EINVALID;
    }
    if (o->n_items > ORDER_MAX_ITEMS) {
        snprintf(msg, msglen, "An order may have at most %d items", ORDER_MAX_ITEMS);
        return ORDER_EINVALID;
    }
    for (size_t i = 0; i < o->n_items; i++) {
        const order_item_t *it = &o->items[i];
        money_t expect;
        if (!uuidtext_valid(it->product_id)) {
            snprintf(msg, msglen, "items[%zu].productId must be a UUID", i);
            return ORDER_EINVALID;
        }
        if (it->quantity < 1 || it->quantity > ORDER_QUANTITY_MAX) {
            snprintf(msg, msglen, "Order item quantity: %" PRId64 " is not valid for product %s",
                     it->quantity, it->product_id);
            return ORDER_EINVALID;
        }
        if (!money_is_positive(it->price) || money_mul(it->price, it->quantity, &expect) != MONEY_OK ||
            !money_eq(expect, it->sub_total)) {
            snprintf(msg, msglen, "Order item price: %s is not valid for product %s",
                     money_format(it->price, a, sizeof a), it->product_id);
            return ORDER_EINVALID;
        }
        if (money_add(sum, it->sub_total, &sum) != MONEY_OK) {
            snprintf(msg, msglen, "Order items total is too large");
            return ORDER_EINVALID;
        }
    }
    if (!money_eq(sum, o->price)) {
        snprintf(msg, msglen, "Total price: %s is not equal to Order items total: %s!",
                 money_format(o->price, a, sizeof a), money_format(sum, b, sizeof b));
        return ORDER_EINVALID;
    }
    return ORDER_OK;
}

void order_initialize(order_t *o, const char *id, const char *tracking_id)
{
    snprintf(o->id, sizeof o->id, "%s", id);
    snprintf(o->tracking_id, sizeof o->tracking_id, "%s", tracking_id);
    o->status = ORDER_PENDING;
}

const char *order_status_name(order_status_t s)
{
    if ((unsigned)s < sizeof order_status_names / sizeof order_status_names[0])
        return order_status_names[s];
    return "UNKNOWN";
}

int order_status_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof order_status_names / sizeof order_status_names[0]; i++)
        if (strcmp(name, order_status_names[i]) == 0)
            return (int)i;
    return -1;
}
