/* ops_routes.c — order-service's operations API over HTTP (routes in ops_routes.h): requests
 * parsed into the application's calls (application/ops_*.h), results rendered as JSON, every
 * endpoint behind the admin token (svc_admin_check, ORDER_ADMIN_TOKEN). */
#include "http/ops_routes.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "application/ops_dlq.h"
#include "application/ops_redrive.h"
#include "svc.h"
#include "timetext.h"

#define OS_REALM "order-service admin"

/* The admin gate of every route here: 0 to go on; otherwise answered. */
static int os_ops_gate(const os_ops_http_t *h, h2o_req_t *req)
{
    return svc_admin_check(req, h->admin_token, "ORDER_ADMIN_TOKEN", OS_REALM);
}

/* Answers an application failure. Returns 0. */
static int os_ops_fail(h2o_req_t *req, os_ops_rc_t rc, const char *err)
{
    switch (rc) {
    case OS_OPS_INVALID:
        return httpd_send_problem(req, 400, "Bad Request", "%s", err);
    case OS_OPS_NOTFOUND:
        return httpd_send_problem(req, 404, "Not Found", "%s", err);
    case OS_OPS_CONFLICT:
        return httpd_send_problem(req, 409, "Conflict", "%s", err);
    default:
        httpd_add_header(req, "retry-after", "5");
        return httpd_send_problem(req, 503, "Service Unavailable", "%s", err);
    }
}

/* The request body as a JSON object (an empty body is {}), or NULL after answering 400/415. */
static json_t *os_ops_body(h2o_req_t *req)
{
    json_error_t je;
    const char *ct = httpd_header(req, "content-type");
    size_t len = req->entity.base ? req->entity.len : 0;
    if (len == 0)
        return json_object();
    if (ct != NULL && !httpd_content_type_is_json(ct)) {
        httpd_send_problem(req, 415, "Unsupported Media Type",
                           "Content-Type must be application/json, not %s", ct);
        return NULL;
    }
    json_t *j = json_loadb(req->entity.base, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        httpd_send_problem(req, 400, "Bad Request", "the body must be a JSON object%s%s", j ? "" : ": ",
                           j ? "" : je.text);
        return NULL;
    }
    return j;
}

/* A time given as ISO-8601 text or epoch milliseconds: 0, or -1 (not one). */
static int os_ops_time(const json_t *v, int64_t *ms)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ms = json_integer_value(v);
        return 0;
    }
    return json_is_string(v) ? timetext_parse(json_string_value(v), ms) : -1;
}

/* ---- projection: status, pause, resume, replay ---- */

static json_t *os_ops_status_json(const os_ops_t *o, const os_ops_status_t *st)
{
    json_t *parts = json_array(), *moves = json_array(), *here = json_array();
    for (size_t i = 0; i < st->nparts; i++) {
        const os_ops_part_t *p = &st->parts[i];
        json_array_append_new(
            parts,
            json_pack("{s:i,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:b}", "partition", (int)p->partition, "position",
                      p->position >= 0 ? json_integer(p->position) : json_null(), "epoch",
                      (json_int_t)p->epoch, "storedAt",
                      p->updated_at[0] ? json_string(p->updated_at) : json_null(), "lowWatermark",
                      p->low >= 0 ? json_integer(p->low) : json_null(), "highWatermark",
                      p->high >= 0 ? json_integer(p->high) : json_null(), "lag",
                      p->lag >= 0 ? json_integer(p->lag) : json_null(), "leader",
                      p->leader >= 0 ? json_integer(p->leader) : json_null(), "assignedHere", p->here));
    }
    for (size_t i = 0; i < st->nmoves; i++) {
        const os_move_rec_t *m = &st->moves[i];
        json_array_append_new(moves, json_pack("{s:I,s:s,s:i,s:o,s:I,s:I,s:s}", "id", (json_int_t)m->id, "at",
                                               m->at, "partition", (int)m->partition, "from",
                                               m->from >= 0 ? json_integer(m->from) : json_null(), "to",
                                               (json_int_t)m->to, "epoch", (json_int_t)m->epoch, "request",
                                               m->request));
    }
    for (size_t i = 0; i < st->proj.nassigned; i++)
        json_array_append_new(here, json_integer(st->proj.assigned[i]));
    return json_pack("{s:s,s:s,s:s,s:b,s:o,s:I,s:o,s:o,s:s?}", "topic", o->topic, "group", o->group, "state",
                     !st->proj.running ? "stopped"
                     : st->proj.paused ? "paused"
                                       : "running",
                     "paused", st->proj.paused, "assignedHere", here, "movesHere", (json_int_t)st->proj.moves,
                     "partitions", parts, "recentMoves", moves, "kafkaError",
                     st->kafka_error[0] ? st->kafka_error : NULL);
}

