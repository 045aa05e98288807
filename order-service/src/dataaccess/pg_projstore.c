/* pg_projstore.c — the projection store on PostgreSQL. See pg_projstore.h. */
#include "dataaccess/pg_projstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataaccess/pgarr.h"
#include "dataaccess/pgpipe.h"
#include "dbuf.h"
#include "pgx.h"

#define OS_ARR_CAP ((size_t)1 << 30)

/* Runs sql (no parameters; several ';'-separated statements allowed). 0, or -1 with err. */
static int os_pg_cmd(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        return pgx_fail(r, c, what, err, errlen);
    PQclear(r);
    return 0;
}

/* ---- prepared statements and the pipeline ---- */

enum { OS_ST_LOAD, OS_ST_DEL, OS_ST_UPSERT, OS_ST_OFFS, OS_ST_N };

static const char *os_st_name(const os_pgproj_t *s, int k)
{
    static const char *const live[OS_ST_N] = {"os_load_live", "os_del_live", "os_up_live", "os_offs"};
    static const char *const shadow[OS_ST_N] = {"os_load_shadow", "os_del_shadow", "os_up_shadow", "os_offs"};
    return strcmp(s->table, OS_TABLE_LIVE) == 0 ? live[k] : shadow[k];
}

/* Writes statement k's SQL for s's table into sql. Returns its parameter count. */
static int os_st_sql(const os_pgproj_t *s, int k, char *sql, size_t len)
{
    switch (k) {
    case OS_ST_LOAD:
        /* the live table's rows are locked against a concurrent writer (a replica during a
         * rebalance, or the swap); nobody else writes a shadow table. One primary-key lookup
         * per id (LATERAL … LIMIT 1): the plan is made once per session, often while the
         * table is new and nearly empty (a new deployment, a backlog), and a join or
         * `= ANY` planned then was a sequential scan of the whole table at every batch
         * once it had grown (a 300k-event backlog drained at 5,400 events/s instead of
         * 70,000); a lookup by the key can only be planned as an index scan. */
        snprintf(sql, len,
                 "SELECT c.id::text, c.version FROM unnest($1::uuid[]) AS u(id) CROSS JOIN LATERAL "
                 "(SELECT id, version FROM %s WHERE id = u.id LIMIT 1%s) AS c",
                 s->table, strcmp(s->table, OS_TABLE_LIVE) == 0 ? " FOR UPDATE" : "");
        return 1;
    case OS_ST_DEL:
        snprintf(sql, len, "DELETE FROM %s WHERE id = ANY($1::uuid[])", s->table);
        return 1;
    case OS_ST_UPSERT:
        snprintf(sql, len,
                 "INSERT INTO %s AS c (id, username, first_name, last_name, version, updated_at) "
                 "SELECT u.id, u.un, u.fn, u.ln, u.v, CASE WHEN u.t > 0 THEN to_timestamp(u.t::double "
                 "precision / 1000) END "
                 "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], "
                 "$6::bigint[]) AS u(id, un, fn, ln, v, t) "
                 "ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, "
                 "first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, "
                 "version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
                 s->table);
        return 6;
    default:
        /* stored only where the epoch is still the batch's (an operator's move bumps it):
         * otherwise projection_epoch_check raises and the batch rolls back */
        snprintf(sql, len,
                 "WITH w AS (INSERT INTO \"order\".projection_offsets AS po (topic, partition, next_offset, "
                 "epoch) SELECT $1, u.p, u.o, u.e FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS "
                 "u(p, o, e) ON CONFLICT (topic, partition) DO UPDATE SET next_offset = "
                 "EXCLUDED.next_offset, updated_at = now() WHERE po.epoch = EXCLUDED.epoch RETURNING 1) "
                 "SELECT \"order\".projection_epoch_check(count(*)::int, cardinality($2::int[])) FROM w");
        return 4;
    }
}

