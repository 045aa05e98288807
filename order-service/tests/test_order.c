/* test_order.c — unit tests of order validation: the seed's rules and messages with exact
 * money (200 == 200.00), address limits, UUIDs, status names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/order.h"
#include "uuidtext.h"

#define CUST "d215b5f8-0249-4dc5-89a3-51fd148cfb41"
#define REST "d215b5f8-0249-4dc5-89a3-51fd148cfb45"
#define PROD "d215b5f8-0249-4dc5-89a3-51fd148cfb48"

static money_t M(const char *s)
{
    money_t m;
    assert_int_equal(money_parse(s, strlen(s), &m), MONEY_OK);
    return m;
}

typedef struct fixture {
    order_t o;
    order_item_t items[4];
    char msg[ORDER_MSG_MAX];
} fixture_t;

/* The seed's sample order.json: 200.00 = 1 × 50.00 + 3 × 50.00. */
static void sample(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    strcpy(f->o.customer_id, CUST);
    strcpy(f->o.restaurant_id, REST);
    f->o.price = M("200.00");
    strcpy(f->items[0].product_id, PROD);
    f->items[0].quantity = 1;
    f->items[0].price = M("50.00");
    f->items[0].sub_total = M("50.00");
    strcpy(f->items[1].product_id, PROD);
    f->items[1].quantity = 3;
    f->items[1].price = M("50.00");
    f->items[1].sub_total = M("150.00");
    f->o.items = f->items;
    f->o.n_items = 2;
    strcpy(f->o.address.street, "street_1");
    strcpy(f->o.address.postal_code, "1000AB");
    strcpy(f->o.address.city, "Amsterdam");
}

static order_err_t validate(fixture_t *f)
{
    f->msg[0] = '\0';
    return order_validate(&f->o, f->msg, sizeof f->msg);
}

static void test_sample_valid(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    assert_int_equal(validate(&f), ORDER_OK);
}

static void test_scale_does_not_matter(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    f.o.price = M("200"); /* the seed rejected this: BigDecimal.equals compares scale */
    f.items[0].price = M("50");
    f.items[1].sub_total = M("150.0");
    assert_int_equal(validate(&f), ORDER_OK);
}

static void test_total_price_positive(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    f.o.price = M("0");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Total price must be greater than zero!");
    f.o.price = M("-200.00");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Total price must be greater than zero!");
}

static void test_item_price_rules(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    f.items[1].sub_total = M("149.99");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Order item price: 50.00 is not valid for product " PROD);

    sample(&f);
    f.items[0].price = M("0");
    f.items[0].sub_total = M("0");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Order item price: 0.00 is not valid for product " PROD);

    sample(&f);
    f.items[0].price = M("-50");
    f.items[0].sub_total = M("-50");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Order item price: -50.00 is not valid for product " PROD);
}

static void test_item_quantity(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    f.items[0].quantity = 0;
    f.items[0].sub_total = M("0");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Order item quantity: 0 is not valid for product " PROD);
    sample(&f);
    f.items[0].quantity = -1;
    assert_int_equal(validate(&f), ORDER_EINVALID);
    sample(&f);
    f.items[0].quantity = INT64_MAX; /* price × quantity must not overflow */
    assert_int_equal(validate(&f), ORDER_EINVALID);
}

static void test_quantity_bounds_and_no_items(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    f.o.n_items = 1;
    f.o.price = M("50000000.00");
    f.items[0].quantity = ORDER_QUANTITY_MAX; /* 1,000,000 × 50.00 = 50,000,000.00 */
    f.items[0].sub_total = M("50000000");
    assert_int_equal(validate(&f), ORDER_OK);
    f.items[0].quantity = ORDER_QUANTITY_MAX + 1;
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Order item quantity: 1000001 is not valid for product " PROD);
    sample(&f);
    f.o.items = NULL;
    f.o.n_items = 0;
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Total price: 200.00 is not equal to Order items total: 0.00!");
    sample(&f);
    f.o.n_items = ORDER_MAX_ITEMS + 1;
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "An order may have at most 1000 items");
}