static int os_ops_send_status(const os_ops_http_t *h, h2o_req_t *req, int status)
{
    char err[512] = "";
    os_ops_status_t *st = malloc(sizeof *st);
    if (st == NULL)
        return httpd_send_problem(req, 503, "Service Unavailable", "out of memory");
    os_ops_rc_t rc = os_ops_status(h->ops, st, err, sizeof err);
    int r = rc == OS_OPS_OK ? httpd_send_json(req, status, os_ops_status_json(h->ops, st))
                            : os_ops_fail(req, rc, err);
    free(st);
    return r;
}

static int os_ops_projection(void *ctx, h2o_req_t *req)
{
    const os_ops_http_t *h = ctx;
    if (os_ops_gate(h, req) != 0)
        return 0;
    if (strcmp(httpd_path(req), "/admin/projection") != 0)
        return httpd_send_problem(req, 404, "Not Found", "no such resource: %s", httpd_path(req));
    return os_ops_send_status(h, req, 200);
}

static int os_ops_pause_h(void *ctx, h2o_req_t *req)
{
    const os_ops_http_t *h = ctx;
    char err[512] = "";
    if (os_ops_gate(h, req) != 0)
        return 0;
    const char *path = httpd_path(req);
    int on = strcmp(path, "/admin/projection/pause") == 0;
    if (!on && strcmp(path, "/admin/projection/resume") != 0)
        return httpd_send_problem(req, 404, "Not Found", "no such resource: %s", path);
    os_ops_rc_t rc = os_ops_pause(h->ops, on, err, sizeof err);
    return rc == OS_OPS_OK ? os_ops_send_status(h, req, 200) : os_ops_fail(req, rc, err);
}

/* {"partitions":[0,2]?, "to":"beginning"|"offset"|"timestamp", "offset":N, "timestamp":T} */
static int os_ops_replay_parse(h2o_req_t *req, const json_t *b, os_replay_req_t *rq, int32_t *parts)
{
    const json_t *to = json_object_get(b, "to"), *ps = json_object_get(b, "partitions");
    const char *k = json_string_value(to);
    const json_t *off = json_object_get(b, "offset"), *ts = json_object_get(b, "timestamp");
    memset(rq, 0, sizeof *rq);
    /* offset and timestamp are checked whenever given, also when `to` does not use them */
    if (off != NULL && (!json_is_integer(off) || json_integer_value(off) < 0))
        return httpd_send_problem(req, 400, "Bad Request", "\"offset\" must be an integer ≥ 0"), -1;
    if (ts != NULL && os_ops_time(ts, &rq->value) != 0)
        return httpd_send_problem(req, 400, "Bad Request",
                                  "\"timestamp\" must be ISO-8601 with a zone (2026-03-01T10:00:00Z) or "
                                  "epoch milliseconds"),
               -1;
    if (k == NULL)
        return httpd_send_problem(
                   req, 400, "Bad Request",
                   "\"to\" must be \"beginning\", \"offset\" (with \"offset\") or \"timestamp\" "
                   "(with \"timestamp\": ISO-8601 or epoch ms)"),
               -1;
    if (strcmp(k, "beginning") == 0) {
        rq->kind = OS_REPLAY_BEGINNING;
    } else if (strcmp(k, "offset") == 0) {
        const json_t *v = json_object_get(b, "offset");
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return httpd_send_problem(req, 400, "Bad Request", "\"offset\" must be an integer ≥ 0"), -1;
        rq->kind = OS_REPLAY_OFFSET;
        rq->value = json_integer_value(v);
    } else if (strcmp(k, "timestamp") == 0) {
        rq->kind = OS_REPLAY_TIMESTAMP;
        if (os_ops_time(json_object_get(b, "timestamp"), &rq->value) != 0)
            return httpd_send_problem(req, 400, "Bad Request",
                                      "\"timestamp\" must be ISO-8601 with a zone (2026-03-01T10:00:00Z) or "
                                      "epoch milliseconds"),
                   -1;
    } else {
        return httpd_send_problem(req, 400, "Bad Request",
                                  "\"to\" must be \"beginning\", \"offset\" or \"timestamp\", not \"%s\"", k),
               -1;
    }
    if (ps != NULL && !json_is_array(ps))
        return httpd_send_problem(req, 400, "Bad Request",
                                  "\"partitions\" must be an array of partition numbers"),
               -1;
    size_t i;
    json_t *v;
    json_array_foreach(ps, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= OS_OPS_MAX_PARTS ||
            i >= OS_OPS_MAX_PARTS)
            return httpd_send_problem(req, 400, "Bad Request",
                                      "\"partitions\"[%zu] is not a partition number", i),
                   -1;
        parts[rq->nparts++] = (int32_t)json_integer_value(v);
    }
    if (ps != NULL && rq->nparts == 0)
        return httpd_send_problem(req, 400, "Bad Request",
                                  "\"partitions\" is empty (leave it out to move every partition)"),
               -1;
    rq->parts = parts;
    return 0;
}

