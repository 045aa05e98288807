/* pgx.c — PostgreSQL helpers: connect with retry, exec, error text, SQLSTATE, migrations. See
 * pgx.h. */
#include "pgx.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbuf.h"
#include "errbuf.h"

/* Migrations of all components run under this advisory lock key ("cqmigr" in ASCII). */
#define PGX_MIGRATE_LOCK 0x63716d696772LL

static void pgx_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Server NOTICEs ("relation … already exists, skipping") go to the log as debug lines
 * instead of raw text on stderr. */
static void pgx_on_notice(void *arg, const char *message)
{
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n')
        n--;
    clog_debug(arg, "postgres: %.*s", (int)n, message);
}

void pgx_route_notices(PGconn *c, const clog_t *log)
{
    if (c != NULL && log != NULL)
        PQsetNoticeProcessor(c, pgx_on_notice, (void *)log);
}

PGconn *pgx_connect(const char *conninfo, int attempts, const clog_t *log)
{
    return pgx_connect_until(conninfo, attempts, log, NULL);
}

PGconn *pgx_connect_until(const char *conninfo, int attempts, const clog_t *log, int (*stop)(void))
{
    long pause = 200;
    if (attempts < 1)
        attempts = 1;
    for (int i = 1; i <= attempts; i++) {
        PGconn *c = PQconnectdb(conninfo);
        if (c != NULL && PQstatus(c) == CONNECTION_OK) {
            pgx_route_notices(c, log);
            return c;
        }
        const char *msg = c ? PQerrorMessage(c) : "out of memory";
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            n--;
        clog_msg(log, i == attempts ? CLOG_ERROR : CLOG_WARN,
                 "PostgreSQL connection failed (attempt %d/%d): %.*s", i, attempts, (int)n, msg);
        PQfinish(c);
        /* the pause in 100 ms slices, so a stop request ends the wait at once */
        for (long waited = 0; i < attempts && waited < pause; waited += 100) {
            if (stop != NULL && stop())
                return NULL;
            pgx_sleep_ms(pause - waited < 100 ? pause - waited : 100);
        }
        if (stop != NULL && stop())
            return NULL;
        pause = pause * 2 > 2000 ? 2000 : pause * 2;
    }
    return NULL;
}

static void pgx_copy_err(char *err, size_t errlen, const char *msg)
{
    if (err == NULL || errlen == 0)
        return;
    snprintf(err, errlen, "%s", msg ? msg : "unknown error");
    size_t n = strlen(err);
    while (n > 0 && err[n - 1] == '\n')
        err[--n] = '\0';
}

int pgx_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : -1;
    if (rc != 0)
        pgx_copy_err(err, errlen, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    PQclear(r);
    return rc;
}

int pgx_fail(PGresult *r, PGconn *c, const char *what, char *err, size_t errlen)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (m == NULL || *m == '\0')
        m = c ? PQerrorMessage(c) : "no connection";
    size_t n = strlen(m);
    while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    errbuf_set(err, errlen, "%s: %.*s", what, (int)n, m);
    PQclear(r);
    return -1;
}

const char *pgx_sqlstate(const PGresult *r)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

