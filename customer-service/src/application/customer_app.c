/* customer_app.c — command handlers of customer-service (create, update, delete, get).
 * Only ports are used here (see customer_app.h); no I/O of its own. */
#include "application/customer_app.h"
#include "uuidtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Concurrent writers may bump the version between our read and our conditional write;
 * without If-Match we re-read and retry a few times. */
#define CUSTOMER_APP_RETRIES 10

/* Sets rc and detail = a + b + c (any may be NULL). */
static app_rc_t app_fail(customer_result_t *res, app_rc_t rc, const char *a, const char *b, const char *c)
{
    res->rc = rc;
    snprintf(res->detail, sizeof res->detail, "%s%s%s", a ? a : "", b ? b : "", c ? c : "");
    return rc;
}

/* Maps a repository failure to an application result. */
static app_rc_t app_repo_fail(customer_result_t *res, repo_rc_t r, const customer_t *c)
{
    switch (r) {
    case REPO_NOT_FOUND:
        return app_fail(res, APP_NOT_FOUND, "no customer with id ", c->id, NULL);
    case REPO_DUP_ID:
        return app_fail(res, APP_CONFLICT, "a customer with id ", c->id, " already exists");
    case REPO_DUP_USERNAME:
        return app_fail(res, APP_CONFLICT, "username '", c->username, "' is already taken");
    case REPO_CONFLICT:
        return app_fail(res, APP_PRECONDITION, "customer ", c->id, " was changed concurrently");
    case REPO_UNAVAILABLE:
        return app_fail(res, APP_UNAVAILABLE, "the database is unavailable", NULL, NULL);
    default:
        return app_fail(res, APP_ERROR, "the database reported an error", NULL, NULL);
    }
}

static void app_reset(customer_result_t *res)
{
    memset(res, 0, sizeof *res);
}

static app_rc_t app_invalid(customer_result_t *res)
{
    res->rc = APP_INVALID;
    snprintf(res->detail, sizeof res->detail, "%s", res->violation.message);
    return APP_INVALID;
}

static int app_id(const char *in, char out[CUSTOMER_ID_LEN + 1], customer_result_t *res)
{
    if (in == NULL || uuidtext_normalize(in, out) != 0) {
        res->violation.field = "customerId";
        res->violation.rule = in == NULL ? CUSTOMER_E_REQUIRED : CUSTOMER_E_UUID;
        snprintf(res->violation.message, sizeof res->violation.message,
                 "customerId must be a UUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6");
        return -1;
    }
    return 0;
}

static int64_t app_now(const customer_app_t *app)
{
    return app->clock.ops->now_ms(app->clock.self);
}

app_rc_t customer_app_create(const customer_app_t *app, const customer_cmd_t *cmd, customer_result_t *res)
{
    char id[CUSTOMER_ID_LEN + 1];
    customer_event_t ev;
    unsigned char *payload = NULL;
    size_t len = 0;
    int64_t now;
    repo_rc_t r;

    app_reset(res);
    if (cmd->id != NULL)
        snprintf(id, sizeof id, "%s", strlen(cmd->id) <= CUSTOMER_ID_LEN ? cmd->id : "x");
    else
        app->idgen.ops->new_id(app->idgen.self, id);
    now = app_now(app);
    if (customer_create(&res->customer, id, cmd->username, cmd->first_name, cmd->last_name, now,
                        &res->violation) != CUSTOMER_OK)
        return app_invalid(res);
    customer_event_of(&ev, CUSTOMER_EV_CREATED, &res->customer, now);
    ev.traceparent = cmd->traceparent;
    if (app->encoder.ops->encode(app->encoder.self, &ev, &payload, &len) != 0)
        return app_fail(res, APP_ERROR, "could not encode the event", NULL, NULL);
    r = app->repo.ops->insert(app->repo.self, &res->customer, &ev, payload, len);
    free(payload);
    if (r != REPO_OK)
        return app_repo_fail(res, r, &res->customer);
    res->rc = APP_OK;
    return APP_OK;
}

/* Reads the current state of customer `id` into res->customer and its version into
 * *expected, checking the client's If-Match (if_match < 0: none). APP_OK to go on, else
 * the result to answer (not found, precondition failed, repository error). */
static app_rc_t app_load_current(const customer_app_t *app, const char *id, int64_t if_match,
                                 customer_result_t *res, int64_t *expected)
{
    repo_rc_t r = app->repo.ops->find(app->repo.self, id, &res->customer);
    *expected = 0; /* defined on every path */
    if (r != REPO_OK) {
        snprintf(res->customer.id, sizeof res->customer.id, "%s", id);
        return app_repo_fail(res, r, &res->customer);
    }
    *expected = res->customer.version;
    if (if_match >= 0 && if_match != *expected) {
        res->rc = APP_PRECONDITION;
        snprintf(res->detail, sizeof res->detail,
                 "If-Match version %lld does not match the current version %lld", (long long)if_match,
                 (long long)*expected);
        return APP_PRECONDITION;
    }
    return APP_OK;
}