static int os_ops_replay_h(void *ctx, h2o_req_t *req)
{
    const os_ops_http_t *h = ctx;
    char err[512] = "";
    int32_t parts[OS_OPS_MAX_PARTS];
    os_replay_req_t rq;
    size_t n = 0;
    if (os_ops_gate(h, req) != 0)
        return 0;
    if (strcmp(httpd_path(req), "/admin/projection/replay") != 0)
        return httpd_send_problem(req, 404, "Not Found", "no such resource: %s", httpd_path(req));
    json_t *b = os_ops_body(req);
    if (b == NULL)
        return 0;
    if (os_ops_replay_parse(req, b, &rq, parts) != 0) {
        json_decref(b);
        return 0;
    }
    json_decref(b);
    rq.requester = httpd_header(req, "x-requested-by");
    os_move_t *mv = calloc(OS_OPS_MAX_PARTS, sizeof *mv);
    if (mv == NULL)
        return httpd_send_problem(req, 503, "Service Unavailable", "out of memory");
    os_ops_rc_t rc = os_ops_replay(h->ops, &rq, mv, &n, err, sizeof err);
    if (rc != OS_OPS_OK) {
        free(mv);
        return os_ops_fail(req, rc, err);
    }
    json_t *moved = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(moved, json_pack("{s:i,s:o,s:I,s:I}", "partition", (int)mv[i].partition, "from",
                                               mv[i].from >= 0 ? json_integer(mv[i].from) : json_null(), "to",
                                               (json_int_t)mv[i].to, "epoch", (json_int_t)mv[i].epoch));
    free(mv);
    return httpd_send_json(req, 200, json_pack("{s:s,s:o}", "topic", h->ops->topic, "moved", moved));
}

/* ---- the dead-letter topic ---- */

/* Query parameter `name` as an integer in [min, max] into *v (def when absent): 0, or -1
 * after answering 400. */
static int os_ops_qint(h2o_req_t *req, const char *name, long long min, long long max, long long def,
                       long long *v)
{
    char buf[32], *end = NULL;
    int r = httpd_query_get(req, name, buf, sizeof buf);
    *v = def;
    if (r == 0)
        return 0;
    if (r > 0 && buf[0] != '\0') {
        *v = strtoll(buf, &end, 10);
        if (*end == '\0' && *v >= min && *v <= max)
            return 0;
    }
    httpd_send_problem(req, 400, "Bad Request", "query parameter %s must be an integer in %lld..%lld", name,
                       min, max);
    return -1;
}

