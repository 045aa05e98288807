/* cs_it.c — integration-test helpers for customer-service. See cs_it.h. */
#include "cs_it.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "ts.h"

#define CS_IT_ENV_MAX 16

pid_t cs_it_spawn(int port, const char *db, const char *topic, const char *const *extra, const char *log)
{
    char e_port[64], e_db[128], e_topic[192], e_cfg[256], e_prof[96];
    const char *env[CS_IT_ENV_MAX + 1] = {e_port, e_db, e_topic, e_cfg, e_prof, "SERVER_ADDRESS=127.0.0.1"};
    size_t n = 6;
    snprintf(e_port, sizeof e_port, "SERVER_PORT=%d", port);
    snprintf(e_db, sizeof e_db, "DATASOURCE_DBNAME=%s", db);
    snprintf(e_topic, sizeof e_topic, "CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME=%s", topic);
    snprintf(e_cfg, sizeof e_cfg, "CONFIG_SERVER_URL=%s", ts_env("CQ_CONFIG_URL", "http://127.0.0.1:28888"));
    snprintf(e_prof, sizeof e_prof, "APP_PROFILES=%s", ts_env("CQ_PROFILE", "test"));
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (n == CS_IT_ENV_MAX)
            return -1;
        env[n++] = extra[i];
    }
    env[n] = NULL;
    return ts_spawn("customer-service", NULL, env, NULL, log);
}

long cs_it_wait_ready(const char *base)
{
    char url[160];
    snprintf(url, sizeof url, "%s/health/readiness", base);
    for (int k = 0; k < 150 && ts_http_status(url) != 200; k++)
        ts_sleep_ms(200);
    return ts_http_status(url);
}

static rd_kafka_t *cs_consumer(const char *bootstrap)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char gid[64];
    snprintf(gid, sizeof gid, "cs-it-%d", (int)(ts_now_ms() % 1000000));
    if (rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "group.id", gid, err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    if (rk == NULL)
        rd_kafka_conf_destroy(c);
    else
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

int cs_it_watermarks(const char *bootstrap, const char *topic, int64_t *hi)
{
    rd_kafka_t *rk = cs_consumer(bootstrap);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt;
    int np = -1;
    if (rk == NULL)
        return -1;
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
        md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        np = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    for (int p = 0; p < np && p < CS_IT_MAX_PARTITIONS; p++) {
        int64_t lo = 0;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi[p], 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
            np = -1;
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return np;
}

static void cs_add(cs_recs_t *out, const evcodec_t *codec, const rd_kafka_message_t *m)
{
    cs_rec_t *r;
    rd_kafka_headers_t *h = NULL;
    const void *hv;
    size_t hl;
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 256;
        out->v = realloc(out->v, out->cap * sizeof *out->v);
    }
    r = &out->v[out->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->key, sizeof r->key, "%.*s", (int)m->key_len, m->key ? (const char *)m->key : "");
    r->partition = m->partition;
    r->offset = m->offset;
    r->ts_ms = rd_kafka_message_timestamp(m, NULL);
    r->tombstone = m->payload == NULL;
    r->outbox_id = -1;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(h, "outbox-id", &hv, &hl) == RD_KAFKA_RESP_ERR_NO_ERROR && hl < 24) {
        char num[24];
        memcpy(num, hv, hl);
        num[hl] = '\0';
        r->outbox_id = strtoll(num, NULL, 10);
    }
    if (!r->tombstone)
        r->decode_rc = evcodec_decode_customer(codec, m->payload, m->len, &r->ev, NULL, 0);
}

/* Polls up to 200 ms and adds the message that came, if any, to `out`. */
static void cs_poll_one(rd_kafka_t *rk, const evcodec_t *codec, cs_recs_t *out)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    if (m == NULL)
        return;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        cs_add(out, codec, m);
    rd_kafka_message_destroy(m);
}

int cs_it_consume(const char *bootstrap, const char *topic, const int64_t *from, int np,
                  int (*until)(const cs_recs_t *, void *), void *ud, long timeout_ms, cs_recs_t *out)
{
    rd_kafka_t *rk = cs_consumer(bootstrap);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(np);
    evcodec_t *codec = evcodec_new_default(NULL, 0);
    long long end = ts_now_ms() + timeout_ms;
    int rc = -1;
    for (int p = 0; p < np; p++)
        rd_kafka_topic_partition_list_add(tl, topic, p)->offset =
            from[p] < 0 ? RD_KAFKA_OFFSET_BEGINNING : from[p];
    rd_kafka_assign(rk, tl);
    while (ts_now_ms() < end) {
        if (until(out, ud)) {
            rc = 0;
            break;
        }
        cs_poll_one(rk, codec, out);
    }
    /* drain a little more to catch duplicates that would follow */
    long long extra = ts_now_ms() + 1500;
    while (rc == 0 && ts_now_ms() < extra) {
        cs_poll_one(rk, codec, out);
    }
    rd_kafka_topic_partition_list_destroy(tl);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    evcodec_free(codec);
    return rc;
}

void cs_recs_free(cs_recs_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        evcodec_customer_clear(&r->v[i].ev);
    free(r->v);
    memset(r, 0, sizeof *r);
}

size_t cs_recs_for_key(const cs_recs_t *r, const char *key, const cs_rec_t **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].key, key) == 0) {
            if (n < max)
                out[n] = &r->v[i];
            n++;
        }
    return n;
}

static long cs_send(const char *method, const char *url, json_t *body, char *id_out)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    ts_resp_t resp = {0};
    long st = 0;
    if (ts_http(method, url, s, s ? strlen(s) : 0, hdrs, &resp) == 0) {
        st = resp.status;
        if (id_out && st == 201) {
            json_t *j = json_loads(resp.body, 0, NULL);
            const char *id = json_string_value(json_object_get(j, "customerId"));
            snprintf(id_out, 37, "%s", id ? id : "");
            json_decref(j);
        }
    }
    ts_resp_free(&resp);
    free(s);
    json_decref(body);
    return st;
}

long cs_it_create(const char *base, const char *id, const char *username, const char *first, const char *last,
                  char *id_out)
{
    char url[512];
    json_t *b = json_pack("{s:s,s:s,s:s}", "username", username, "firstName", first, "lastName", last);
    if (id)
        json_object_set_new(b, "customerId", json_string(id));
    snprintf(url, sizeof url, "%s/customers", base);
    return cs_send("POST", url, b, id_out);
}

long cs_it_update(const char *base, const char *id, const char *username, const char *first, const char *last)
{
    char url[512];
    snprintf(url, sizeof url, "%s/customers/%s", base, id);
    return cs_send("PUT", url,
                   json_pack("{s:s,s:s,s:s}", "username", username, "firstName", first, "lastName", last),
                   NULL);
}

long cs_it_delete(const char *base, const char *id)
{
    char url[512];
    snprintf(url, sizeof url, "%s/customers/%s", base, id);
    return cs_send("DELETE", url, NULL, NULL);
}