/* Whether `component` already applied `version`: 1 yes, 0 no, -1 error. */
static int pgx_applied(PGconn *c, const char *component, const char *version)
{
    const char *params[2] = {component, version};
    PGresult *r =
        PQexecParams(c, "SELECT 1 FROM public.cq_schema_migrations WHERE component = $1 AND version = $2", 2,
                     NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? (PQntuples(r) > 0) : -1;
    PQclear(r);
    return rc;
}

/* Applies one file inside its own transaction and records it. */
static int pgx_apply(PGconn *c, const char *component, const embed_file_t *f, const clog_t *log)
{
    char err[512];
    int rc = -1;
    if (pgx_exec(c, "BEGIN", err, sizeof err) != 0)
        goto fail;
    if (pgx_exec(c, (const char *)f->data, err, sizeof err) != 0)
        goto rollback;
    const char *params[2] = {component, f->name};
    PGresult *r =
        PQexecParams(c, "INSERT INTO public.cq_schema_migrations(component, version) VALUES ($1, $2)", 2,
                     NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pgx_copy_err(err, sizeof err, PQresultErrorMessage(r));
    PQclear(r);
    if (!ok)
        goto rollback;
    if (pgx_exec(c, "COMMIT", err, sizeof err) != 0)
        goto fail;
    clog_info(log, "applied migration %s/%s", component, f->name);
    return 0;
rollback:
    pgx_exec(c, "ROLLBACK", NULL, 0);
fail:
    clog_error(log, "migration %s/%s failed: %s", component, f->name, err);
    return rc;
}

int pgx_migrate(PGconn *c, const char *component, const embed_file_t *files, const clog_t *log)
{
    char err[512];
    int applied = 0;
    int locked = 0;

    if (pgx_exec(c,
                 "CREATE TABLE IF NOT EXISTS public.cq_schema_migrations ("
                 " component text NOT NULL, version text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))",
                 err, sizeof err) != 0) {
        /* Two services creating the table at the same instant: one loses; retry once. */
        if (pgx_exec(c, "SELECT 1 FROM public.cq_schema_migrations LIMIT 0", NULL, 0) != 0) {
            clog_error(log, "cannot create public.cq_schema_migrations: %s", err);
            applied = -1;
            goto cleanup;
        }
    }
    char lock_sql[96];
    snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_lock(%lld)", PGX_MIGRATE_LOCK);
    if (pgx_exec(c, lock_sql, err, sizeof err) != 0) {
        clog_error(log, "cannot take the migration lock: %s", err);
        applied = -1;
        goto cleanup;
    }
    locked = 1;
    for (const embed_file_t *f = files; f != NULL && f->name != NULL; f++) {
        int done = pgx_applied(c, component, f->name);
        if (done < 0) {
            clog_error(log, "cannot read public.cq_schema_migrations: %s", PQerrorMessage(c));
            applied = -1;
            goto cleanup;
        }
        if (done)
            continue;
        if (pgx_apply(c, component, f, log) != 0) {
            applied = -1;
            goto cleanup;
        }
        applied++;
    }
cleanup:
    if (locked) {
        snprintf(lock_sql, sizeof lock_sql, "SELECT pg_advisory_unlock(%lld)", PGX_MIGRATE_LOCK);
        pgx_exec(c, lock_sql, NULL, 0);
    }
    return applied;
}

/* Appends ` key='value'` with conninfo quoting (backslash before ' and \). */
static int pgx_conninfo_add(dbuf_t *b, const char *key, const char *val)
{
    if (val == NULL || *val == '\0')
        return 0;
    if (dbuf_len(b) > 0 && dbuf_adds(b, " ") != 0)
        return -1;
    if (dbuf_addf(b, "%s='", key) != 0)
        return -1;
    for (const char *p = val; *p; p++) {
        if ((*p == '\'' || *p == '\\') && dbuf_adds(b, "\\") != 0)
            return -1;
        if (dbuf_add(b, p, 1) != 0)
            return -1;
    }
    return dbuf_adds(b, "'");
}

char *pgx_conninfo(const char *host, const char *port, const char *user, const char *password,
                   const char *dbname)
{
    dbuf_t b;
    dbuf_init(&b, 4096);
    if (pgx_conninfo_add(&b, "host", host) != 0 || pgx_conninfo_add(&b, "port", port) != 0 ||
        pgx_conninfo_add(&b, "user", user) != 0 || pgx_conninfo_add(&b, "password", password) != 0 ||
        pgx_conninfo_add(&b, "dbname", dbname) != 0)
        return NULL;
    return dbuf_take(&b, NULL);
}

char *pgx_conninfo_append(const char *base, const char *key, const char *value)
{
    dbuf_t b;
    dbuf_init(&b, 8192);
    if (dbuf_adds(&b, base) != 0 || pgx_conninfo_add(&b, key, value) != 0) {
        dbuf_free(&b);
        return NULL;
    }
    return dbuf_take(&b, NULL);
}

int pgx_check_hosts(const char *hosts, const char *ports, char *err, size_t errlen)
{
    int nh = 0, np = 0;
    if (hosts == NULL || *hosts == '\0') {
        errbuf_set(err, errlen, "no database host");
        return -1;
    }
    for (const char *p = hosts;; p++) {
        size_t n = strcspn(p, ",");
        if (n == 0) {
            errbuf_set(err, errlen, "database host list '%s' has an empty entry", hosts);
            return -1;
        }
        nh++;
        p += n;
        if (*p == '\0')
            break;
    }
    for (const char *p = ports ? ports : "";; p++) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0') || v < 1 || v > 65535) {
            errbuf_set(err, errlen, "database port list '%s': each port must be 1..65535",
                       ports ? ports : "");
            return -1;
        }
        np++;
        p = end;
        if (*p == '\0')
            break;
    }
    if (np != 1 && np != nh) {
        errbuf_set(err, errlen, "%d database hosts but %d ports ('%s' / '%s'): give one port or one per host",
                   nh, np, hosts, ports);
        return -1;
    }
    return 0;
}

int pgx_target_attrs_ok(const char *v)
{
    static const char *const ok[] = {"any",     "read-write", "read-only",
                                     "primary", "standby",    "prefer-standby"};
    for (size_t i = 0; v != NULL && i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(v, ok[i]) == 0)
            return 1;
    return 0;
}

int pgx_unavailable(const PGresult *r, const PGconn *c)
{
    const char *s = pgx_sqlstate(r);
    if (c == NULL || PQstatus(c) != CONNECTION_OK)
        return 1;
    return strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
           strcmp(s, "57P03") == 0 || strcmp(s, "25006") == 0 || strcmp(s, "53300") == 0;
}

int pgx_on_standby(const PGconn *c)
{
    const char *v = c ? PQparameterStatus(c, "in_hot_standby") : NULL;
    return v != NULL && strcmp(v, "on") == 0;
}

int pgx_idle_usable(PGconn *c)
{
    if (c == NULL || PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE)
        return 0;
    struct pollfd pfd = {PQsocket(c), POLLIN, 0};
    /* An idle connection has nothing to read unless the server said something on its own:
     * a ParameterStatus (in_hot_standby after a promotion), a notice, a FATAL error before
     * it closed the session, the end. PQisBusy parses what was read; the end shows on the
     * read after the last message. */
    for (int i = 0; i < 4 && pfd.fd >= 0 && poll(&pfd, 1, 0) > 0; i++) {
        if (!PQconsumeInput(c))
            return 0;
        (void)PQisBusy(c);
        if (PQstatus(c) != CONNECTION_OK)
            return 0;
    }
    return !pgx_on_standby(c);
}