static json_t *os_ops_dlq_rec_json(const os_dlq_rec_t *r)
{
    char ts[TIMETEXT_LEN + 1], occ[TIMETEXT_LEN + 1];
    json_t *ev = json_null();
    if (r->timestamp_ms >= 0)
        timetext_format(r->timestamp_ms, ts);
    if (r->ok) {
        timetext_format(r->occurred_at_ms, occ);
        ev = r->tombstone ? json_pack("{s:s,s:b}", "id", r->id, "tombstone", 1)
                          : json_pack("{s:s,s:I,s:s,s:s,s:s,s:s}", "id", r->id, "version",
                                      (json_int_t)r->version, "occurredAt", occ, "username", r->username,
                                      "firstName", r->first_name, "lastName", r->last_name);
    }
    json_t *src =
        json_pack("{s:o,s:o,s:o}", "topic", r->src_topic[0] ? json_string(r->src_topic) : json_null(),
                  "partition", r->src_partition >= 0 ? json_integer(r->src_partition) : json_null(), "offset",
                  r->src_offset >= 0 ? json_integer(r->src_offset) : json_null());
    return json_pack("{s:i,s:I,s:o,s:s,s:s,s:s,s:o,s:I,s:b,s:b,s:o,s:o}", "partition", (int)r->partition,
                     "offset", (json_int_t)r->offset, "timestamp",
                     r->timestamp_ms >= 0 ? json_string(ts) : json_null(), "key", r->key, "reason", r->reason,
                     "detail", r->detail, "source", src, "valueBytes", (json_int_t)r->value_len, "tombstone",
                     r->tombstone, "decodesNow", r->ok, "error", r->ok ? json_null() : json_string(r->error),
                     "event", ev);
}

/* Query parameter `name` as text into out (NULL when absent): 0, or -1 after answering 400. */
static int os_ops_qstr(h2o_req_t *req, const char *name, char *buf, size_t len, const char **out)
{
    int r = httpd_query_get(req, name, buf, len);
    *out = r > 0 ? buf : NULL;
    if (r >= 0)
        return 0;
    httpd_send_problem(req, 400, "Bad Request", "query parameter %s is malformed or longer than %zu bytes",
                       name, len - 1);
    return -1;
}

static int os_ops_dlq_h(void *ctx, h2o_req_t *req)
{
    const os_ops_http_t *h = ctx;
    char err[512] = "", reason[64], key[128];
    long long part, off, limit;
    os_ops_dlq_req_t rq = {0};
    if (os_ops_gate(h, req) != 0)
        return 0;
    if (strcmp(httpd_path(req), "/admin/dlq") != 0)
        return httpd_send_problem(req, 404, "Not Found", "no such resource: %s", httpd_path(req));
    if (os_ops_qint(req, "partition", 0, OS_OPS_MAX_PARTS - 1, -1, &part) != 0 ||
        os_ops_qint(req, "offset", 0, INT64_MAX, 0, &off) != 0 ||
        os_ops_qint(req, "limit", 1, OS_OPS_DLQ_LIMIT_MAX, OS_OPS_DLQ_LIMIT, &limit) != 0 ||
        os_ops_qstr(req, "reason", reason, sizeof reason, &rq.reason) != 0 ||
        os_ops_qstr(req, "key", key, sizeof key, &rq.key) != 0)
        return 0;
    rq.partition = (int32_t)part, rq.offset = off, rq.limit = (size_t)limit;
    os_ops_dlq_t *d = malloc(sizeof *d);
    if (d == NULL)
        return httpd_send_problem(req, 503, "Service Unavailable", "out of memory");
    os_ops_rc_t rc = os_ops_dlq_list(h->ops, &rq, d, err, sizeof err);
    if (rc != OS_OPS_OK) {
        free(d);
        return os_ops_fail(req, rc, err);
    }
    json_t *parts = json_array(), *recs = json_array();
    for (size_t i = 0; i < d->nparts; i++)
        json_array_append_new(parts, json_pack("{s:i,s:I,s:I}", "partition", (int)d->parts[i].partition,
                                               "lowWatermark", (json_int_t)d->parts[i].low, "highWatermark",
                                               (json_int_t)d->parts[i].high));
    for (size_t i = 0; i < d->n; i++)
        json_array_append_new(recs, os_ops_dlq_rec_json(&d->recs[i]));
    json_t *next = d->more ? json_pack("{s:i,s:I}", "partition", (int)d->next_partition, "offset",
                                       (json_int_t)d->next_offset)
                           : json_null();
    json_t *res =
        json_pack("{s:s,s:o,s:o,s:I,s:b,s:o}", "topic", h->ops->dlq_topic, "partitions", parts, "records",
                  recs, "scanned", (json_int_t)d->scanned, "more", d->more, "next", next);
    os_ops_dlq_free(d);
    free(d);
    return httpd_send_json(req, 200, res);
}

