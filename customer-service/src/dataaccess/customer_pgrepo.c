/* customer_pgrepo.c — customer repository on PostgreSQL (libpq). See customer_pgrepo.h. */
#include "dataaccess/customer_pgrepo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgx.h"

static const char SQL_INSERT[] =
    "WITH c AS (INSERT INTO customer.customers (id, username, first_name, last_name, version,"
    " created_at, updated_at) VALUES ($1::uuid, $2, $3, $4, $5::bigint,"
    " to_timestamp($6::float8 / 1000), to_timestamp($6::float8 / 1000)) RETURNING id)"
    " INSERT INTO customer.outbox (aggregate_id, version, event_type, payload, occurred_at, traceparent)"
    " SELECT id, $5::bigint, 'CREATED', $7::bytea, to_timestamp($6::float8 / 1000), $8::text FROM c";

static const char SQL_UPDATE[] =
    "WITH c AS (UPDATE customer.customers SET username = $2, first_name = $3, last_name = $4,"
    " version = $5::bigint, updated_at = to_timestamp($6::float8 / 1000)"
    " WHERE id = $1::uuid AND version = $8::bigint RETURNING id)"
    " INSERT INTO customer.outbox (aggregate_id, version, event_type, payload, occurred_at, traceparent)"
    " SELECT id, $5::bigint, 'UPDATED', $7::bytea, to_timestamp($6::float8 / 1000), $9::text FROM c";

static const char SQL_DELETE[] =
    "WITH c AS (DELETE FROM customer.customers WHERE id = $1::uuid AND version = $2::bigint"
    " RETURNING id)"
    " INSERT INTO customer.outbox (aggregate_id, version, event_type, payload, occurred_at, traceparent)"
    " SELECT id, $3::bigint, 'DELETED', NULL, to_timestamp($4::float8 / 1000), $5::text FROM c";

static const char SQL_FIND[] = "SELECT id::text, username, first_name, last_name, version,"
                               " (extract(epoch FROM created_at) * 1000)::bigint,"
                               " (extract(epoch FROM updated_at) * 1000)::bigint"
                               " FROM customer.customers WHERE id = $1::uuid";

/* Executes the named prepared statement, preparing it first when this pooled connection
 * does not have it yet (SQLSTATE 26000: a fresh or reconnected connection). Preparing once
 * per connection spares the server a parse and plan per request. Owned result. */
static PGresult *pgrepo_exec(PGconn *c, const char *name, const char *sql, int n, const char *const *vals,
                             const int *lens, const int *fmts)
{
    PGresult *res = PQexecPrepared(c, name, n, vals, lens, fmts, 0);
    if (PQresultStatus(res) == PGRES_FATAL_ERROR && strcmp(pgx_sqlstate(res), "26000") == 0) {
        PQclear(res);
        res = PQprepare(c, name, sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            return res;
        PQclear(res);
        res = PQexecPrepared(c, name, n, vals, lens, fmts, 0);
    }
    return res;
}

/* Runs one statement (`name`: its prepared-statement name); sets *rows to the
 * affected/returned row count. */
static repo_rc_t pgrepo_run(customer_pgrepo_t *r, const char *name, const char *sql, int n,
                            const char *const *vals, const int *lens, const int *fmts, int *rows,
                            PGresult **keep)
{
    PGconn *c = pgpool_get(r->pool, r->timeout_ms);
    PGresult *res = NULL;
    repo_rc_t rc = REPO_ERROR;
    int broken = 0;
    ExecStatusType st;

    if (c == NULL)
        return REPO_UNAVAILABLE;
    res = pgrepo_exec(c, name, sql, n, vals, lens, fmts);
    st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *rows = st == PGRES_TUPLES_OK ? PQntuples(res) : atoi(PQcmdTuples(res));
        rc = REPO_OK;
        if (keep) {
            *keep = res;
            res = NULL;
        }
        goto cleanup;
    }
    if (strcmp(pgx_sqlstate(res), "23505") == 0) {
        const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        rc = cons && strcmp(cons, "customers_username_key") == 0 ? REPO_DUP_USERNAME : REPO_DUP_ID;
        goto cleanup;
    }
    if (pgx_unavailable(res, c)) { /* a dead server or a standby (failover): 503, reconnect */
        broken = 1;
        rc = REPO_UNAVAILABLE;
    }
    clog_error(r->log, "customer repository: %s", PQerrorMessage(c));
cleanup:
    PQclear(res);
    pgpool_put(r->pool, c, broken);
    return rc;
}