/* Prepares the statements (and sets the session up) once per server session: a reset
 * connection has a new backend, and with it no prepared statements. 0 or -1. */
static int os_pp_session(os_pgproj_t *s, char *err, size_t errlen)
{
    int pid = PQbackendPID(s->conn);
    char sql[768];
    if (pid != 0 && pid == s->session_pid)
        return 0;
    /* generic plans: an array parameter's size is unknown to them, so `= ANY($1)` stays an
     * index scan (a custom plan for 500 ids on a table without statistics yet scanned it
     * all), and no batch pays for planning */
    if (os_pg_cmd(s->conn, "SET plan_cache_mode = force_generic_plan", "session setup", err, errlen) != 0)
        return -1;
    if (s->async_commit &&
        os_pg_cmd(s->conn, "SET synchronous_commit TO off", "session setup", err, errlen) != 0)
        return -1;
    for (int k = 0; k < OS_ST_N; k++) {
        int np = os_st_sql(s, k, sql, sizeof sql);
        PGresult *r = PQprepare(s->conn, os_st_name(s, k), sql, np, NULL);
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* 42P05: already prepared in this session (by another store on the connection) */
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !(state != NULL && strcmp(state, "42P05") == 0))
            return pgx_fail(r, s->conn, "prepare", err, errlen);
        PQclear(r);
    }
    s->session_pid = pid;
    return 0;
}

/* Queues statement k (or, with k < 0, the parameterless `sql`) in the pipeline, preceded
 * by the batch's BEGIN / SAVEPOINT when that is not sent yet. 0 or -1. */
static int os_pp_send(os_pgproj_t *s, int k, const char *sql, const char *const *vals, char *err,
                      size_t errlen)
{
    static const int nparams[OS_ST_N] = {1, 1, 6, 4}; /* as os_st_sql says */
    if (os_pp_session(s, err, errlen) != 0)
        return -1;
    s->pipe.conn = s->conn;
    if (!s->begun) {
        if (os_pgpipe_send(&s->pipe, NULL, s->nested ? "SAVEPOINT os_batch" : "BEGIN", 0, NULL, err,
                           errlen) != 0)
            return -1;
        s->begun = 1;
    }
    return k >= 0 ? os_pgpipe_send(&s->pipe, os_st_name(s, k), NULL, nparams[k], vals, err, errlen)
                  : os_pgpipe_send(&s->pipe, NULL, sql, 0, NULL, err, errlen);
}

int os_pgproj_prepare(os_pgproj_t *s, char *err, size_t errlen)
{
    char names[256] = "{";
    int pid = PQbackendPID(s->conn);
    if (pid != 0 && pid == s->session_pid)
        return 0;
    for (int k = 0; k < OS_ST_N; k++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? "," : "", os_st_name(s, k));
    snprintf(names + strlen(names), sizeof names - strlen(names), "}");
    /* a pooled connection that has them already (an earlier store on it): nothing to prepare,
     * and no failed PREPARE for the server's log */
    const char *vals[1] = {names};
    PGresult *r =
        PQexecParams(s->conn, "SELECT count(*) FROM pg_prepared_statements WHERE name = ANY($1::text[])", 1,
                     NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pgx_fail(r, s->conn, "prepared statements", err, errlen);
    int have = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (have == OS_ST_N && !s->async_commit) {
        s->session_pid = pid;
        return 0;
    }
    return os_pp_session(s, err, errlen);
}

/* ---- the port ---- */

static int os_pgproj_begin(void *self, char *err, size_t errlen)
{
    os_pgproj_t *s = self;
    (void)err;
    (void)errlen;
    s->begun = 0; /* sent with the batch's first statement */
    s->pipe.conn = s->conn;
    s->pipe.queued = 0;
    return 0;
}

static void os_pgproj_rollback(void *self)
{
    os_pgproj_t *s = self;
    s->pipe.conn = s->conn;
    os_pgpipe_discard(&s->pipe);
    if (s->begun && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, s->nested ? "ROLLBACK TO SAVEPOINT os_batch" : "ROLLBACK"));
    s->begun = 0;
}

