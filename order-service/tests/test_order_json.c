/* test_order_json.c — unit tests of the HTTP layer's pure parts: CreateOrderCommand JSON →
 * order_t (money as numbers or strings, exact; missing/mistyped fields named), answer
 * rendering, and the admin token check (Bearer / Basic, constant-time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/order_json.h"
#include "http/routes.h"
#include "ts.h"

#define CUST "D215B5F8-0249-4DC5-89A3-51FD148CFB41"
#define REST "d215b5f8-0249-4dc5-89a3-51fd148cfb45"
#define PROD "d215b5f8-0249-4dc5-89a3-51fd148cfb48"

static const char *SAMPLE =
    "{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\",\"price\":200.00,"
    "\"items\":[{\"productId\":\"" PROD "\",\"quantity\":1,\"price\":50.00,\"subTotal\":50.00},"
    "{\"productId\":\"" PROD "\",\"quantity\":3,\"price\":\"50\",\"subTotal\":150}],"
    "\"address\":{\"street\":\"street_1\",\"postalCode\":\"1000AB\",\"city\":\"Amsterdam\"}}";

static void test_sample(void **st)
{
    (void)st;
    order_t o;
    char msg[ORDER_MSG_MAX];
    assert_int_equal(os_order_from_json(SAMPLE, strlen(SAMPLE), &o, msg, sizeof msg), 0);
    assert_string_equal(o.customer_id, "d215b5f8-0249-4dc5-89a3-51fd148cfb41"); /* lower-cased */
    assert_int_equal(o.price.cents, 20000);
    assert_int_equal(o.n_items, 2);
    assert_int_equal(o.items[1].price.cents, 5000);
    assert_int_equal(o.items[1].sub_total.cents, 15000);
    assert_int_equal(o.items[1].quantity, 3);
    assert_string_equal(o.address.postal_code, "1000AB");
    assert_int_equal(order_validate(&o, msg, sizeof msg), ORDER_OK);
    os_order_json_free_items(&o);
    os_order_json_free_items(NULL);
}

static void expect(const char *body, const char *want)
{
    order_t o;
    char msg[ORDER_MSG_MAX] = "";
    assert_int_equal(os_order_from_json(body, body ? strlen(body) : 0, &o, msg, sizeof msg), -1);
    assert_string_equal(msg, want);
    assert_null(o.items);
}

static void test_structure_errors(void **st)
{
    (void)st;
    expect(NULL, "request body is required (a JSON object)");
    expect("[]", "request body must be a JSON object");
    expect("{}", "customerId is required");
    expect("{\"customerId\":5}", "customerId must be a UUID");
    expect("{\"customerId\":\"" CUST "\"}", "restaurantId is required");
    expect("{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\"}", "price is required");
    expect("{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\",\"price\":true}",
           "price must be a number");
    expect("{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\",\"price\":1}", "items is required");
    expect("{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\",\"price\":1,\"items\":{}}",
           "items must be an array");
    expect("{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\",\"price\":1,\"items\":[1]}",
           "items[0] must be an object");
    expect("{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\",\"price\":1,\"items\":"
           "[{\"productId\":\"" PROD "\",\"quantity\":1.5,\"price\":1,\"subTotal\":1}]}",
           "items[0].quantity must be an integer");
    expect("{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\",\"price\":1,\"items\":"
           "[{\"productId\":\"" PROD "\",\"quantity\":1,\"price\":1,\"subTotal\":1}]}",
           "address is required");
    expect("{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\",\"price\":1,\"items\":[],"
           "\"address\":{\"street\":\"s\",\"postalCode\":7,\"city\":\"c\"}}",
           "address.postalCode must be a string");
    expect("{\"customerId\":\"" CUST "\",\"restaurantId\":\"" REST "\",\"price\":1,\"items\":[],"
           "\"address\":{\"street\":\"\",\"postalCode\":\"7\",\"city\":\"c\"}}",
           "address.street must not be empty");
    expect("{\"customerId\":\"" CUST "\",\"customerId\":\"" CUST "\"}",
           "malformed JSON at line 1 column 65: duplicate object key near '\"customerId\"'");
}

