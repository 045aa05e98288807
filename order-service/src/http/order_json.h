/* order_json.h — JSON <-> order-service commands and answers (jansson).
 *
 * Parses a CreateOrderCommand body ({customerId, restaurantId, price, items[{productId,
 * quantity, price, subTotal}], address{street, postalCode, city}}) into an order_t. Money
 * may be a JSON number or a decimal string; numbers are read back with 15 significant
 * digits (exact for every numeric(10,2) amount), then parsed exactly (domain/money.h).
 * Every structural problem gets a message naming the field ("price is required",
 * "items[1].quantity must be an integer", "price: 1.005 has more than 2 decimals").
 */
#ifndef OS_ORDER_JSON_H
#define OS_ORDER_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "application/ports.h"
#include "domain/order.h"

/* Parses `body` into `o` (zeroed first). On success o->items is malloc'ed (free it with
 * os_order_json_free_items). Returns 0, or -1 with a message in msg. */
int os_order_from_json(const char *body, size_t len, order_t *o, char *msg, size_t msglen);
void os_order_json_free_items(order_t *o);

/* Parses a money value (number or string) named `field`. 0 or -1 + msg. */
int os_money_from_json(const json_t *v, const char *field, money_t *out, char *msg, size_t msglen);

/* {"orderTrackingId","orderStatus","failureMessages":[…]} — new reference. */
json_t *os_order_view_json(const os_order_view_t *v);
/* {"customerId","username","firstName","lastName","version","updatedAt"} — new reference. */
json_t *os_customer_json(const os_customer_t *c);

#endif
