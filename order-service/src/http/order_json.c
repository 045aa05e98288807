/* order_json.c — CreateOrderCommand parsing and answer rendering. See order_json.h. */
#include "http/order_json.h"
#include "uuidtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int os_money_from_json(const json_t *v, const char *field, money_t *out, char *msg, size_t msglen)
{
    char buf[64];
    const char *txt;
    size_t len;
    if (v == NULL || json_is_null(v)) {
        snprintf(msg, msglen, "%s is required", field);
        return -1;
    }
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        txt = buf;
    } else if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        txt = buf;
    } else if (json_is_string(v)) {
        txt = json_string_value(v);
        if (json_string_length(v) > 40) {
            snprintf(msg, msglen, "%s is not a valid amount", field);
            return -1;
        }
    } else {
        snprintf(msg, msglen, "%s must be a number", field);
        return -1;
    }
    len = strlen(txt);
    switch (money_parse(txt, len, out)) {
    case MONEY_OK:
        return 0;
    case MONEY_ESCALE:
        snprintf(msg, msglen, "%s: %s has more than 2 decimals", field, txt);
        return -1;
    case MONEY_ERANGE:
        snprintf(msg, msglen, "%s: %s is out of range (at most 99999999.99)", field, txt);
        return -1;
    default:
        snprintf(msg, msglen, "%s: '%s' is not a valid amount", field, txt);
        return -1;
    }
}

static int os_uuid_field(const json_t *obj, const char *key, const char *name, char *dst, char *msg,
                         size_t msglen)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        snprintf(msg, msglen, "%s is required", name);
        return -1;
    }
    if (!json_is_string(v) || uuidtext_normalize(json_string_value(v), dst) != 0) {
        snprintf(msg, msglen, "%s must be a UUID", name);
        return -1;
    }
    return 0;
}

static int os_text_field(const json_t *obj, const char *key, const char *name, char *dst, size_t cap,
                         char *msg, size_t msglen)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        snprintf(msg, msglen, "%s is required", name);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(msg, msglen, "%s must be a string", name);
        return -1;
    }
    return order_set_text(dst, cap, name, json_string_value(v), json_string_length(v), msg, msglen);
}

static int os_items_from_json(const json_t *arr, order_t *o, char *msg, size_t msglen)
{
    char name[64];
    if (arr == NULL || json_is_null(arr)) {
        snprintf(msg, msglen, "items is required");
        return -1;
    }
    if (!json_is_array(arr)) {
        snprintf(msg, msglen, "items must be an array");
        return -1;
    }
    size_t n = json_array_size(arr);
    if (n > ORDER_MAX_ITEMS) {
        snprintf(msg, msglen, "An order may have at most %d items", ORDER_MAX_ITEMS);
        return -1;
    }
    o->items = calloc(n ? n : 1, sizeof *o->items);
    if (o->items == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    o->n_items = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *it = json_array_get(arr, i);
        order_item_t *x = &o->items[i];
        if (!json_is_object(it)) {
            snprintf(msg, msglen, "items[%zu] must be an object", i);
            return -1;
        }
        snprintf(name, sizeof name, "items[%zu].productId", i);
        if (os_uuid_field(it, "productId", name, x->product_id, msg, msglen) != 0)
            return -1;
        const json_t *q = json_object_get(it, "quantity");
        if (q == NULL || json_is_null(q)) {
            snprintf(msg, msglen, "items[%zu].quantity is required", i);
            return -1;
        }
        if (!json_is_integer(q)) {
            snprintf(msg, msglen, "items[%zu].quantity must be an integer", i);
            return -1;
        }
        x->quantity = json_integer_value(q);
        snprintf(name, sizeof name, "items[%zu].price", i);
        if (os_money_from_json(json_object_get(it, "price"), name, &x->price, msg, msglen) != 0)
            return -1;
        snprintf(name, sizeof name, "items[%zu].subTotal", i);
        if (os_money_from_json(json_object_get(it, "subTotal"), name, &x->sub_total, msg, msglen) != 0)
            return -1;
    }
    return 0;
}

int os_order_from_json(const char *body, size_t len, order_t *o, char *msg, size_t msglen)
{
    int rc = -1;
    json_error_t je;
    json_t *root = NULL;
    memset(o, 0, sizeof *o);
    if (body == NULL || len == 0) {
        snprintf(msg, msglen, "request body is required (a JSON object)");
        return -1;
    }
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(msg, msglen, "malformed JSON at line %d column %d: %s", je.line, je.column, je.text);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(msg, msglen, "request body must be a JSON object");
        goto cleanup;
    }
    if (os_uuid_field(root, "customerId", "customerId", o->customer_id, msg, msglen) ||
        os_uuid_field(root, "restaurantId", "restaurantId", o->restaurant_id, msg, msglen) ||
        os_money_from_json(json_object_get(root, "price"), "price", &o->price, msg, msglen) ||
        os_items_from_json(json_object_get(root, "items"), o, msg, msglen))
        goto cleanup;
    const json_t *a = json_object_get(root, "address");
    if (a == NULL || json_is_null(a)) {
        snprintf(msg, msglen, "address is required");
        goto cleanup;
    }
    if (!json_is_object(a)) {
        snprintf(msg, msglen, "address must be an object");
        goto cleanup;
    }
    if (os_text_field(a, "street", "address.street", o->address.street, ORDER_STREET_MAX, msg, msglen) ||
        os_text_field(a, "postalCode", "address.postalCode", o->address.postal_code, ORDER_POSTAL_CODE_MAX,
                      msg, msglen) ||
        os_text_field(a, "city", "address.city", o->address.city, ORDER_CITY_MAX, msg, msglen))
        goto cleanup;
    rc = 0;
cleanup:
    if (rc != 0)
        os_order_json_free_items(o);
    json_decref(root);
    return rc;
}

void os_order_json_free_items(order_t *o)
{
    if (o == NULL)
        return;
    free(o->items);
    o->items = NULL;
    o->n_items = 0;
}

json_t *os_order_view_json(const os_order_view_t *v)
{
    json_t *msgs = json_array();
    const char *s = v->failure_messages;
    while (msgs != NULL && s != NULL && *s != '\0') {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n > 0)
            json_array_append_new(msgs, json_stringn(s, n));
        s = comma ? comma + 1 : NULL;
    }
    return json_pack("{s:s,s:s,s:o}", "orderTrackingId", v->tracking_id, "orderStatus",
                     order_status_name(v->status), "failureMessages", msgs);
}

json_t *os_customer_json(const os_customer_t *c)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s?}", "customerId", c->id, "username",
                     c->username ? c->username : "", "firstName", c->first_name ? c->first_name : "",
                     "lastName", c->last_name ? c->last_name : "", "version", (json_int_t)c->version,
                     "updatedAt", c->updated_at[0] ? c->updated_at : NULL);
}
