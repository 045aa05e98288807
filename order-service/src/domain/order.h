/* order.h — the Order aggregate of order-service (domain layer, libc only).
 *
 * An order as the client asked for it (customer, restaurant, total price, items, delivery
 * address), its validation with the seed's messages, and its status. Money is exact
 * (money.h). Identifiers are canonical UUID text (36 chars + NUL).
 */
#ifndef OS_ORDER_H
#define OS_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "money.h"

#define ORDER_UUID_LEN 36
#define ORDER_STREET_MAX 50
#define ORDER_POSTAL_CODE_MAX 10
#define ORDER_CITY_MAX 50
/* Bytes to hold a text of n characters (UTF-8: up to 4 bytes each) and its NUL. */
#define ORDER_TEXT_BYTES(n) ((n)*4 + 1)
#define ORDER_MAX_ITEMS 1000
#define ORDER_QUANTITY_MAX 1000000
/* Room for any validation message (ids, amounts and fixed text). */
#define ORDER_MSG_MAX 256

typedef enum {
    ORDER_PENDING = 0,
    ORDER_PAID,
    ORDER_APPROVED,
    ORDER_CANCELLED,
    ORDER_CANCELLING,
} order_status_t;

typedef struct order_item {
    char product_id[ORDER_UUID_LEN + 1];
    int64_t quantity;
    money_t price;
    money_t sub_total;
} order_item_t;

typedef struct order_address {
    char street[ORDER_TEXT_BYTES(ORDER_STREET_MAX)];
    char postal_code[ORDER_TEXT_BYTES(ORDER_POSTAL_CODE_MAX)];
    char city[ORDER_TEXT_BYTES(ORDER_CITY_MAX)];
} order_address_t;

typedef struct order {
    char id[ORDER_UUID_LEN + 1];          /* set by order_initialize */
    char tracking_id[ORDER_UUID_LEN + 1]; /* set by order_initialize */
    char customer_id[ORDER_UUID_LEN + 1];
    char restaurant_id[ORDER_UUID_LEN + 1];
    money_t price;
    order_item_t *items; /* owned by whoever built the order */
    size_t n_items;
    order_address_t address;
    order_status_t status;
} order_t;

typedef enum {
    ORDER_OK = 0,
    ORDER_EINVALID, /* the request breaks a rule; the message says which */
} order_err_t;

/* Copies a text field of `len` bytes into `dst` (ORDER_TEXT_BYTES(cap) bytes) after
 * checking it is valid UTF-8 without NULs, non-empty (not only blanks) and at most `cap`
 * characters — as the varchar(cap) column counts. Returns 0, or -1 with msg set, e.g.
 * "address.street must not be empty" / "address.city must be at most 50 characters". */
int order_set_text(char *dst, size_t cap, const char *field, const char *src, size_t len, char *msg,
                   size_t msglen);

/* Checks the order's invariants, in the seed's order where it had one:
 * ids are UUIDs, the address is complete, the total price is > 0 ("Total price must be
 * greater than zero!"), each item has a quantity ≥ 1 and a price > 0 with
 * price × quantity = subTotal ("Order item price: <p> is not valid for product <id>"),
 * and the subTotals add up to the price ("Total price: <p> is not equal to Order items
 * total: <sum>!"). Returns ORDER_OK or ORDER_EINVALID with the message in msg. */
order_err_t order_validate(const order_t *o, char *msg, size_t msglen);

/* Sets the new order's id, tracking id and status PENDING (ids borrowed, copied). */
void order_initialize(order_t *o, const char *id, const char *tracking_id);

/* "PENDING", "PAID", ... */
const char *order_status_name(order_status_t s);
/* Parses a status name; returns -1 when unknown. */
int order_status_parse(const char *name);

#endif