static int os_pgproj_commit(void *self, char *err, size_t errlen)
{
    os_pgproj_t *s = self;
    PGresult *r = NULL;
    if (!s->begun)
        return 0; /* nothing was sent: nothing to commit */
    if (os_pp_send(s, -1, s->nested ? "RELEASE SAVEPOINT os_batch" : "COMMIT", NULL, err, errlen) != 0 ||
        os_pgpipe_sync(&s->pipe, &r, "commit", err, errlen) != 0)
        goto fail;
    /* COMMIT of an aborted transaction answers ROLLBACK with status OK: treat as failure */
    if (!s->nested && (r == NULL || strcmp(PQcmdStatus(r), "COMMIT") != 0)) {
        snprintf(err, errlen, "commit: the transaction was rolled back");
        goto fail;
    }
    PQclear(r);
    s->begun = 0;
    return 0;
fail:
    PQclear(r);
    os_pgproj_rollback(s); /* a failed commit leaves no transaction behind */
    return -1;
}

static int os_pgproj_load(void *self, const char *const *ids, size_t n, proj_stored_t *out, char *err,
                          size_t errlen)
{
    os_pgproj_t *s = self;
    int rc = -1;
    dbuf_t arr;
    PGresult *r = NULL;
    dbuf_init(&arr, OS_ARR_CAP);
    for (size_t i = 0; i < n; i++) {
        out[i].found = 0;
        out[i].version = 0;
    }
    if (n == 0)
        return 0;
    if (s->cache != NULL) {
        for (size_t i = 0; i < n; i++)
            out[i].found = os_vcache_get(s->cache, ids[i], &out[i].version);
        dbuf_free(&arr);
        return 0;
    }
    if (os_pgarr_open(&arr) != 0)
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (os_pgarr_text(&arr, ids[i]) != 0)
            goto oom;
    if (os_pgarr_close(&arr) != 0)
        goto oom;
    const char *vals[1] = {dbuf_ptr(&arr)};
    if (os_pp_send(s, OS_ST_LOAD, NULL, vals, err, errlen) != 0 ||
        os_pgpipe_sync(&s->pipe, &r, "load versions", err, errlen) != 0)
        goto cleanup;
    for (int row = 0; row < PQntuples(r); row++) {
        const char *id = PQgetvalue(r, row, 0);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(ids[i], id) == 0) {
                out[i].found = 1;
                out[i].version = strtoll(PQgetvalue(r, row, 1), NULL, 10);
                break;
            }
        }
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory building a batch");
cleanup:
    PQclear(r);
    dbuf_free(&arr);
    return rc;
}

/* The statements' parameters are copied into libpq's output buffer when sent, so the
 * arrays can be freed before the pipeline is read. */
