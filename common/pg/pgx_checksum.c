/* pgx_checksum.c — a customers table's checksum over id ranges. See pgx_checksum.h. */
#include "pgx_checksum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "pgx.h"

#define PGX_ROWHASH                                                                                          \
    "('x' || substr(md5(id::text || ':' || version || ':' || length(username) || ':' || username || ':' || " \
    "length(first_name) || ':' || first_name || ':' || length(last_name) || ':' || last_name), 1, 16))"      \
    "::bit(64)::bigint"

/* The range: $1 lower bound, $2 upper bound, each NULL when open (an unnamed statement is
 * planned with its values, so an open end costs nothing and the bounds use the index). The
 * table is aliased t: ORDER BY t.id sorts by the uuid (an output column "id" is the text). */
#define PGX_RANGE " t WHERE ($1::uuid IS NULL OR t.id >= $1::uuid) AND ($2::uuid IS NULL OR t.id < $2::uuid)"

int pgx_checksum(PGconn *c, const char *table, const char *from, const char *to, pgx_checksum_t *out,
                 char *err, size_t errlen)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT count(*), lpad(to_hex(coalesce(bit_xor(" PGX_ROWHASH
             "), 0)), 16, '0') FROM %s" PGX_RANGE,
             table);
    const char *vals[2] = {from, to};
    PGresult *r = PQexecParams(c, sql, 2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pgx_fail(r, c, "checksum", err, errlen);
    out->count = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(out->hash, sizeof out->hash, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

/* Reads (id, version, hash) rows of `r` into rows. */
static void pgx_cs_take(PGresult *r, pgx_checksum_row_t *rows, int cap, int *n)
{
    *n = 0;
    for (int i = 0; i < PQntuples(r) && *n < cap; i++) {
        pgx_checksum_row_t *o = &rows[(*n)++];
        snprintf(o->id, sizeof o->id, "%s", PQgetvalue(r, i, 0));
        o->version = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        snprintf(o->hash, sizeof o->hash, "%s", PQgetvalue(r, i, 2));
    }
}

int pgx_checksum_rows(PGconn *c, const char *table, const char *from, const char *to, int limit,
                      pgx_checksum_row_t *rows, int *n, char *err, size_t errlen)
{
    char sql[1024], lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    snprintf(sql, sizeof sql,
             "SELECT t.id::text, version, lpad(to_hex(" PGX_ROWHASH "), 16, '0') FROM %s" PGX_RANGE
             " ORDER BY t.id LIMIT $3::int",
             table);
    const char *vals[3] = {from, to, lim};
    PGresult *r = PQexecParams(c, sql, 3, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pgx_fail(r, c, "checksum rows", err, errlen);
    pgx_cs_take(r, rows, limit, n);
    PQclear(r);
    return 0;
}

int pgx_checksum_ids(PGconn *c, const char *table, const char *const *ids, int nids, pgx_checksum_row_t *rows,
                     int *n, char *err, size_t errlen)
{
    char sql[1024];
    dbuf_t arr;
    int rc = -1;
    *n = 0;
    dbuf_init(&arr, (size_t)nids * 40 + 16);
    if (dbuf_adds(&arr, "{") != 0)
        goto oom;
    for (int i = 0; i < nids; i++)
        if (dbuf_addf(&arr, "%s%s", i ? "," : "", ids[i]) != 0)
            goto oom;
    if (dbuf_adds(&arr, "}") != 0)
        goto oom;
    snprintf(sql, sizeof sql,
             "SELECT t.id::text, version, lpad(to_hex(" PGX_ROWHASH "), 16, '0') FROM %s t WHERE t.id = "
             "ANY($1::uuid[]) ORDER BY t.id",
             table);
    const char *vals[1] = {dbuf_ptr(&arr)};
    PGresult *r = PQexecParams(c, sql, 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pgx_fail(r, c, "checksum of ids", err, errlen);
        goto cleanup;
    }
    pgx_cs_take(r, rows, nids, n);
    PQclear(r);
    rc = 0;
    goto cleanup;
oom:
    snprintf(err, errlen, "out of memory");
cleanup:
    dbuf_free(&arr);
    return rc;
}
