/* handlers.c — create order (with the read-your-writes wait), get order, get customer.
 * See handlers.h. */
#include "application/handlers.h"

#include <stdio.h>
#include <string.h>

static void os_res(os_result_t *res, os_status_t st, const char *msg)
{
    res->status = st;
    snprintf(res->msg, sizeof res->msg, "%s", msg ? msg : "");
}

/* 1 found, 0 not found (after waiting), -1 store error (res filled). */
static int os_wait_customer(const os_app_t *app, const char *id, os_result_t *res)
{
    char err[256] = "";
    os_customer_t c;
    int64_t poll = app->wait_poll_ms > 0 ? app->wait_poll_ms : 25;
    int64_t deadline = app->clock.mono_ms(app->clock.self) + app->customer_wait_ms;

    for (;;) {
        /* take the generation before looking, so a commit in between is not missed */
        uint64_t gen = app->changes.generation ? app->changes.generation(app->changes.self) : 0;
        memset(&c, 0, sizeof c);
        int rc = app->readmodel.get_customer(app->readmodel.self, id, &c, err, sizeof err);
        os_customer_clear(&c);
        if (rc != 0) {
            if (rc < 0)
                os_res(res, OS_EINTERNAL, err);
            return rc;
        }
        int64_t left = deadline - app->clock.mono_ms(app->clock.self);
        if (left <= 0 || app->changes.wait == NULL)
            return 0;
        app->changes.wait(app->changes.self, gen, left < poll ? left : poll);
    }
}

os_status_t os_create_order(const os_app_t *app, order_t *o, os_result_t *res)
{
    char msg[ORDER_MSG_MAX];
    char err[256] = "";
    char id[ORDER_UUID_LEN + 1];
    char tracking[ORDER_UUID_LEN + 1];

    if (order_validate(o, msg, sizeof msg) != ORDER_OK) {
        os_res(res, OS_EINVALID, msg);
        return res->status;
    }
    int rc = os_wait_customer(app, o->customer_id, res);
    if (rc < 0)
        return res->status;
    if (rc == 0) {
        res->status = OS_EINVALID;
        snprintf(res->msg, sizeof res->msg, "Could not find customer with customer id: %s", o->customer_id);
        return res->status;
    }
    app->ids.new_uuid(app->ids.self, id);
    app->ids.new_uuid(app->ids.self, tracking);
    order_initialize(o, id, tracking);
    if (app->orders.save(app->orders.self, o, err, sizeof err) != 0) {
        os_res(res, OS_EINTERNAL, err);
        return res->status;
    }
    os_res(res, OS_OK, "Order created successfully");
    return res->status;
}

os_status_t os_get_order(const os_app_t *app, const char *tracking_id, os_order_view_t *out, os_result_t *res)
{
    char err[256] = "";
    int rc = app->orders.find_by_tracking_id(app->orders.self, tracking_id, out, err, sizeof err);
    if (rc < 0) {
        os_res(res, OS_EINTERNAL, err);
    } else if (rc == 0) {
        res->status = OS_ENOTFOUND;
        snprintf(res->msg, sizeof res->msg, "Could not find order with tracking id: %s", tracking_id);
    } else {
        os_res(res, OS_OK, NULL);
    }
    return res->status;
}

os_status_t os_get_customer(const os_app_t *app, const char *id, os_customer_t *out, os_result_t *res)
{
    char err[256] = "";
    int rc = app->readmodel.get_customer(app->readmodel.self, id, out, err, sizeof err);
    if (rc < 0) {
        os_res(res, OS_EINTERNAL, err);
    } else if (rc == 0) {
        res->status = OS_ENOTFOUND;
        snprintf(res->msg, sizeof res->msg, "Could not find customer with customer id: %s", id);
    } else {
        os_res(res, OS_OK, NULL);
    }
    return res->status;
}

os_status_t os_get_customer_min(const os_app_t *app, const char *id, int64_t min_version, int64_t wait_ms,
                                os_customer_t *out, int64_t *current, os_result_t *res)
{
    char err[256] = "";
    int64_t poll = app->wait_poll_ms > 0 ? app->wait_poll_ms : 25;
    int64_t cap = app->customer_wait_ms > 0 ? app->customer_wait_ms : 0;
    int64_t waited, start = app->clock.mono_ms(app->clock.self);
    int64_t deadline = start + (wait_ms < cap ? (wait_ms > 0 ? wait_ms : 0) : cap);

    *current = 0;
    for (;;) {
        /* the generation before the look, so a commit in between is not missed */
        uint64_t gen = app->changes.generation ? app->changes.generation(app->changes.self) : 0;
        os_customer_clear(out);
        int rc = app->readmodel.get_customer(app->readmodel.self, id, out, err, sizeof err);
        if (rc < 0) {
            os_res(res, OS_EINTERNAL, err);
            return res->status;
        }
        *current = rc > 0 ? out->version : 0;
        if (rc > 0 && out->version >= min_version) {
            os_res(res, OS_OK, NULL);
            return res->status;
        }
        int64_t now = app->clock.mono_ms(app->clock.self), left = deadline - now;
        if (left <= 0 || app->changes.wait == NULL) {
            waited = now - start;
            break;
        }
        app->changes.wait(app->changes.self, gen, left < poll ? left : poll);
    }
    os_customer_clear(out);
    res->status = OS_ESTALE;
    if (*current > 0)
        snprintf(res->msg, sizeof res->msg,
                 "the read model has version %lld of customer %s, version %lld was asked (waited %lld ms)",
                 (long long)*current, id, (long long)min_version, (long long)waited);
    else
        snprintf(res->msg, sizeof res->msg,
                 "customer %s is not in the read model, version %lld was asked (waited %lld ms)", id,
                 (long long)min_version, (long long)waited);
    return res->status;
}