static repo_rc_t pg_insert(void *self, const customer_t *cu, const customer_event_t *ev,
                           const unsigned char *payload, size_t len)
{
    char ver[24], ts[24];
    int rows = 0;
    snprintf(ver, sizeof ver, "%lld", (long long)cu->version);
    snprintf(ts, sizeof ts, "%lld", (long long)ev->occurred_at_ms);
    const char *vals[8] = {cu->id, cu->username, cu->first_name,        cu->last_name,
                           ver,    ts,           (const char *)payload, ev->traceparent};
    const int lens[8] = {0, 0, 0, 0, 0, 0, (int)len, 0};
    const int fmts[8] = {0, 0, 0, 0, 0, 0, 1, 0};
    repo_rc_t rc = pgrepo_run(self, "cs_insert", SQL_INSERT, 8, vals, lens, fmts, &rows, NULL);
    if (rc == REPO_OK && rows != 1)
        rc = REPO_ERROR;
    return rc;
}

static repo_rc_t pg_update(void *self, const customer_t *cu, int64_t expected, const customer_event_t *ev,
                           const unsigned char *payload, size_t len)
{
    char ver[24], ts[24], exp[24];
    int rows = 0;
    snprintf(ver, sizeof ver, "%lld", (long long)cu->version);
    snprintf(ts, sizeof ts, "%lld", (long long)ev->occurred_at_ms);
    snprintf(exp, sizeof exp, "%lld", (long long)expected);
    const char *vals[9] = {
        cu->id, cu->username,   cu->first_name, cu->last_name, ver, ts, (const char *)payload,
        exp,    ev->traceparent};
    const int lens[9] = {0, 0, 0, 0, 0, 0, (int)len, 0, 0};
    const int fmts[9] = {0, 0, 0, 0, 0, 0, 1, 0, 0};
    repo_rc_t rc = pgrepo_run(self, "cs_update", SQL_UPDATE, 9, vals, lens, fmts, &rows, NULL);
    if (rc == REPO_OK && rows != 1)
        rc = REPO_CONFLICT; /* not found or another version: the caller re-reads */
    return rc;
}

static repo_rc_t pg_remove(void *self, const char *id, int64_t expected, const customer_event_t *ev)
{
    char exp[24], ver[24], ts[24];
    int rows = 0;
    snprintf(exp, sizeof exp, "%lld", (long long)expected);
    snprintf(ver, sizeof ver, "%lld", (long long)ev->customer.version);
    snprintf(ts, sizeof ts, "%lld", (long long)ev->occurred_at_ms);
    const char *vals[5] = {id, exp, ver, ts, ev->traceparent};
    repo_rc_t rc = pgrepo_run(self, "cs_delete", SQL_DELETE, 5, vals, NULL, NULL, &rows, NULL);
    if (rc == REPO_OK && rows != 1)
        rc = REPO_CONFLICT;
    return rc;
}

static repo_rc_t pg_find(void *self, const char *id, customer_t *out)
{
    PGresult *res = NULL;
    int rows = 0;
    const char *vals[1] = {id};
    repo_rc_t rc = pgrepo_run(self, "cs_find", SQL_FIND, 1, vals, NULL, NULL, &rows, &res);
    if (rc != REPO_OK)
        return rc;
    if (rows != 1) {
        rc = REPO_NOT_FOUND;
        goto cleanup;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->username, sizeof out->username, "%s", PQgetvalue(res, 0, 1));
    snprintf(out->first_name, sizeof out->first_name, "%s", PQgetvalue(res, 0, 2));
    snprintf(out->last_name, sizeof out->last_name, "%s", PQgetvalue(res, 0, 3));
    out->version = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    out->created_at_ms = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    out->updated_at_ms = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
cleanup:
    PQclear(res);
    return rc;
}

static const customer_repo_ops_t customer_pgrepo_ops = {pg_insert, pg_update, pg_remove, pg_find};

customer_repo_t customer_pgrepo_port(customer_pgrepo_t *r)
{
    return (customer_repo_t){&customer_pgrepo_ops, r};
}