static void test_rule_order(void **st)
{
    (void)st;
    /* the seed's order: total price first, then items, then the sum */
    fixture_t f;
    sample(&f);
    f.o.price = M("0");
    f.items[0].price = M("0");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Total price must be greater than zero!");
    sample(&f);
    f.o.price = M("1");
    f.items[1].sub_total = M("1");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Order item price: 50.00 is not valid for product " PROD);
    /* the first bad item is named */
    sample(&f);
    strcpy(f.items[1].product_id, "d215b5f8-0249-4dc5-89a3-51fd148cfb49");
    f.items[0].sub_total = M("49");
    f.items[1].sub_total = M("1");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Order item price: 50.00 is not valid for product " PROD);
}

static void test_item_overflow(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    /* 999999 × 99999999.99 does not fit: rejected as an invalid item, never wrapped */
    f.items[0].quantity = 999999;
    f.items[0].price = money_from_cents(MONEY_MAX_CENTS);
    f.items[0].sub_total = money_from_cents(1);
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Order item price: 99999999.99 is not valid for product " PROD);
    /* two max items: each fine, the sum out of range */
    sample(&f);
    f.o.price = money_from_cents(MONEY_MAX_CENTS);
    for (int i = 0; i < 2; i++) {
        f.items[i].quantity = 1;
        f.items[i].price = money_from_cents(MONEY_MAX_CENTS);
        f.items[i].sub_total = money_from_cents(MONEY_MAX_CENTS);
    }
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Order items total is too large");
}

static void test_sum_must_match(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    f.o.price = M("210");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Total price: 210.00 is not equal to Order items total: 200.00!");
    sample(&f);
    f.o.n_items = 0;
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "Total price: 200.00 is not equal to Order items total: 0.00!");
}

static void test_ids(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    strcpy(f.o.restaurant_id, "not-a-uuid");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "restaurantId must be a UUID");
    sample(&f);
    f.o.restaurant_id[0] = '\0';
    assert_int_equal(validate(&f), ORDER_EINVALID);
    sample(&f);
    strcpy(f.o.customer_id, "d215b5f8-0249-4dc5-89a3-51fd148cfb4");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "customerId must be a UUID");
    sample(&f);
    strcpy(f.items[1].product_id, "x");
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "items[1].productId must be a UUID");
}

static void test_uuid_helpers(void **st)
{
    (void)st;
    char out[ORDER_UUID_LEN + 1];
    assert_true(uuidtext_valid(CUST));
    assert_true(uuidtext_valid("D215B5F8-0249-4DC5-89A3-51FD148CFB41"));
    assert_false(uuidtext_valid("d215b5f8-0249-4dc5-89a3-51fd148cfb41x"));
    assert_false(uuidtext_valid("d215b5f8_0249-4dc5-89a3-51fd148cfb41"));
    assert_false(uuidtext_valid("g215b5f8-0249-4dc5-89a3-51fd148cfb41"));
    assert_false(uuidtext_valid(""));
    assert_false(uuidtext_valid(NULL));
    assert_int_equal(uuidtext_normalize("D215B5F8-0249-4DC5-89A3-51FD148CFB41", out), 0);
    assert_string_equal(out, CUST);
    assert_int_equal(uuidtext_normalize("nope", out), -1);
}

