/* pg_reconcile.c — the read model's checksums and the repair's reset. See pg_reconcile.h. */
#include "dataaccess/pg_reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "pgx.h"
#include "pgx_checksum.h"

#define OS_RC_WAIT_MS 5000
#define OS_RC_TABLE "\"order\".customers"

static int os_rc_sums(void *self, const char *from, const char *to, os_sum_t *out, os_sum_row_t *rows,
                      int cap, int *nrows, char *err, size_t errlen)
{
    pgx_checksum_t sum;
    pgx_checksum_row_t *pr = NULL;
    int rc = -1, n = 0;
    PGconn *c = pgpool_get(self, OS_RC_WAIT_MS);
    if (c == NULL) {
        snprintf(err, errlen, "the database is unavailable (no connection within %d ms)", OS_RC_WAIT_MS);
        return -1;
    }
    if (pgx_checksum(c, OS_RC_TABLE, from, to, &sum, err, errlen) != 0)
        goto cleanup;
    out->count = sum.count;
    snprintf(out->hash, sizeof out->hash, "%s", sum.hash);
    if (rows != NULL && cap > 0) {
        pr = calloc((size_t)cap, sizeof *pr);
        if (pr == NULL) {
            snprintf(err, errlen, "out of memory");
            goto cleanup;
        }
        if (pgx_checksum_rows(c, OS_RC_TABLE, from, to, cap, pr, &n, err, errlen) != 0)
            goto cleanup;
        for (int i = 0; i < n; i++) {
            snprintf(rows[i].id, sizeof rows[i].id, "%s", pr[i].id);
            rows[i].version = pr[i].version;
            snprintf(rows[i].hash, sizeof rows[i].hash, "%s", pr[i].hash);
        }
    }
    if (nrows != NULL)
        *nrows = n;
    rc = 0;
cleanup:
    free(pr);
    pgpool_put(self, c, rc != 0 && PQstatus(c) != CONNECTION_OK);
    return rc;
}

/* The versions of the ids' rows to 0: the next event of each (the state the write side
 * publishes again) is newer than that, whatever the row held. */
static int os_rc_reset(void *self, const char *const *ids, size_t n, char *err, size_t errlen)
{
    dbuf_t arr;
    int rc = -1;
    PGresult *r = NULL;
    PGconn *c = NULL;
    dbuf_init(&arr, n * 40 + 16);
    dbuf_add(&arr, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            dbuf_add(&arr, ",", 1);
        dbuf_add(&arr, ids[i], strlen(ids[i]));
    }
    if (dbuf_add(&arr, "}", 1) != 0) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    c = pgpool_get(self, OS_RC_WAIT_MS);
    if (c == NULL) {
        snprintf(err, errlen, "the database is unavailable (no connection within %d ms)", OS_RC_WAIT_MS);
        goto cleanup;
    }
    const char *vals[1] = {dbuf_ptr(&arr)};
    r = PQexecParams(c, "UPDATE " OS_RC_TABLE " SET version = 0 WHERE id = ANY($1::uuid[])", 1, NULL, vals,
                     NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pgx_fail(r, c, "resetting versions failed", err, errlen);
        r = NULL;
        goto cleanup;
    }
    rc = 0;
cleanup:
    PQclear(r);
    if (c != NULL)
        pgpool_put(self, c, rc != 0 && PQstatus(c) != CONNECTION_OK);
    dbuf_free(&arr);
    return rc;
}

os_sums_port_t os_pgreconcile_sums_port(pgpool_t *pool)
{
    return (os_sums_port_t){pool, os_rc_sums};
}

os_rmreset_port_t os_pgreconcile_reset_port(pgpool_t *pool)
{
    return (os_rmreset_port_t){pool, os_rc_reset};
}