static void money(const char *json, int ok, int64_t cents, const char *msg_want)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    money_t m = {0};
    char msg[128] = "";
    assert_non_null(v);
    assert_int_equal(os_money_from_json(v, "price", &m, msg, sizeof msg), ok ? 0 : -1);
    if (ok)
        assert_int_equal(m.cents, cents);
    else
        assert_string_equal(msg, msg_want);
    json_decref(v);
}

static void test_money_json(void **st)
{
    (void)st;
    money("200", 1, 20000, NULL);
    money("200.0", 1, 20000, NULL);
    money("200.00", 1, 20000, NULL);
    money("0.1", 1, 10, NULL);
    money("50.10", 1, 5010, NULL);
    money("99999999.99", 1, 9999999999, NULL);
    money("12345678.91", 1, 1234567891, NULL);
    money("2e2", 1, 20000, NULL);
    money("\"19.99\"", 1, 1999, NULL);
    money("1.005", 0, 0, "price: 1.005 has more than 2 decimals");
    money("\"1.005\"", 0, 0, "price: 1.005 has more than 2 decimals");
    money("100000000", 0, 0, "price: 100000000 is out of range (at most 99999999.99)");
    money("1e300", 0, 0, "price: 1e+300 is out of range (at most 99999999.99)");
    money("\"abc\"", 0, 0, "price: 'abc' is not a valid amount");
    money("null", 0, 0, "price is required");
    money("[1]", 0, 0, "price must be a number");
}

/* Mutations of a valid body (bytes replaced, bytes from JSON's own alphabet inserted,
 * truncation): each parse ends in 0 or -1 with a message, the order then validates or not,
 * and nothing crashes or leaks (the suite runs under ASan/UBSan). */
static void test_fuzz_mutations(void **st)
{
    (void)st;
    static const char alphabet[] = "{}[]\",:.-+eE0123456789 \\u\x01\xc3\xa9\xff";
    char buf[1024];
    unsigned int seed = 777;
    size_t glen = strlen(SAMPLE);
    int parsed = 0, valid = 0;
    for (int i = 0; i < 30000; i++) {
        order_t o;
        char msg[ORDER_MSG_MAX] = "";
        size_t len = glen;
        memcpy(buf, SAMPLE, glen);
        len = ts_mutate(buf, len, sizeof buf, alphabet, &seed);
        if (os_order_from_json(buf, len, &o, msg, sizeof msg) == 0) {
            parsed++;
            if (order_validate(&o, msg, sizeof msg) == ORDER_OK)
                valid++;
            os_order_json_free_items(&o);
        } else {
            assert_true(msg[0] != '\0'); /* a refusal always says why */
            assert_null(o.items);
        }
    }
    assert_true(parsed > 0 && valid > 0); /* the mutations also reach the validation */
}

static void test_render(void **st)
{
    (void)st;
    os_order_view_t v = {"00000000-0000-4000-8000-000000000001", ORDER_CANCELLED,
                         (char *)"no credit,restaurant closed"};
    json_t *j = os_order_view_json(&v);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"failureMessages\":[\"no credit\",\"restaurant closed\"],"
                           "\"orderStatus\":\"CANCELLED\",\"orderTrackingId\":"
                           "\"00000000-0000-4000-8000-000000000001\"}");
    free(s);
    json_decref(j);
    v.failure_messages = NULL;
    j = os_order_view_json(&v);
    assert_int_equal(json_array_size(json_object_get(j, "failureMessages")), 0);
    json_decref(j);
    os_customer_t c = {"00000000-0000-4000-8000-000000000002",
                       (char *)"u",
                       (char *)"F",
                       (char *)"L",
                       7,
                       "2026-01-01T00:00:00.000Z"};
    j = os_customer_json(&c);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 7);
    assert_string_equal(json_string_value(json_object_get(j, "firstName")), "F");
    assert_string_equal(json_string_value(json_object_get(j, "updatedAt")), "2026-01-01T00:00:00.000Z");
    json_decref(j);
    c.updated_at[0] = '\0'; /* an event without occurredAt (the seed's schema) */
    j = os_customer_json(&c);
    assert_true(json_is_null(json_object_get(j, "updatedAt")));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),         cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_money_json),     cmocka_unit_test(test_render),
        cmocka_unit_test(test_fuzz_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
