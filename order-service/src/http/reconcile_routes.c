/* reconcile_routes.c — GET /admin/reconciliation and POST /admin/reconciliation/run. See
 * reconcile_routes.h. */
#include "http/reconcile_routes.h"

#include <stdlib.h>

#include <jansson.h>

#include "svc.h"
#include "timetext.h"

#define OS_RC_REALM "order-service"

static json_t *os_rc_json(os_reconcile_http_t *h)
{
    char at[TIMETEXT_LEN + 1];
    os_reconcile_status_t *st = malloc(sizeof *st);
    json_t *ids = json_array(), *j;
    if (st == NULL || ids == NULL) {
        free(st);
        json_decref(ids);
        return NULL;
    }
    os_reconciler_status(h->rc, st);
    for (int i = 0; i < st->ndrift; i++)
        json_array_append_new(ids, json_string(st->ids[i]));
    timetext_format(st->last_end_ms, at);
    j = json_pack("{s:b,s:b,s:I,s:s?,s:I,s:I,s:I,s:i,s:o,s:i,s:s?}", "enabled", 1, "running", st->running,
                  "rounds", (json_int_t)st->rounds, "lastRoundAt", st->last_end_ms > 0 ? at : NULL,
                  "lastRoundMs", (json_int_t)st->last_duration_ms, "rows", (json_int_t)st->rows, "compared",
                  (json_int_t)st->compared, "drift", st->drift, "ids", ids, "repaired", st->repaired, "error",
                  st->error[0] ? st->error : NULL);
    free(st);
    return j;
}

static int os_rc_handle(void *ctx, h2o_req_t *req, int run)
{
    os_reconcile_http_t *h = ctx;
    json_t *j;
    if (svc_admin_check(req, h->admin_token, "ORDER_ADMIN_TOKEN", OS_RC_REALM) != 0)
        return 0;
    if (h->rc == NULL)
        return httpd_send_problem(req, 404, "Not Found",
                                  "the reconciliation is off: set reconciliation.customer-service-url");
    if (run)
        os_reconciler_kick(h->rc);
    j = os_rc_json(h);
    if (j == NULL)
        return httpd_send_problem(req, 503, "Service Unavailable", "out of memory");
    return httpd_send_json(req, run ? 202 : 200, j);
}

static int os_rc_status_h(void *ctx, h2o_req_t *req)
{
    return os_rc_handle(ctx, req, 0);
}

static int os_rc_run_h(void *ctx, h2o_req_t *req)
{
    return os_rc_handle(ctx, req, 1);
}

int os_reconcile_http_register(httpd_t *s, os_reconcile_http_t *h)
{
    return httpd_route(s, "POST", "/admin/reconciliation/run", "/admin/reconciliation/run", os_rc_run_h, h) ||
                   httpd_route(s, "GET", "/admin/reconciliation", "/admin/reconciliation", os_rc_status_h, h)
               ? -1
               : 0;
}