app_rc_t customer_app_update(const customer_app_t *app, const customer_cmd_t *cmd, customer_result_t *res)
{
    char id[CUSTOMER_ID_LEN + 1];
    customer_event_t ev;
    repo_rc_t r = REPO_ERROR;

    app_reset(res);
    if (app_id(cmd->id, id, res) != 0)
        return app_invalid(res);
    /* Validate the body before touching the repository (a 400 never depends on state). */
    if (customer_check_name("username", cmd->username, &res->violation) != CUSTOMER_OK ||
        customer_check_name("firstName", cmd->first_name, &res->violation) != CUSTOMER_OK ||
        customer_check_name("lastName", cmd->last_name, &res->violation) != CUSTOMER_OK)
        return app_invalid(res);
    for (int attempt = 0; attempt < CUSTOMER_APP_RETRIES; attempt++) {
        unsigned char *payload = NULL;
        size_t len = 0;
        int64_t now, expected;
        app_rc_t cur = app_load_current(app, id, cmd->if_match, res, &expected);
        if (cur != APP_OK)
            return cur;
        now = app_now(app);
        if (customer_update(&res->customer, cmd->username, cmd->first_name, cmd->last_name, now,
                            &res->violation) != CUSTOMER_OK)
            return app_invalid(res);
        customer_event_of(&ev, CUSTOMER_EV_UPDATED, &res->customer, now);
        ev.traceparent = cmd->traceparent;
        if (app->encoder.ops->encode(app->encoder.self, &ev, &payload, &len) != 0)
            return app_fail(res, APP_ERROR, "could not encode the event", NULL, NULL);
        r = app->repo.ops->update(app->repo.self, &res->customer, expected, &ev, payload, len);
        free(payload);
        if (r == REPO_OK) {
            res->rc = APP_OK;
            return APP_OK;
        }
        if (r != REPO_CONFLICT && r != REPO_NOT_FOUND)
            break;
        if (cmd->if_match >= 0 && r == REPO_CONFLICT)
            break; /* the client asked for exactly that version: 412 */
        if (r == REPO_NOT_FOUND)
            break; /* deleted meanwhile */
    }
    if (r == REPO_CONFLICT && cmd->if_match < 0)
        return app_fail(res, APP_CONFLICT, "customer ", res->customer.id,
                        " is being changed concurrently; retry the request");
    return app_repo_fail(res, r, &res->customer);
}

app_rc_t customer_app_delete(const customer_app_t *app, const customer_cmd_t *cmd, customer_result_t *res)
{
    char id[CUSTOMER_ID_LEN + 1];
    customer_event_t ev;
    repo_rc_t r = REPO_ERROR;

    app_reset(res);
    if (app_id(cmd->id, id, res) != 0)
        return app_invalid(res);
    for (int attempt = 0; attempt < CUSTOMER_APP_RETRIES; attempt++) {
        int64_t expected;
        app_rc_t cur = app_load_current(app, id, cmd->if_match, res, &expected);
        if (cur != APP_OK)
            return cur;
        res->customer.version = expected + 1;
        customer_event_of(&ev, CUSTOMER_EV_DELETED, &res->customer, app_now(app));
        ev.traceparent = cmd->traceparent;
        r = app->repo.ops->remove(app->repo.self, id, expected, &ev);
        if (r == REPO_OK) {
            res->rc = APP_OK;
            return APP_OK;
        }
        if (r != REPO_CONFLICT || cmd->if_match >= 0)
            break;
    }
    if (r == REPO_CONFLICT && cmd->if_match < 0)
        return app_fail(res, APP_CONFLICT, "customer ", id,
                        " is being changed concurrently; retry the request");
    return app_repo_fail(res, r, &res->customer);
}

app_rc_t customer_app_get(const customer_app_t *app, const char *id_in, customer_result_t *res)
{
    char id[CUSTOMER_ID_LEN + 1];
    repo_rc_t r;
    app_reset(res);
    if (app_id(id_in, id, res) != 0)
        return app_invalid(res);
    r = app->repo.ops->find(app->repo.self, id, &res->customer);
    if (r != REPO_OK) {
        snprintf(res->customer.id, sizeof res->customer.id, "%s", id);
        return app_repo_fail(res, r, &res->customer);
    }
    res->rc = APP_OK;
    return APP_OK;
}
