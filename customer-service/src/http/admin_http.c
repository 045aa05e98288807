/* admin_http.c — customer-service's operations API over HTTP (routes in admin_http.h): the
 * backfill job, the backfill of chosen ids, the checksum; every route behind the admin token
 * (svc_admin_check, CUSTOMER_ADMIN_TOKEN). */
#include "http/admin_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "svc.h"
#include "timetext.h"

#define CS_REALM "customer-service admin"
#define CS_SUM_MAX_ROWS 10000

static int cs_gate(const cs_admin_http_t *h, h2o_req_t *req)
{
    return svc_admin_check(req, h->admin_token, "CUSTOMER_ADMIN_TOKEN", CS_REALM);
}

static json_t *cs_time_json(int64_t ms)
{
    char t[TIMETEXT_LEN + 1];
    if (ms <= 0)
        return json_null();
    timetext_format(ms, t);
    return json_string(t);
}

static json_t *cs_backfill_json(const cs_backfill_status_t *st)
{
    double rate = st->elapsed_ms > 0 ? (double)st->published * 1000.0 / (double)st->elapsed_ms : 0.0;
    return json_pack("{s:s,s:o,s:i,s:I,s:I,s:I,s:o,s:o,s:I,s:I,s:f,s:s?,s:s?}", "state", st->state,
                     "changedSince", st->since_ms >= 0 ? cs_time_json(st->since_ms) : json_null(),
                     "batchSize", st->batch_size, "maxBacklog", (json_int_t)st->max_backlog, "published",
                     (json_int_t)st->published, "batches", (json_int_t)st->batches, "startedAt",
                     cs_time_json(st->started_ms), "finishedAt", cs_time_json(st->finished_ms), "elapsedMs",
                     (json_int_t)st->elapsed_ms, "backlogWaitMs", (json_int_t)st->backlog_wait_ms,
                     "eventsPerSecond", rate, "lastId", st->last_id[0] ? st->last_id : NULL, "error",
                     st->error[0] ? st->error : NULL);
}

/* The request body as a JSON object, or NULL after answering 400/415. */
static json_t *cs_body(h2o_req_t *req)
{
    json_error_t je;
    const char *ct = httpd_header(req, "content-type");
    size_t len = req->entity.base ? req->entity.len : 0;
    if (ct != NULL && !httpd_content_type_is_json(ct)) {
        httpd_send_problem(req, 415, "Unsupported Media Type",
                           "Content-Type must be application/json, not %s", ct);
        return NULL;
    }
    json_t *j = len > 0 ? json_loadb(req->entity.base, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        httpd_send_problem(req, 400, "Bad Request",
                           "the body must be a JSON object: {\"all\":true}, "
                           "{\"changedSince\":\"<ISO-8601>\"} or {\"ids\":[…]}");
        return NULL;
    }
    return j;
}

/* An optional integer member in [lo, hi] into *out: 0, or -1 after answering 400. */
static int cs_int_opt(h2o_req_t *req, const json_t *b, const char *name, long long lo, long long hi,
                      long long *out)
{
    const json_t *v = json_object_get(b, name);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return httpd_send_problem(req, 400, "Bad Request", "\"%s\" must be an integer from %lld to %lld",
                                  name, lo, hi),
               -1;
    *out = json_integer_value(v);
    return 0;
}

static int cs_backfill_ids_h(const cs_admin_http_t *h, h2o_req_t *req, const json_t *ids, const json_t *b)
{
    const char *list[CS_BACKFILL_MAX_IDS];
    char detail[320] = "";
    size_t n = json_array_size(ids), i;
    json_t *v;
    const json_t *tomb = json_object_get(b, "tombstonesForMissing");
    if (!json_is_array(ids) || n == 0 || n > CS_BACKFILL_MAX_IDS)
        return httpd_send_problem(req, 400, "Bad Request", "\"ids\" must be an array of 1 to %d customer ids",
                                  CS_BACKFILL_MAX_IDS);
    json_array_foreach(ids, i, v)
    {
        if (!json_is_string(v))
            return httpd_send_problem(req, 400, "Bad Request", "ids[%zu] must be a string (a customer id)",
                                      i);
        list[i] = json_string_value(v);
    }
    snap_result_t r;
    app_rc_t rc = cs_ops_backfill_ids(h->ops, list, n, json_is_true(tomb), &r, detail, sizeof detail);
    if (rc == APP_INVALID)
        return httpd_send_problem(req, 400, "Bad Request", "%s", detail);
    if (rc != APP_OK)
        return httpd_send_problem(req, 503, "Service Unavailable", "%s", detail);
    json_t *miss = json_array();
    for (int k = 0; k < r.missing && k < SNAP_MISSING_SHOWN; k++)
        json_array_append_new(miss, json_string(r.missing_ids[k]));
    return httpd_send_json(req, 200,
                           json_pack("{s:i,s:i,s:i,s:o}", "published", r.rows, "missing", r.missing,
                                     "tombstones", r.tombstones, "missingIds", miss));
}

