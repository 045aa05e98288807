/* test_customer_domain.c — unit tests of the Customer aggregate's rules (no I/O). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/customer.h"

static const char *const ID = "3FA85F64-5717-4562-B3FC-2C963F66AFA6";

static void t_create(void **s)
{
    customer_t c;
    customer_violation_t v;
    assert_int_equal(customer_create(&c, ID, "user_1", "Zoë", "O'Brien; DROP TABLE--", 1000, &v),
                     CUSTOMER_OK);
    assert_string_equal(c.id, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    assert_int_equal(c.version, 1);
    assert_int_equal(c.created_at_ms, 1000);
    assert_string_equal(c.first_name, "Zoë");
}

static void t_rules(void **s)
{
    customer_t c;
    customer_violation_t v;
    char longname[200];
    char cjk[400] = "";
    memset(longname, 'a', 101);
    longname[101] = '\0';
    assert_int_equal(customer_create(&c, "nope", "u", "f", "l", 0, &v), CUSTOMER_E_UUID);
    assert_string_equal(v.field, "customerId");
    assert_int_equal(customer_create(&c, ID, NULL, "f", "l", 0, &v), CUSTOMER_E_REQUIRED);
    assert_string_equal(v.field, "username");
    assert_int_equal(customer_create(&c, ID, "u", "", "l", 0, &v), CUSTOMER_E_REQUIRED);
    assert_string_equal(v.field, "firstName");
    assert_int_equal(customer_create(&c, ID, "u", "f", "   ", 0, &v), CUSTOMER_E_BLANK);
    assert_string_equal(v.field, "lastName");
    assert_int_equal(customer_create(&c, ID, longname, "f", "l", 0, &v), CUSTOMER_E_TOO_LONG);
    assert_non_null(strstr(v.message, "100"));
    longname[100] = '\0';
    assert_int_equal(customer_create(&c, ID, longname, "f", "l", 0, &v), CUSTOMER_OK);
    /* 100 three-byte characters are fine (300 bytes), 101 are not */
    for (int i = 0; i < 100; i++)
        strcat(cjk, "語");
    assert_int_equal(customer_create(&c, ID, cjk, "f", "l", 0, &v), CUSTOMER_OK);
    strcat(cjk, "語");
    assert_int_equal(customer_create(&c, ID, cjk, "f", "l", 0, &v), CUSTOMER_E_TOO_LONG);
    assert_int_equal(customer_create(&c, ID, "a\xff", "f", "l", 0, &v), CUSTOMER_E_ENCODING);
    assert_int_equal(customer_create(&c, ID, "a\xc0\xaf", "f", "l", 0, &v), CUSTOMER_E_ENCODING);
    assert_int_equal(customer_create(&c, ID, "a\xed\xa0\x80", "f", "l", 0, &v), CUSTOMER_E_ENCODING);
    assert_int_equal(customer_create(&c, ID, "a\tb", "f", "l", 0, &v), CUSTOMER_E_ENCODING);
    assert_int_equal(customer_create(&c, ID, "😀", "f", "l", 0, &v), CUSTOMER_OK);
}

static void t_update(void **s)
{
    customer_t c;
    customer_violation_t v;
    assert_int_equal(customer_create(&c, ID, "u", "f", "l", 1, &v), CUSTOMER_OK);
    assert_int_equal(customer_update(&c, "u2", "f2", "l2", 5, &v), CUSTOMER_OK);
    assert_int_equal(c.version, 2);
    assert_int_equal(c.updated_at_ms, 5);
    assert_int_equal(c.created_at_ms, 1);
    assert_int_equal(customer_update(&c, "u3", "", "l3", 6, &v), CUSTOMER_E_REQUIRED);
    assert_int_equal(c.version, 2);
    assert_string_equal(c.username, "u2"); /* unchanged on failure */
    customer_event_t ev;
    customer_event_of(&ev, CUSTOMER_EV_UPDATED, &c, 7);
    assert_int_equal(ev.customer.version, 2);
    assert_string_equal(customer_event_type_name(ev.type), "UPDATED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_create),
        cmocka_unit_test(t_rules),
        cmocka_unit_test(t_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
