/* pgpipe.c — several statements in one round trip (libpq pipeline mode). See pgpipe.h. */
#include "dataaccess/pgpipe.h"

#include <stdio.h>

#include "pgx.h"

int os_pgpipe_send(os_pgpipe_t *p, const char *name, const char *sql, int n, const char *const *vals,
                   char *err, size_t errlen)
{
    PGconn *c = p->conn;
    if (PQpipelineStatus(c) == PQ_PIPELINE_OFF && !PQenterPipelineMode(c))
        return pgx_fail(NULL, c, "pipeline", err, errlen);
    int ok = name != NULL ? PQsendQueryPrepared(c, name, n, vals, NULL, NULL, 0)
                          : PQsendQueryParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    if (!ok)
        return pgx_fail(NULL, c, "send", err, errlen);
    p->queued++;
    return 0;
}

/* Leaves pipeline mode; a connection that cannot leave it (results the server still owes)
 * would refuse every later synchronous call, so it is reset instead. */
static void os_pgpipe_leave(PGconn *c)
{
    if (PQpipelineStatus(c) == PQ_PIPELINE_OFF || PQexitPipelineMode(c))
        return;
    if (PQstatus(c) == CONNECTION_OK)
        PQreset(c);
}

int os_pgpipe_sync(os_pgpipe_t *p, PGresult **last, const char *what, char *err, size_t errlen)
{
    PGconn *c = p->conn;
    int nq = p->queued, rc = 0, lost = 0;
    PGresult *keep = NULL;
    p->queued = 0;
    if (last != NULL)
        *last = NULL;
    if (PQpipelineStatus(c) == PQ_PIPELINE_OFF)
        return 0;
    if (!PQpipelineSync(c)) {
        rc = pgx_fail(NULL, c, what, err, errlen);
        lost = 1;
    }
    for (int i = 0; i < nq && !lost; i++) {
        PGresult *r = PQgetResult(c);
        if (r == NULL) { /* the connection went away */
            if (rc == 0)
                pgx_fail(NULL, c, what, err, errlen);
            rc = -1;
            lost = 1;
            break;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (rc == 0 && st == PGRES_PIPELINE_ABORTED) {
                snprintf(err, errlen, "%s: pipeline aborted", what);
            } else if (rc == 0) {
                pgx_fail(r, c, what, err, errlen); /* clears r */
                r = NULL;
            }
            rc = -1;
        }
        if (r != NULL && i == nq - 1 && rc == 0)
            keep = r;
        else
            PQclear(r);
        while ((r = PQgetResult(c)) != NULL) /* up to the NULL that ends statement i */
            PQclear(r);
    }
    if (!lost) {
        PGresult *r = PQgetResult(c);
        if (PQresultStatus(r) != PGRES_PIPELINE_SYNC && rc == 0) {
            snprintf(err, errlen, "%s: pipeline out of step", what);
            rc = -1;
        }
        PQclear(r);
    }
    os_pgpipe_leave(c);
    if (rc == 0 && last != NULL)
        *last = keep;
    else
        PQclear(keep);
    return rc;
}

void os_pgpipe_discard(os_pgpipe_t *p)
{
    char e[256];
    os_pgpipe_sync(p, NULL, "discard", e, sizeof e);
}