static void test_address(void **st)
{
    (void)st;
    char dst[ORDER_TEXT_BYTES(ORDER_POSTAL_CODE_MAX)];
    char msg[ORDER_MSG_MAX];
    assert_int_equal(
        order_set_text(dst, ORDER_POSTAL_CODE_MAX, "address.postalCode", "1000AB", 6, msg, sizeof msg), 0);
    assert_string_equal(dst, "1000AB");
    assert_int_equal(
        order_set_text(dst, ORDER_POSTAL_CODE_MAX, "address.postalCode", "12345678901", 11, msg, sizeof msg),
        -1);
    assert_string_equal(msg, "address.postalCode must be at most 10 characters");
    assert_int_equal(
        order_set_text(dst, ORDER_POSTAL_CODE_MAX, "address.postalCode", "1234567890", 10, msg, sizeof msg),
        0);
    assert_int_equal(
        order_set_text(dst, ORDER_POSTAL_CODE_MAX, "address.postalCode", "   ", 3, msg, sizeof msg), -1);
    assert_string_equal(msg, "address.postalCode must not be empty");
    assert_int_equal(
        order_set_text(dst, ORDER_POSTAL_CODE_MAX, "address.postalCode", NULL, 0, msg, sizeof msg), -1);
    assert_int_equal(
        order_set_text(dst, ORDER_POSTAL_CODE_MAX, "address.postalCode", "a\0b", 3, msg, sizeof msg), -1);
    /* limits count characters, as varchar(n) does: 10 four-byte characters fit, 11 do not */
    static const char emoji10[] = "😀😀😀😀😀😀😀😀😀😀";
    assert_int_equal(order_set_text(dst, ORDER_POSTAL_CODE_MAX, "address.postalCode", emoji10,
                                    sizeof emoji10 - 1, msg, sizeof msg),
                     0);
    assert_string_equal(dst, emoji10);
    static const char emoji11[] = "😀😀😀😀😀😀😀😀😀😀😀";
    assert_int_equal(order_set_text(dst, ORDER_POSTAL_CODE_MAX, "address.postalCode", emoji11,
                                    sizeof emoji11 - 1, msg, sizeof msg),
                     -1);
    assert_string_equal(msg, "address.postalCode must be at most 10 characters");
    assert_int_equal(
        order_set_text(dst, ORDER_POSTAL_CODE_MAX, "address.postalCode", "ab\xff", 3, msg, sizeof msg), -1);
    assert_string_equal(msg, "address.postalCode is not valid UTF-8");

    fixture_t f;
    sample(&f);
    f.o.address.city[0] = '\0';
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "address.city must not be empty");
    sample(&f);
    memset(f.o.address.street, 'x', ORDER_STREET_MAX);
    f.o.address.street[ORDER_STREET_MAX] = '\0';
    assert_int_equal(validate(&f), ORDER_OK);
    sample(&f);
    for (int i = 0; i < ORDER_STREET_MAX; i++) /* 50 characters, 100 bytes */
        memcpy(f.o.address.street + 2 * i, "ü", 2);
    f.o.address.street[2 * ORDER_STREET_MAX] = '\0';
    assert_int_equal(validate(&f), ORDER_OK);
    memcpy(f.o.address.street + 2 * ORDER_STREET_MAX, "ü", 3); /* 51 */
    assert_int_equal(validate(&f), ORDER_EINVALID);
    assert_string_equal(f.msg, "address.street must be at most 50 characters");
}

static void test_initialize_and_status(void **st)
{
    (void)st;
    fixture_t f;
    sample(&f);
    f.o.status = ORDER_CANCELLED;
    order_initialize(&f.o, CUST, REST);
    assert_string_equal(f.o.id, CUST);
    assert_string_equal(f.o.tracking_id, REST);
    assert_int_equal(f.o.status, ORDER_PENDING);
    assert_string_equal(order_status_name(ORDER_PENDING), "PENDING");
    assert_string_equal(order_status_name(ORDER_CANCELLING), "CANCELLING");
    assert_string_equal(order_status_name((order_status_t)99), "UNKNOWN");
    assert_int_equal(order_status_parse("APPROVED"), ORDER_APPROVED);
    assert_int_equal(order_status_parse("approved"), -1);
    assert_int_equal(order_status_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_valid),
        cmocka_unit_test(test_scale_does_not_matter),
        cmocka_unit_test(test_total_price_positive),
        cmocka_unit_test(test_item_price_rules),
        cmocka_unit_test(test_item_quantity),
        cmocka_unit_test(test_item_overflow),
        cmocka_unit_test(test_quantity_bounds_and_no_items),
        cmocka_unit_test(test_rule_order),
        cmocka_unit_test(test_sum_must_match),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_uuid_helpers),
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_initialize_and_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