static int cs_backfill_post(const cs_admin_http_t *h, h2o_req_t *req)
{
    json_t *b = cs_body(req);
    if (b == NULL)
        return 0;
    const json_t *all = json_object_get(b, "all"), *since = json_object_get(b, "changedSince"),
                 *ids = json_object_get(b, "ids");
    const json_t *tomb = json_object_get(b, "tombstonesForMissing");
    int rc = 0;
    int kinds = (all != NULL) + (since != NULL) + (ids != NULL);
    long long bs = 0, mb = 0, pause = 0;
    if (kinds != 1 || (all != NULL && !json_is_true(all))) {
        rc =
            httpd_send_problem(req, 400, "Bad Request",
                               "give exactly one of \"all\": true, \"changedSince\": <ISO-8601 or epoch ms>, "
                               "\"ids\": [customer ids]");
        goto cleanup;
    }
    /* every member given is checked, also those the kind asked for does not use */
    if (tomb != NULL && !json_is_boolean(tomb)) {
        rc = httpd_send_problem(req, 400, "Bad Request", "\"tombstonesForMissing\" must be true or false");
        goto cleanup;
    }
    if (cs_int_opt(req, b, "batchSize", 1, 10000, &bs) ||
        cs_int_opt(req, b, "maxBacklog", 1, 100000000, &mb) ||
        cs_int_opt(req, b, "pauseMs", 0, 60000, &pause))
        goto cleanup;
    if (ids != NULL) {
        rc = cs_backfill_ids_h(h, req, ids, b);
        goto cleanup;
    }
    cs_backfill_req_t rq = {.since_ms = -1};
    if (since != NULL) {
        int64_t ms;
        if ((json_is_string(since) && timetext_parse(json_string_value(since), &ms) == 0) ||
            (json_is_integer(since) && (ms = json_integer_value(since)) >= 0)) {
            rq.since_ms = ms;
        } else {
            rc = httpd_send_problem(req, 400, "Bad Request",
                                    "\"changedSince\" must be ISO-8601 with a zone (2026-03-01T10:00:00Z) or "
                                    "epoch milliseconds");
            goto cleanup;
        }
    }
    rq.batch_size = (int)bs;
    rq.max_backlog = mb;
    rq.pause_ms = (int)pause;
    rq.requester = httpd_header(req, "x-requested-by");
    cs_backfill_status_t st;
    int started = cs_ops_backfill_start(h->ops, &rq);
    cs_ops_backfill_status(h->ops, &st);
    if (started < 0) {
        cs_ops_count(h->ops, "backfill", 0);
        rc = httpd_send_problem(req, 503, "Service Unavailable", "cannot start the backfill");
    } else if (started == 0) {
        rc = httpd_send_problem(req, 409, "Conflict",
                                "a backfill is running (%lld published so far); "
                                "DELETE /admin/backfill cancels it",
                                st.published);
    } else {
        httpd_add_header(req, "location", "/admin/backfill");
        rc = httpd_send_json(req, 202, cs_backfill_json(&st));
    }
cleanup:
    json_decref(b);
    return rc;
}