static int os_pgproj_apply(void *self, const proj_op_t *ops, size_t n, char *err, size_t errlen)
{
    os_pgproj_t *s = self;
    int rc = -1;
    dbuf_t a[6];
    dbuf_t del;
    size_t nup = 0, ndel = 0;

    for (int k = 0; k < 6; k++) {
        dbuf_init(&a[k], OS_ARR_CAP);
        if (os_pgarr_open(&a[k]) != 0)
            goto oom;
    }
    dbuf_init(&del, OS_ARR_CAP);
    if (os_pgarr_open(&del) != 0)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const proj_event_t *ev = ops[i].ev;
        if (ops[i].kind == PROJ_OP_DELETE) {
            if (os_pgarr_text(&del, ev->customer_id) != 0)
                goto oom;
            ndel++;
            continue;
        }
        if (os_pgarr_text(&a[0], ev->customer_id) || os_pgarr_text(&a[1], ev->username) ||
            os_pgarr_text(&a[2], ev->first_name) || os_pgarr_text(&a[3], ev->last_name) ||
            os_pgarr_int(&a[4], ev->version) || os_pgarr_int(&a[5], ev->occurred_at_ms))
            goto oom;
        nup++;
    }
    for (int k = 0; k < 6; k++)
        if (os_pgarr_close(&a[k]) != 0)
            goto oom;
    if (os_pgarr_close(&del) != 0)
        goto oom;
    if (ndel > 0) {
        const char *vals[1] = {dbuf_ptr(&del)};
        if (os_pp_send(s, OS_ST_DEL, NULL, vals, err, errlen) != 0)
            goto cleanup;
    }
    if (nup > 0) {
        const char *vals[6];
        for (int k = 0; k < 6; k++)
            vals[k] = dbuf_ptr(&a[k]);
        if (os_pp_send(s, OS_ST_UPSERT, NULL, vals, err, errlen) != 0)
            goto cleanup;
    }
    for (size_t i = 0; s->cache != NULL && i < n; i++) {
        if (ops[i].kind == PROJ_OP_DELETE)
            os_vcache_del(s->cache, ops[i].ev->customer_id);
        else if (os_vcache_put(s->cache, ops[i].ev->customer_id, ops[i].ev->version) != 0)
            goto oom;
    }
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory building a batch");
cleanup:
    for (int k = 0; k < 6; k++)
        dbuf_free(&a[k]);
    dbuf_free(&del);
    return rc;
}

static int os_pgproj_save_offsets(void *self, const char *topic, const os_offset_t *offs, size_t n, char *err,
                                  size_t errlen)
{
    os_pgproj_t *s = self;
    int rc = -1;
    dbuf_t p, o, e;
    dbuf_init(&p, OS_ARR_CAP);
    dbuf_init(&o, OS_ARR_CAP);
    dbuf_init(&e, OS_ARR_CAP);
    if (os_pgarr_open(&p) || os_pgarr_open(&o) || os_pgarr_open(&e))
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (os_pgarr_int(&p, offs[i].partition) || os_pgarr_int(&o, offs[i].next_offset) ||
            os_pgarr_int(&e, offs[i].epoch))
            goto oom;
    if (os_pgarr_close(&p) || os_pgarr_close(&o) || os_pgarr_close(&e))
        goto oom;
    const char *vals[4] = {topic, dbuf_ptr(&p), dbuf_ptr(&o), dbuf_ptr(&e)};
    rc = os_pp_send(s, OS_ST_OFFS, NULL, vals, err, errlen);
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory building offsets");
cleanup:
    dbuf_free(&p);
    dbuf_free(&o);
    dbuf_free(&e);
    return rc;
}

os_projstore_port_t os_pgproj_port(os_pgproj_t *s)
{
    os_projstore_port_t p = {s,
                             os_pgproj_begin,
                             os_pgproj_load,
                             os_pgproj_apply,
                             os_pgproj_save_offsets,
                             os_pgproj_commit,
                             os_pgproj_rollback};
    return p;
}

int os_pgproj_load_offsets(PGconn *c, const char *topic, os_offset_t *out, size_t cap, size_t *n, char *err,
                           size_t errlen)
{
    const char *vals[1] = {topic};
    PGresult *r = PQexecParams(c,
                               "SELECT partition, next_offset, epoch FROM \"order\".projection_offsets "
                               "WHERE topic = $1 ORDER BY partition",
                               1, NULL, vals, NULL, NULL, 0);
    *n = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pgx_fail(r, c, "load offsets", err, errlen);
    for (int i = 0; i < PQntuples(r) && *n < cap; i++) {
        out[*n].partition = (int32_t)strtol(PQgetvalue(r, i, 0), NULL, 10);
        out[*n].next_offset = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        out[*n].epoch = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        (*n)++;
    }
    PQclear(r);
    return 0;
}
