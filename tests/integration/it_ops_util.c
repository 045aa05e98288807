/* it_ops_util.c — helpers shared by the it_ops_* integration tests. See it_ops_util.h. */
#include "it_ops_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "ts.h"

extern char **environ;

#define OPS_DEFAULT_PG "host=127.0.0.1 port=25433 user=postgres dbname=cqrs"

/* Copies the value of `key=` in a conninfo string into out (empty when absent). */
static void ops_conninfo_part(const char *ci, const char *key, char *out, size_t len)
{
    char pat[32];
    const char *p;
    snprintf(pat, sizeof pat, "%s=", key);
    out[0] = '\0';
    for (p = strstr(ci, pat); p && p != ci && p[-1] != ' '; p = strstr(p + 1, pat))
        ;
    if (p) {
        size_t k = 0;
        p += strlen(pat);
        while (p[k] && p[k] != ' ' && k + 1 < len)
            k++;
        memcpy(out, p, k);
        out[k] = '\0';
    }
}

size_t ops_base_env(char buf[OPS_BASE_ENV][256], const char **env, int port, const char *dbname)
{
    const char *ci = ts_env("CQ_PG_CONNINFO", OPS_DEFAULT_PG);
    char v[200];
    size_t n = 0;
    snprintf(buf[n], 256, "CONFIG_SERVER_URL=%s", ts_env("CQ_CONFIG_URL", "http://127.0.0.1:28888"));
    env[n] = buf[n], n++;
    snprintf(buf[n], 256, "APP_PROFILES=%s", ts_env("CQ_PROFILE", "test"));
    env[n] = buf[n], n++;
    ops_conninfo_part(ci, "host", v, sizeof v);
    snprintf(buf[n], 256, "DATASOURCE_HOST=%s", v[0] ? v : "127.0.0.1");
    env[n] = buf[n], n++;
    ops_conninfo_part(ci, "port", v, sizeof v);
    snprintf(buf[n], 256, "DATASOURCE_PORT=%s", v[0] ? v : "5432");
    env[n] = buf[n], n++;
    snprintf(buf[n], 256, "KAFKA_CONFIG_BOOTSTRAP_SERVERS=%s",
             ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092"));
    env[n] = buf[n], n++;
    snprintf(buf[n], 256, "SERVER_PORT=%d", port);
    env[n] = buf[n], n++;
    snprintf(buf[n], 256, "DATASOURCE_DBNAME=%s", dbname);
    env[n] = buf[n], n++;
    snprintf(buf[n], 256, "SERVER_ADDRESS=127.0.0.1");
    env[n] = buf[n], n++;
    /* Sanitize builds: LeakSanitizer's summary of the suppressions it used (common/http/httpd.c
     * suppresses h2o's pools) is not the program's output; real leak reports still show. */
    snprintf(buf[n], 256, "LSAN_OPTIONS=print_suppressions=0%s%s", getenv("LSAN_OPTIONS") ? ":" : "",
             getenv("LSAN_OPTIONS") ? getenv("LSAN_OPTIONS") : "");
    env[n] = buf[n], n++;
    env[n] = NULL;
    return n;
}

void ops_conninfo(char *out, size_t len, const char *dbname)
{
    const char *ci = ts_env("CQ_PG_CONNINFO", OPS_DEFAULT_PG);
    if (dbname)
        snprintf(out, len, "%s dbname=%s", ci, dbname); /* the last dbname wins */
    else
        snprintf(out, len, "%s", ci);
}

static void ops_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

int ops_pg_exec(const char *dbname, const char *sql)
{
    char ci[512];
    PGconn *c;
    int ok = 0;
    ops_conninfo(ci, sizeof ci, dbname);
    c = PQconnectdb(ci);
    if (PQstatus(c) == CONNECTION_OK) {
        PQsetNoticeProcessor(c, ops_quiet, NULL); /* "does not exist, skipping" */
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "ops: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    } else {
        fprintf(stderr, "ops: connect %s: %s", ci, PQerrorMessage(c));
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

long long ops_pg_scalar(const char *dbname, const char *sql)
{
    char ci[512];
    PGconn *c;
    long long v = -1;
    ops_conninfo(ci, sizeof ci, dbname);
    c = PQconnectdb(ci);
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "ops: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

int ops_create_db(const char *dbname)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
    if (ops_pg_exec(NULL, sql) != 0)
        return -1;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", dbname);
    return ops_pg_exec(NULL, sql);
}

void ops_drop_db(const char *dbname)
{
    char sql[256];
    if (getenv("OPS_KEEP"))
        return;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
    ops_pg_exec(NULL, sql);
}

static rd_kafka_t *ops_admin(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    if (rd_kafka_conf_set(conf, "bootstrap.servers", ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092"), err,
                          sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL)
        rd_kafka_conf_destroy(conf);
    return rk;
}

int ops_topic_config(const char *topic, const char *name, char *out, size_t len, int *partitions)
{
    rd_kafka_t *rk = ops_admin();
    rd_kafka_queue_t *q = NULL;
    rd_kafka_ConfigResource_t *res = NULL;
    rd_kafka_event_t *ev = NULL;
    rd_kafka_topic_t *rkt = NULL;
    const struct rd_kafka_metadata *md = NULL;
    int rc = -1;

    out[0] = '\0';
    *partitions = -1;
    if (rk == NULL)
        goto cleanup;
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
        md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        *partitions = md->topics[0].partition_cnt;
    q = rd_kafka_queue_new(rk);
    res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_DescribeConfigs(rk, &res, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 15000);
    if (ev == NULL || rd_kafka_event_error(ev))
        goto cleanup;
    {
        size_t nres = 0, ncfg = 0;
        const rd_kafka_ConfigResource_t **rr =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nres);
        if (nres != 1 || rd_kafka_ConfigResource_error(rr[0]))
            goto cleanup;
        const rd_kafka_ConfigEntry_t **ce = rd_kafka_ConfigResource_configs(rr[0], &ncfg);
        for (size_t i = 0; i < ncfg; i++)
            if (strcmp(rd_kafka_ConfigEntry_name(ce[i]), name) == 0 && rd_kafka_ConfigEntry_value(ce[i])) {
                snprintf(out, len, "%s", rd_kafka_ConfigEntry_value(ce[i]));
                rc = 0;
            }
    }
cleanup:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (res)
        rd_kafka_ConfigResource_destroy(res);
    if (q)
        rd_kafka_queue_destroy(q);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
}

void ops_delete_topics(const char *const *topics, size_t n)
{
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    rd_kafka_DeleteTopic_t *dt[8];
    rd_kafka_event_t *ev;
    if (getenv("OPS_KEEP") || n == 0 || n > 8 || (rk = ops_admin()) == NULL)
        return;
    q = rd_kafka_queue_new(rk);
    for (size_t i = 0; i < n; i++)
        dt[i] = rd_kafka_DeleteTopic_new(topics[i]);
    rd_kafka_DeleteTopics(rk, dt, n, NULL, q);
    ev = rd_kafka_queue_poll(q, 15000);
    if (ev)
        rd_kafka_event_destroy(ev);
    for (size_t i = 0; i < n; i++)
        rd_kafka_DeleteTopic_destroy(dt[i]);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

/* 1 when object `o` has a non-empty string field `k`. */
static int ops_has_str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && json_string_length(v) > 0;
}

long ops_check_json_log(const char *path, const char *service)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long n = 0, bad = 0;
    if (f == NULL) {
        fprintf(stderr, "ops: cannot open %s\n", path);
        return -1;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        json_error_t je;
        json_t *o;
        n++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        o = json_loadb(line, (size_t)len, 0, &je);
        if (!json_is_object(o) || !ops_has_str(o, "ts") || !ops_has_str(o, "level") ||
            !ops_has_str(o, "msg") || !json_is_string(json_object_get(o, "service")) ||
            strcmp(json_string_value(json_object_get(o, "service")), service) != 0) {
            if (bad++ == 0)
                fprintf(stderr, "ops: %s line %ld is not a JSON log line of %s: %.300s\n", path, n, service,
                        line);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (bad) {
        fprintf(stderr, "ops: %s: %ld of %ld lines are not JSON log lines\n", path, bad, n);
        return -1;
    }
    return n;
}
