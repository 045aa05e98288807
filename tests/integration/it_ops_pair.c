/* it_ops_pair.c — a customer-service and an order-service of a test's own. See it_ops_pair.h. */
#include "it_ops_pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "it_ops_util.h"
#include "ts.h"

static void pair_start(ops_svc_t *s, const char *prog, const char *name, const char *db,
                       const char *const *own, const char *const *extra)
{
    char buf[OPS_BASE_ENV][256];
    const char *env[48];
    memset(s, 0, sizeof *s);
    s->port = ts_free_port();
    assert_true(s->port > 0);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    snprintf(s->log, sizeof s->log, "/tmp/it_ops_%s_%s_%d.log", name, prog, (int)getpid());
    size_t n = ops_base_env(buf, env, s->port, db);
    for (size_t i = 0; own && own[i] && n < 40; i++)
        env[n++] = own[i];
    for (size_t i = 0; extra && extra[i] && n < 47; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    s->pid = ts_spawn(prog, NULL, env, NULL, s->log);
    assert_true(s->pid > 0);
    if (ts_wait_status(s->port, "/health/readiness", 200, 60000, 0) != 200) {
        fprintf(stderr, "%s not ready; log %s\n", prog, s->log);
        fail();
    }
}

void pair_start_customer(ops_svc_t *s, const char *name, const char *db, const char *topic,
                         const char *const *extra)
{
    static char tok[] = "CUSTOMER_ADMIN_TOKEN=" OPS_TOKEN;
    char t[200];
    snprintf(t, sizeof t, "CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME=%s", topic);
    const char *own[] = {tok, t, NULL};
    pair_start(s, "customer-service", name, db, own, extra);
}

void pair_start_order(ops_svc_t *s, const char *name, const char *db, const char *topic, const char *group,
                      const char *const *extra)
{
    static char tok[] = "ORDER_ADMIN_TOKEN=" OPS_TOKEN;
    char t[200], d[220], g[200];
    snprintf(t, sizeof t, "ORDER_SERVICE_CUSTOMER_TOPIC_NAME=%s", topic);
    snprintf(d, sizeof d, "ORDER_SERVICE_DLQ_TOPIC_NAME=%s.DLQ", topic);
    snprintf(g, sizeof g, "KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID=%s", group);
    const char *own[] = {tok, t, d, g, NULL};
    pair_start(s, "order-service", name, db, own, extra);
}

int pair_stop(ops_svc_t *s)
{
    if (!ts_alive(s->pid))
        return -1;
    int rc = ts_term(s->pid, 20000);
    s->pid = 0;
    return rc;
}

int pair_world_init(pair_world_t *w, const char *tag, int ntopics)
{
    int pid = (int)getpid();
    long long t = (long long)time(NULL);
    memset(w, 0, sizeof *w);
    w->ntopics = ntopics < 1 ? 1 : ntopics > 2 ? 2 : ntopics;
    snprintf(w->wdb, sizeof w->wdb, "it_ops_%s_w_%d", tag, pid);
    snprintf(w->rdb, sizeof w->rdb, "it_ops_%s_r_%d", tag, pid);
    for (int i = 0; i < w->ntopics; i++) {
        if (w->ntopics == 1)
            snprintf(w->topic[i], sizeof w->topic[i], "it-ops-%s-%d-%lld", tag, pid, t);
        else
            snprintf(w->topic[i], sizeof w->topic[i], "it-ops-%s-%d-%lld-%d", tag, pid, t, i + 1);
    }
    snprintf(w->group, sizeof w->group, "it-ops-%s-%d-%lld", tag, pid, t);
    return ops_create_db(w->wdb) == 0 && ops_create_db(w->rdb) == 0 ? 0 : -1;
}

int pair_world_cleanup(pair_world_t *w)
{
    int rc = 0;
    char dlq[2][112];
    const char *topics[4];
    size_t n = 0;
    if (ts_alive(w->cs.pid) && pair_stop(&w->cs) != 0)
        rc = -1;
    if (ts_alive(w->os.pid) && pair_stop(&w->os) != 0)
        rc = -1;
    ops_drop_db(w->wdb);
    ops_drop_db(w->rdb);
    for (int i = 0; i < w->ntopics; i++) {
        snprintf(dlq[i], sizeof dlq[i], "%s.DLQ", w->topic[i]);
        topics[n++] = w->topic[i];
        topics[n++] = dlq[i];
    }
    ops_delete_topics(topics, n);
    return rc;
}

long pair_admin(const ops_svc_t *s, const char *method, const char *path, const char *body, json_t **out)
{
    char url[256];
    ts_resp_t r;
    const char *hdrs[] = {"Authorization: Bearer " OPS_TOKEN, "Content-Type: application/json", NULL};
    snprintf(url, sizeof url, "%s%s", s->url, path);
    if (ts_http(method, url, body, body ? strlen(body) : 0, hdrs, &r) != 0)
        return 0;
    if (out != NULL)
        *out = json_loads(r.body ? r.body : "", 0, NULL);
    if (r.status >= 400)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status, r.body ? r.body : "");
    long st = r.status;
    ts_resp_free(&r);
    return st;
}

char *pair_dump(const char *db, int read_model)
{
    char ci[512], sql[512];
    char *out = NULL;
    ops_conninfo(ci, sizeof ci, db);
    snprintf(
        sql, sizeof sql,
        "SELECT coalesce(string_agg(id || '|' || username || '|' || first_name || '|' || last_name || '|' || "
        "version, E'\\n' ORDER BY id), '') FROM %s",
        read_model ? "\"order\".customers" : "customer.customers");
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            out = strdup(PQgetvalue(r, 0, 0));
        else
            fprintf(stderr, "pair_dump: %s", PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return out;
}

/* Prints the first line where a and b differ. */
static void pair_first_diff(const char *a, const char *b)
{
    size_t i = 0, line = 0;
    while (a[i] && a[i] == b[i])
        i++;
    for (size_t k = 0; k < i; k++)
        if (a[k] == '\n')
            line = k + 1;
    fprintf(stderr, "write side vs read model differ at line starting:\n  w: %.80s\n  r: %.80s\n", a + line,
            line < strlen(b) ? b + line : "(end)");
}

int pair_wait_equal(const char *wdb, const char *rdb, long timeout_ms)
{
    long long end = ts_now_ms() + timeout_ms;
    for (;;) {
        char *w = pair_dump(wdb, 0), *r = pair_dump(rdb, 1);
        int eq = w != NULL && r != NULL && strcmp(w, r) == 0;
        if (eq || ts_now_ms() > end) {
            if (!eq && w != NULL && r != NULL)
                pair_first_diff(w, r);
            free(w);
            free(r);
            return eq;
        }
        free(w);
        free(r);
        ts_sleep_ms(250);
    }
}
