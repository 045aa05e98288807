/* svc_pg.c — the PostgreSQL part of the services' glue: the conninfo from the datasource.*
 * keys, the start-up migration and the pool's readiness check. See svc_pg.h. */
#include "svc_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgpool.h"
#include "pgx.h"
#include "svc.h"

static int svc_sslmode_ok(const char *s)
{
    static const char *const ok[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(s, ok[i]) == 0)
            return 1;
    return 0;
}

/* Appends the TLS files of datasource.sslrootcert / .sslcert / .sslkey to *ci (replaced by
 * a longer owned string), each checked to be a readable file now, so a wrong path is a
 * configuration error naming the key instead of a libpq error at the first connection.
 * 0, or -1 with err. */
static int svc_conninfo_tls(const cfgcli_t *cfg, char **ci, char *err, size_t errlen)
{
    static const char *const keys[][2] = {{"datasource.sslrootcert", "sslrootcert"},
                                          {"datasource.sslcert", "sslcert"},
                                          {"datasource.sslkey", "sslkey"}};
    const char *cert = cfgcli_get_str(cfg, "datasource.sslcert", ""),
               *key = cfgcli_get_str(cfg, "datasource.sslkey", "");
    if ((*cert == '\0') != (*key == '\0')) {
        snprintf(err, errlen,
                 "config keys 'datasource.sslcert' and 'datasource.sslkey' go together (a client certificate"
                 " and its private key): only '%s' is set",
                 *cert ? "datasource.sslcert" : "datasource.sslkey");
        return -1;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *path = cfgcli_get_str(cfg, keys[i][0], "");
        if (*path == '\0')
            continue;
        if (access(path, R_OK) != 0) {
            snprintf(err, errlen, "config key '%s' = '%s' (from %s): cannot read the file: %s", keys[i][0],
                     path, cfgcli_source_of(cfg, keys[i][0]), strerror(errno));
            return -1;
        }
        char *longer = pgx_conninfo_append(*ci, keys[i][1], path);
        if (longer == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(*ci);
        *ci = longer;
    }
    return 0;
}

char *svc_conninfo(const cfgcli_t *cfg, const char *app, char *err, size_t errlen)
{
    int timeout, user_timeout;
    char e[256];
    char *base = NULL, *out = NULL;
    const char *ssl, *pw, *host, *port, *tsa;
    if (cfgcli_get_int_range(cfg, "datasource.connect-timeout-s", 5, 1, 600, &timeout, err, errlen) ||
        cfgcli_get_int_range(cfg, "datasource.tcp-user-timeout-ms", 15000, 0, 3600000, &user_timeout, err,
                             errlen))
        return NULL;
    host = cfgcli_get_str(cfg, "datasource.host", "localhost");
    port = cfgcli_get_str(cfg, "datasource.port", "5432");
    if (pgx_check_hosts(host, port, e, sizeof e) != 0) {
        snprintf(err, errlen, "config keys 'datasource.host' / 'datasource.port': %s", e);
        return NULL;
    }
    ssl = cfgcli_get_str(cfg, "datasource.sslmode", "prefer");
    if (!svc_sslmode_ok(ssl)) {
        snprintf(err, errlen, "config key 'datasource.sslmode' = '%s' is not a libpq sslmode", ssl);
        return NULL;
    }
    tsa = cfgcli_get_str(cfg, "datasource.target-session-attrs", "any");
    if (!pgx_target_attrs_ok(tsa)) {
        snprintf(err, errlen,
                 "config key 'datasource.target-session-attrs' = '%s' is not a libpq target_session_attrs"
                 " (any, read-write, read-only, primary, standby, prefer-standby)",
                 tsa);
        return NULL;
    }
    pw = cfgcli_get_str(cfg, "datasource.password", NULL);
    base = pgx_conninfo(host, port, cfgcli_get_str(cfg, "datasource.user", "postgres"), pw && *pw ? pw : NULL,
                        cfgcli_get_str(cfg, "datasource.dbname", "cqrs"));
    /* keepalives and tcp_user_timeout: a connection to a server that vanished from the
     * network (no FIN, no RST) fails within seconds instead of TCP's quarter of an hour */
    if (base == NULL || asprintf(&out,
                                 "%s sslmode=%s connect_timeout=%d target_session_attrs=%s keepalives=1"
                                 " keepalives_idle=10 keepalives_interval=3 keepalives_count=3"
                                 " tcp_user_timeout=%d application_name=%s",
                                 base, ssl, timeout, tsa, user_timeout, app) < 0) {
        out = NULL;
        snprintf(err, errlen, "out of memory");
    }
    free(base);
    if (out != NULL && svc_conninfo_tls(cfg, &out, err, errlen) != 0) {
        free(out);
        out = NULL;
    }
    return out;
}

int svc_migrate(const char *conninfo, const char *app, const embed_file_t *files, int attempts,
                const clog_t *log)
{
    PGconn *c = pgx_connect_until(conninfo, attempts, log, svc_stop_pending);
    int n = -1;
    if (c != NULL && !svc_stop_pending())
        n = pgx_migrate(c, app, files, log);
    PQfinish(c);
    if (svc_stop_pending())
        return -1;
    if (n < 0) {
        clog_error(log, "database unavailable or migration failed; giving up");
        return -1;
    }
    if (n > 0)
        clog_info(log, "applied %d database migration(s)", n);
    return 0;
}

/* ---- health ---- */

int svc_pg_probe(const char *conninfo, char *err, size_t errlen)
{
    PGconn *c = PQconnectdb(conninfo);
    int rc = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        const char *m = c != NULL ? PQerrorMessage(c) : "out of memory";
        size_t n = strcspn(m, "\n");
        snprintf(err, errlen, "the database does not answer: %.*s", (int)n, m);
        rc = -1;
    }
    PQfinish(c);
    return rc;
}

int svc_pool_up(void *pool)
{
    return pgpool_ping(pool);
}