static int cs_backfill_h(void *ctx, h2o_req_t *req)
{
    const cs_admin_http_t *h = ctx;
    cs_backfill_status_t st;
    if (cs_gate(h, req) != 0)
        return 0;
    if (strcmp(httpd_path(req), "/admin/backfill") != 0)
        return httpd_send_problem(req, 404, "Not Found", "no such resource: %s", httpd_path(req));
    if (httpd_method_is(req, "POST"))
        return cs_backfill_post(h, req);
    if (httpd_method_is(req, "DELETE")) {
        int asked = cs_ops_backfill_cancel(h->ops);
        cs_ops_backfill_status(h->ops, &st);
        return httpd_send_json(req, asked ? 202 : 200, cs_backfill_json(&st));
    }
    cs_ops_backfill_status(h->ops, &st);
    return httpd_send_json(req, 200, cs_backfill_json(&st));
}

/* GET /admin/checksum?from=&to=&list=true&limit=N */
static int cs_checksum_h(void *ctx, h2o_req_t *req)
{
    const cs_admin_http_t *h = ctx;
    char from[64], to[64], list[8], lim[16], detail[320];
    if (cs_gate(h, req) != 0)
        return 0;
    if (strcmp(httpd_path(req), "/admin/checksum") != 0)
        return httpd_send_problem(req, 404, "Not Found", "no such resource: %s", httpd_path(req));
    int hf = httpd_query_get(req, "from", from, sizeof from), ht = httpd_query_get(req, "to", to, sizeof to);
    int hl = httpd_query_get(req, "list", list, sizeof list),
        hm = httpd_query_get(req, "limit", lim, sizeof lim);
    if (hf < 0 || ht < 0 || hl < 0 || hm < 0)
        return httpd_send_problem(req, 400, "Bad Request", "a query parameter is malformed");
    if (hl > 0 && strcmp(list, "true") != 0 && strcmp(list, "false") != 0)
        return httpd_send_problem(req, 400, "Bad Request", "list must be true or false");
    int want = hl > 0 && strcmp(list, "true") == 0;
    long limit = 1000;
    if (hm > 0) {
        char *end;
        limit = strtol(lim, &end, 10);
        if (*end != '\0' || limit < 1 || limit > CS_SUM_MAX_ROWS)
            return httpd_send_problem(req, 400, "Bad Request", "limit must be 1 to %d", CS_SUM_MAX_ROWS);
    }
    snap_sum_t sum;
    int nrows = 0;
    snap_sum_row_t *rows = want ? calloc((size_t)limit, sizeof *rows) : NULL;
    if (want && rows == NULL)
        return httpd_send_problem(req, 503, "Service Unavailable", "out of memory");
    app_rc_t rc = cs_ops_checksum(h->ops, hf > 0 ? from : NULL, ht > 0 ? to : NULL, &sum, rows, (int)limit,
                                  &nrows, detail, sizeof detail);
    if (rc != APP_OK) {
        free(rows);
        return httpd_send_problem(req, rc == APP_INVALID ? 400 : 503,
                                  rc == APP_INVALID ? "Bad Request" : "Service Unavailable", "%s", detail);
    }
    json_t *j = json_pack("{s:s?,s:s?,s:I,s:s}", "from", hf > 0 ? from : NULL, "to", ht > 0 ? to : NULL,
                          "count", (json_int_t)sum.count, "hash", sum.hash);
    if (want && j != NULL) {
        json_t *arr = json_array();
        for (int i = 0; i < nrows; i++)
            json_array_append_new(arr, json_pack("{s:s,s:I,s:s}", "id", rows[i].id, "version",
                                                 (json_int_t)rows[i].version, "hash", rows[i].hash));
        json_object_set_new(j, "rows", arr);
        json_object_set_new(j, "truncated", json_boolean(sum.count > nrows));
    }
    free(rows);
    return httpd_send_json(req, 200, j);
}

int cs_admin_http_register(httpd_t *s, cs_admin_http_t *h)
{
    if (httpd_route(s, "POST", "/admin/backfill", "/admin/backfill", cs_backfill_h, h) ||
        httpd_route(s, "GET", "/admin/backfill", "/admin/backfill", cs_backfill_h, h) ||
        httpd_route(s, "DELETE", "/admin/backfill", "/admin/backfill", cs_backfill_h, h) ||
        httpd_route(s, "GET", "/admin/checksum", "/admin/checksum", cs_checksum_h, h))
        return -1;
    return 0;
}