/* A dead-letter position {"partition":P,"offset":O} into *p: 0, or -1 (not one). */
static int os_ops_pos(const json_t *v, os_dlq_pos_t *p)
{
    json_t *jp = json_object_get(v, "partition"), *jo = json_object_get(v, "offset");
    if (!json_is_object(v) || !json_is_integer(jp) || !json_is_integer(jo) || json_integer_value(jp) < 0 ||
        json_integer_value(jp) >= OS_OPS_MAX_PARTS || json_integer_value(jo) < 0)
        return -1;
    p->partition = (int32_t)json_integer_value(jp), p->offset = json_integer_value(jo);
    return 0;
}

/* The redrive's body into rq (pos: room for OS_OPS_REDRIVE_RECORDS; rq's strings borrow b):
 * 0, or -1 after answering 400. */
static int os_ops_redrive_parse(h2o_req_t *req, json_t *b, os_ops_redrive_req_t *rq, os_dlq_pos_t *pos)
{
    static const char *const known[] = {"records", "reason", "key", "all", "partition", "from", NULL};
    json_t *recs = json_object_get(b, "records"), *reason = json_object_get(b, "reason");
    json_t *key = json_object_get(b, "key"), *all = json_object_get(b, "all");
    json_t *part = json_object_get(b, "partition"), *from = json_object_get(b, "from");
    const char *k;
    json_t *v;
    memset(rq, 0, sizeof *rq);
    rq->partition = -1;
    json_object_foreach(b, k, v)
    {
        int ok = 0;
        for (size_t i = 0; known[i] != NULL; i++)
            ok |= strcmp(k, known[i]) == 0;
        if (!ok)
            return httpd_send_problem(req, 400, "Bad Request",
                                      "unknown field \"%s\" (records, reason, key, all, partition, from)", k),
                   -1;
    }
    if ((reason != NULL && (!json_is_string(reason) || json_string_length(reason) == 0)) ||
        (key != NULL && (!json_is_string(key) || json_string_length(key) == 0)) ||
        (all != NULL && !json_is_boolean(all)))
        return httpd_send_problem(req, 400, "Bad Request",
                                  "\"reason\" and \"key\" must be non-empty strings, \"all\" true or false"),
               -1;
    int filters = reason != NULL || key != NULL;
    if ((recs != NULL) + (filters || json_is_true(all)) != 1 || (json_is_true(all) && filters))
        return httpd_send_problem(req, 400, "Bad Request",
                                  "say what to redrive: \"records\" [{partition, offset}…], or \"reason\" "
                                  "and/or \"key\", or \"all\": true — one of them"),
               -1;
    if (recs != NULL) {
        size_t i;
        if (!json_is_array(recs) || json_array_size(recs) == 0 ||
            json_array_size(recs) > OS_OPS_REDRIVE_RECORDS || part != NULL || from != NULL)
            return httpd_send_problem(req, 400, "Bad Request",
                                      "\"records\" must list 1..%d {\"partition\", \"offset\"} (no "
                                      "\"partition\" or \"from\" with it)",
                                      OS_OPS_REDRIVE_RECORDS),
                   -1;
        json_array_foreach(recs, i, v)
        {
            if (os_ops_pos(v, &pos[i]) != 0)
                return httpd_send_problem(req, 400, "Bad Request",
                                          "\"records\"[%zu] is not {\"partition\": P, \"offset\": O}", i),
                       -1;
        }
        rq->recs = pos, rq->nrecs = json_array_size(recs);
        return 0;
    }
    rq->reason = json_string_value(reason), rq->key = json_string_value(key);
    if (part != NULL) {
        if (!json_is_integer(part) || json_integer_value(part) < 0 ||
            json_integer_value(part) >= OS_OPS_MAX_PARTS)
            return httpd_send_problem(req, 400, "Bad Request", "\"partition\" is not a partition number"), -1;
        rq->partition = (int32_t)json_integer_value(part);
        rq->from.partition = rq->partition;
    }
    if (from != NULL &&
        (os_ops_pos(from, &rq->from) != 0 || (rq->partition >= 0 && rq->from.partition != rq->partition)))
        return httpd_send_problem(
                   req, 400, "Bad Request",
                   "\"from\" must be {\"partition\", \"offset\"} (a previous answer's \"next\"), "
                   "of the \"partition\" asked"),
               -1;
    return 0;
}

