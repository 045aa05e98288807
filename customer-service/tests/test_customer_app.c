/* test_customer_app.c — unit tests of the command handlers with fake ports (an in-memory
 * repository that records outbox rows, a fake encoder, clock and id generator). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_ports.h"

static int setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static const char *const ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

static void t_create(void **state)
{
    fx_t *f = *state;
    customer_result_t res;
    static const char tp[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    customer_cmd_t cmd = {NULL, "u1", "F", "L", -1, tp};
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_OK);
    assert_string_equal(res.customer.id, "00000000-0000-4000-8000-000000000001");
    assert_int_equal(res.customer.version, 1);
    assert_int_equal(f->repo.nout, 1);
    assert_string_equal(f->repo.outbox[0].payload, "CREATED:u1:1");
    assert_string_equal(f->repo.outbox[0].traceparent, tp); /* the request's trace goes with the row */
    cmd.traceparent = NULL;
    cmd.id = ID;
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_CONFLICT); /* username */
    assert_non_null(strstr(res.detail, "username"));
    cmd.username = "u2";
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_OK);
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_CONFLICT); /* id */
    assert_non_null(strstr(res.detail, ID));
    assert_int_equal(f->repo.nout, 2);
}

static void t_create_invalid(void **state)
{
    fx_t *f = *state;
    customer_result_t res;
    customer_cmd_t cmd = {"12345", "u1", "F", "L", -1, NULL};
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_INVALID);
    assert_string_equal(res.violation.field, "customerId");
    cmd.id = "3fa85f64-5717-4562-b3fc-2c963f66afa6-and-much-more";
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_INVALID);
    cmd.id = ID;
    cmd.last_name = NULL;
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_INVALID);
    assert_string_equal(res.violation.field, "lastName");
    assert_int_equal(f->repo.nout, 0);
    f->repo.force = REPO_UNAVAILABLE;
    cmd.last_name = "L";
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_UNAVAILABLE);
}

static void t_update_delete(void **state)
{
    fx_t *f = *state;
    customer_result_t res;
    customer_cmd_t cmd = {ID, "u1", "F", "L", -1, NULL};
    assert_int_equal(customer_app_create(&f->app, &cmd, &res), APP_OK);
    cmd.first_name = "F2";
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_OK);
    assert_int_equal(res.customer.version, 2);
    cmd.if_match = 1;
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_PRECONDITION);
    cmd.if_match = 2;
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_OK);
    assert_int_equal(res.customer.version, 3);
    /* a concurrent writer without If-Match: retried, succeeds with the next version */
    cmd.if_match = -1;
    f->repo.bump_before_update = 1;
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_OK);
    assert_int_equal(res.customer.version, 5);
    /* with If-Match it is a 412 */
    f->repo.bump_before_update = 1;
    cmd.if_match = 5;
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_PRECONDITION);
    /* concurrent writers that keep winning: 409 after the retries, nothing written */
    int nout = f->repo.nout;
    cmd.if_match = -1;
    f->repo.bump_before_update = 100;
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_CONFLICT);
    assert_non_null(strstr(res.detail, "concurrently"));
    assert_int_equal(f->repo.nout, nout);
    f->repo.bump_before_update = 0;
    cmd.username = "";
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_INVALID);
    assert_string_equal(res.violation.field, "username");
    assert_int_equal(customer_app_get(&f->app, ID, &res), APP_OK);
    assert_int_equal(res.customer.version, 16); /* 6 + the 10 simulated concurrent writes */
    cmd.if_match = 1;
    assert_int_equal(customer_app_delete(&f->app, &cmd, &res), APP_PRECONDITION);
    cmd.if_match = -1;
    assert_int_equal(customer_app_delete(&f->app, &cmd, &res), APP_OK);
    fake_outbox_t *last = &f->repo.outbox[f->repo.nout - 1];
    assert_true(last->tombstone);
    assert_int_equal(last->version, 17);
    assert_int_equal(last->type, CUSTOMER_EV_DELETED);
    assert_int_equal(customer_app_get(&f->app, ID, &res), APP_NOT_FOUND);
    assert_int_equal(customer_app_delete(&f->app, &cmd, &res), APP_NOT_FOUND);
    cmd.username = "x";
    assert_int_equal(customer_app_update(&f->app, &cmd, &res), APP_NOT_FOUND);
    assert_int_equal(customer_app_get(&f->app, "nope", &res), APP_INVALID);
    /* the outbox holds one row per successful command, in order (4, 6..16 were the
     * simulated concurrent writers' versions, written outside this fake's outbox) */
    const int64_t want[] = {1, 2, 3, 5, 17};
    assert_int_equal(f->repo.nout, 5);
    for (int i = 0; i < f->repo.nout; i++)
        assert_int_equal(f->repo.outbox[i].version, want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_create, setup, teardown),
        cmocka_unit_test_setup_teardown(t_create_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(t_update_delete, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
