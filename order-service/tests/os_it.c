/* os_it.c — integration test helpers. See os_it.h. */
#include "os_it.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ts.h"

static int os_it_counter;

static void os_it_sleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void os_it_uuid(char out[37], long n)
{
    snprintf(out, 37, "00000000-0000-4000-8000-%012ld", n);
}

static int os_it_admin_db(const char *sql)
{
    PGconn *c = PQconnectdb(ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=5433 user=postgres dbname=cqrs"));
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "os_it: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

static rd_kafka_t *os_it_admin_client(const char *bootstrap)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err);
    return rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
}

static int os_it_topics(rd_kafka_t *rk, const char *const *names, int n, int partitions, int create)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    int rc = 0;
    if (create) {
        rd_kafka_NewTopic_t *nt[4];
        char err[256];
        for (int i = 0; i < n; i++) {
            nt[i] = rd_kafka_NewTopic_new(names[i], i == 0 ? partitions : 1, 1, err, sizeof err);
            if (i == 0)
                rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy", "compact");
        }
        rd_kafka_CreateTopics(rk, nt, (size_t)n, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
        if (ev == NULL || rd_kafka_event_error(ev))
            rc = -1;
        else {
            size_t cnt;
            const rd_kafka_topic_result_t **res =
                rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
            for (size_t i = 0; i < cnt; i++)
                if (rd_kafka_topic_result_error(res[i]) &&
                    rd_kafka_topic_result_error(res[i]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                    rc = -1;
        }
        if (ev)
            rd_kafka_event_destroy(ev);
        for (int i = 0; i < n; i++)
            rd_kafka_NewTopic_destroy(nt[i]);
    } else {
        rd_kafka_DeleteTopic_t *dt[4];
        for (int i = 0; i < n; i++)
            dt[i] = rd_kafka_DeleteTopic_new(names[i]);
        rd_kafka_DeleteTopics(rk, dt, (size_t)n, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
        if (ev)
            rd_kafka_event_destroy(ev);
        for (int i = 0; i < n; i++)
            rd_kafka_DeleteTopic_destroy(dt[i]);
    }
    rd_kafka_queue_destroy(q);
    return rc;
}

int os_it_setup(os_it_t *t, const char *name, int partitions)
{
    char sql[256], err[256];
    const char *bootstrap = ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:9092");
    memset(t, 0, sizeof *t);
    snprintf(t->tag, sizeof t->tag, "it-order-%s-%d-%d", name, (int)getpid(), ++os_it_counter);
    snprintf(t->dbname, sizeof t->dbname, "it_order_%s_%d_%d", name, (int)getpid(), os_it_counter);
    for (char *p = t->dbname; *p; p++)
        if (*p == '-')
            *p = '_';
    snprintf(t->topic, sizeof t->topic, "%s", t->tag);
    snprintf(t->dlq, sizeof t->dlq, "%s.DLQ", t->tag);
    snprintf(t->group, sizeof t->group, "%s-group", t->tag);
    snprintf(t->bin, sizeof t->bin, "%s/order-service", ts_env("CQ_BIN_DIR", "./bin"));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", t->dbname);
    if (os_it_admin_db(sql) != 0)
        return -1;
    /* same server, private database: rewrite dbname in the conninfo */
    snprintf(t->conninfo, sizeof t->conninfo, "%s dbname=%s",
             ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=5433 user=postgres dbname=cqrs"), t->dbname);
    t->pg = PQconnectdb(t->conninfo);
    if (PQstatus(t->pg) != CONNECTION_OK)
        return -1;
    rd_kafka_t *adm = os_it_admin_client(bootstrap);
    const char *names[2] = {t->topic, t->dlq};
    int rc = os_it_topics(adm, names, 2, partitions, 1);
    rd_kafka_destroy(adm);
    if (rc != 0)
        return -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err))
        return -1;
    t->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    t->codec = evcodec_new_default(err, sizeof err);
    return t->producer && t->codec ? 0 : -1;
}

void os_it_teardown(os_it_t *t)
{
    char sql[256];
    if (t->producer) {
        rd_kafka_flush(t->producer, 10000);
        rd_kafka_destroy(t->producer);
    }
    evcodec_free(t->codec);
    PQfinish(t->pg);
    if (getenv("OS_IT_KEEP") == NULL) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->dbname);
        os_it_admin_db(sql);
        rd_kafka_t *adm = os_it_admin_client(ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:9092"));
        const char *names[2] = {t->topic, t->dlq};
        os_it_topics(adm, names, 2, 1, 0);
        rd_kafka_destroy(adm);
    }
    memset(t, 0, sizeof *t);
}

int os_it_send_raw(os_it_t *t, const char *key, const void *val, size_t len, int flush)
{
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(t->producer, RD_KAFKA_V_TOPIC(t->topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(t->producer, 10);
    }
    if (e)
        return -1;
    rd_kafka_poll(t->producer, 0);
    return flush ? os_it_flush(t) : 0;
}

int os_it_flush(os_it_t *t)
{
    return rd_kafka_flush(t->producer, 30000) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int os_it_send(os_it_t *t, const char *id, int64_t version, const char *username, int flush)
{
    evcodec_customer_t ev;
    unsigned char *buf = NULL;
    size_t len = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    memset(&ev, 0, sizeof ev);
    snprintf(ev.id, sizeof ev.id, "%s", id);
    ev.username = (char *)username;
    ev.first_name = (char *)"First";
    ev.last_name = (char *)"Last";
    ev.version = version;
    ev.event_type = version > 1 ? EVCODEC_UPDATED : EVCODEC_CREATED;
    ev.occurred_at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (evcodec_encode_customer(t->codec, &ev, &buf, &len) != EVCODEC_OK)
        return -1;
    int rc = os_it_send_raw(t, id, buf, len, flush);
    free(buf);
    return rc;
}

int os_it_send_tombstone(os_it_t *t, const char *id, int flush)
{
    return os_it_send_raw(t, id, NULL, 0, flush);
}

pid_t os_it_start(os_it_t *t, int port, const char *const *extra_env, const char *logfile)
{
    /* the connection parts of the stack's conninfo, one variable each */
    char host[256] = "", pgport[32] = "", v[9][320];
    const char *env[9 + 32];
    size_t n = 0;
    const char *ci = ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=5433 user=postgres dbname=cqrs");
    const char *h = strstr(ci, "host=");
    const char *p = strstr(ci, "port=");

    if (h != NULL)
        sscanf(h + 5, "%255[^ ]", host);
    if (p != NULL)
        sscanf(p + 5, "%31[^ ]", pgport);
    env[n++] = "CONFIG_SERVER_URL=none";
    env[n++] = "DATASOURCE_SSLMODE=disable";
    snprintf(v[0], sizeof v[0], "DATASOURCE_HOST=%s", host);
    snprintf(v[1], sizeof v[1], "DATASOURCE_PORT=%s", pgport);
    snprintf(v[2], sizeof v[2], "DATASOURCE_DBNAME=%s", t->dbname);
    snprintf(v[3], sizeof v[3], "KAFKA_CONFIG_BOOTSTRAP_SERVERS=%s",
             ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:9092"));
    snprintf(v[4], sizeof v[4], "ORDER_SERVICE_CUSTOMER_TOPIC_NAME=%s", t->topic);
    snprintf(v[5], sizeof v[5], "ORDER_SERVICE_DLQ_TOPIC_NAME=%s", t->dlq);
    snprintf(v[6], sizeof v[6], "KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID=%s", t->group);
    snprintf(v[7], sizeof v[7], "SERVER_PORT=%d", port);
    for (size_t i = 0; i < 8; i++)
        if (i > 1 || (i == 0 ? host[0] : pgport[0]) != '\0')
            env[n++] = v[i];
    /* the caller's entries come last: they replace ours (the last of a name wins) */
    for (size_t i = 0; extra_env != NULL && extra_env[i] != NULL && n < sizeof env / sizeof env[0] - 1; i++)
        env[n++] = extra_env[i];
    env[n] = NULL;
    return ts_spawn_bin(t->bin, NULL, env, NULL, "-", logfile != NULL ? logfile : "-", 1);
}

int os_it_child_setup(void **state)
{
    pid_t *pid = malloc(sizeof *pid);
    if (pid == NULL)
        return -1;
    *pid = -1;
    *state = pid;
    return 0;
}

int os_it_child_teardown(void **state)
{
    pid_t *pid = *state;
    if (pid != NULL && *pid > 0 && waitpid(*pid, NULL, WNOHANG) == 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    free(pid);
    return 0;
}

long os_it_get(int port, const char *path, char **body, char **ctype)
{
    return ts_get(port, path, body, ctype);
}

int os_it_wait_ready(int port, long timeout_ms)
{
    return ts_wait_status(port, "/health/readiness", 200, timeout_ms, 0) == 200 ? 0 : -1;
}

int os_it_stop(pid_t pid)
{
    return ts_term(pid, 60000);
}

void os_it_kill9(pid_t pid)
{
    int st;
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

int os_it_up(os_it_run_t *r, const char *name, int partitions, const char *const *env)
{
    memset(r, 0, sizeof *r);
    r->pid = -1;
    if (os_it_setup(&r->t, name, partitions) != 0)
        return -1;
    r->port = ts_free_port();
    snprintf(r->log, sizeof r->log, "/tmp/os_it_%s_%d.log", name, (int)getpid());
    r->pid = os_it_start(&r->t, r->port, env, r->log);
    if (r->pid <= 0 || os_it_wait_ready(r->port, 60000) != 0) {
        fprintf(stderr, "order-service did not become ready; log %s\n", r->log);
        return -1;
    }
    return 0;
}

int os_it_down(os_it_run_t *r)
{
    int rc = r->pid > 0 ? os_it_stop(r->pid) : 0;
    os_it_teardown(&r->t);
    return rc;
}

long long os_it_scalar(os_it_t *t, const char *sql)
{
    PGresult *r = PQexec(t->pg, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

long long os_it_wait_scalar(os_it_t *t, const char *sql, long long want, long timeout_ms)
{
    long long end = ts_now_ms() + timeout_ms;
    long long v = os_it_scalar(t, sql);
    while (v != want && ts_now_ms() < end) {
        os_it_sleep(50);
        v = os_it_scalar(t, sql);
    }
    return v;
}

char *os_it_text(os_it_t *t, const char *sql)
{
    PGresult *r = PQexec(t->pg, sql);
    char *v = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

int os_it_dlq_read(os_it_t *t, json_t **out)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:9092"), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "group.id", "it-dlq-reader", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, t->dlq, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    int n = 0;
    *out = json_array();
    long long end = ts_now_ms() + 10000;
    while (ts_now_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            break;
        }
        if (!m->err) {
            rd_kafka_headers_t *h = NULL;
            const void *v;
            size_t vl;
            n++;
            json_t *o = json_object();
            if (rd_kafka_message_headers(m, &h) == 0) {
                const char *names[] = {"dlq.reason", "dlq.source.topic", "dlq.source.partition",
                                       "dlq.source.offset", "dlq.detail"};
                for (int i = 0; i < 5; i++)
                    if (rd_kafka_header_get_last(h, names[i], &v, &vl) == 0)
                        json_object_set_new(o, names[i], json_stringn(v, vl));
            }
            json_array_append_new(*out, o);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return n;
}
