/* pg_ops.c — the operations API's reads of order-service's schema (os_opsdb_port_t): the
 * stored positions and the history of moves. A pooled connection per call. See pg_ops.h. */
#include "dataaccess/pg_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgx.h"

#define OS_OPS_WAIT_MS 5000
#define OS_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Runs `sql` with `n` text parameters on a pooled connection: the result (TUPLES_OK) or
 * NULL with err. The connection is back in the pool when this returns. */
static PGresult *os_ops_query(pgpool_t *pool, const char *sql, int n, const char *const *vals,
                              const char *what, char *err, size_t errlen)
{
    PGconn *c = pgpool_get(pool, OS_OPS_WAIT_MS);
    if (c == NULL) {
        snprintf(err, errlen, "the database is unavailable (no connection within %d ms)", OS_OPS_WAIT_MS);
        return NULL;
    }
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
        pgx_fail(r, c, what, err, errlen);
        r = NULL;
    }
    pgpool_put(pool, c, r == NULL && PQstatus(c) != CONNECTION_OK);
    return r;
}

static int os_ops_positions(void *self, const char *topic, os_stored_pos_t *out, size_t cap, size_t *n,
                            char *err, size_t errlen)
{
    const char *vals[1] = {topic};
    PGresult *r = os_ops_query(
        self,
        "SELECT partition, next_offset, epoch, " OS_ISO(
            "updated_at") " FROM \"order\".projection_offsets WHERE topic = $1 ORDER BY partition",
        1, vals, "read the stored positions", err, errlen);
    *n = 0;
    if (r == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r) && *n < cap; i++) {
        os_stored_pos_t *o = &out[(*n)++];
        o->partition = (int32_t)strtol(PQgetvalue(r, i, 0), NULL, 10);
        o->next_offset = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        o->epoch = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        snprintf(o->updated_at, sizeof o->updated_at, "%s", PQgetvalue(r, i, 3));
    }
    PQclear(r);
    return 0;
}

static int os_ops_moves(void *self, const char *topic, os_move_rec_t *out, size_t cap, size_t *n, char *err,
                        size_t errlen)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", cap);
    const char *vals[2] = {topic, lim};
    PGresult *r = os_ops_query(
        self,
        "SELECT id, " OS_ISO("at") ", partition, coalesce(from_offset, -1), to_offset, "
                                   "epoch, request FROM \"order\".projection_moves WHERE topic = $1 "
                                   "ORDER BY id DESC LIMIT $2::int",
        2, vals, "read the moves", err, errlen);
    *n = 0;
    if (r == NULL)
        return -1;
    for (int i = 0; i < PQntuples(r) && *n < cap; i++) {
        os_move_rec_t *o = &out[(*n)++];
        o->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        snprintf(o->at, sizeof o->at, "%s", PQgetvalue(r, i, 1));
        o->partition = (int32_t)strtol(PQgetvalue(r, i, 2), NULL, 10);
        o->from = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        o->to = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        o->epoch = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        snprintf(o->request, sizeof o->request, "%s", PQgetvalue(r, i, 6));
    }
    PQclear(r);
    return 0;
}

os_opsdb_port_t os_pg_ops_port(pgpool_t *pool)
{
    os_opsdb_port_t p = {pool, os_ops_positions, os_ops_moves};
    return p;
}