static json_t *os_ops_rd_json(const os_rd_result_t *r)
{
    json_t *src = r->src_topic[0] ? json_pack("{s:s,s:i,s:I}", "topic", r->src_topic, "partition",
                                              (int)r->src_partition, "offset", (json_int_t)r->src_offset)
                                  : json_null();
    return json_pack("{s:i,s:I,s:s,s:s,s:o,s:o,s:o,s:b,s:s,s:s?,s:s}", "partition", (int)r->partition,
                     "offset", (json_int_t)r->offset, "key", r->key, "reason", r->reason, "source", src, "id",
                     r->id[0] ? json_string(r->id) : json_null(), "version",
                     r->version > 0 ? json_integer(r->version) : json_null(), "tombstone", r->tombstone,
                     "outcome", os_rd_outcome_name(r->outcome), "decision", r->decision, "detail", r->detail);
}

static int os_ops_redrive_h(void *ctx, h2o_req_t *req)
{
    const os_ops_http_t *h = ctx;
    char err[512] = "";
    os_dlq_pos_t pos[OS_OPS_REDRIVE_RECORDS];
    os_ops_redrive_req_t rq;
    os_ops_redrive_t out;
    if (os_ops_gate(h, req) != 0)
        return 0;
    if (strcmp(httpd_path(req), "/admin/dlq/redrive") != 0)
        return httpd_send_problem(req, 404, "Not Found", "no such resource: %s", httpd_path(req));
    json_t *b = os_ops_body(req);
    if (b == NULL)
        return 0;
    if (os_ops_redrive_parse(req, b, &rq, pos) != 0) {
        json_decref(b);
        return 0;
    }
    os_ops_rc_t rc = os_ops_redrive(h->ops, &rq, &out, err, sizeof err);
    json_decref(b); /* rq's strings */
    if (rc != OS_OPS_OK)
        return os_ops_fail(req, rc, err);
    json_t *recs = json_array();
    for (size_t i = 0; i < out.n; i++)
        json_array_append_new(recs, os_ops_rd_json(&out.res[i]));
    json_t *next = out.more ? json_pack("{s:i,s:I}", "partition", (int)out.next.partition, "offset",
                                        (json_int_t)out.next.offset)
                            : json_null();
    json_t *res =
        json_pack("{s:s,s:I,s:I,s:I,s:I,s:o,s:b,s:o}", "topic", h->ops->dlq_topic, "applied",
                  (json_int_t)out.counts[OS_RD_APPLIED], "skipped", (json_int_t)out.counts[OS_RD_SKIPPED],
                  "alreadyHandled", (json_int_t)out.counts[OS_RD_ALREADY], "failed",
                  (json_int_t)out.counts[OS_RD_FAILED], "records", recs, "more", out.more, "next", next);
    os_ops_redrive_free(&out);
    return httpd_send_json(req, 200, res);
}

int os_ops_http_register(httpd_t *s, os_ops_http_t *h)
{
    if (httpd_route(s, "GET", "/admin/projection", "/admin/projection", os_ops_projection, h) ||
        httpd_route(s, "POST", "/admin/projection/pause", "/admin/projection/pause", os_ops_pause_h, h) ||
        httpd_route(s, "POST", "/admin/projection/resume", "/admin/projection/resume", os_ops_pause_h, h) ||
        httpd_route(s, "POST", "/admin/projection/replay", "/admin/projection/replay", os_ops_replay_h, h) ||
        httpd_route(s, "POST", "/admin/dlq/redrive", "/admin/dlq/redrive", os_ops_redrive_h, h) ||
        httpd_route(s, "GET", "/admin/dlq", "/admin/dlq", os_ops_dlq_h, h))
        return -1;
    return 0;
}
