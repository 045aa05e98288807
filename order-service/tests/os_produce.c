/* os_produce.c — a load generator for order-service's benchmarks and manual tests (not a
 * test itself): creates/deletes a topic and produces a synthetic customer-event stream with
 * the real codec (evcodec) — `customers` × `versions` events, customer k's versions in
 * order, customers interleaved — and prints the produce rate as JSON.
 *
 *   os_produce --bootstrap 127.0.0.1:9092 --topic t --create 3 --customers 200000 --versions 5
 *   os_produce --bootstrap 127.0.0.1:9092 --topic t --delete
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "evcodec.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int admin(rd_kafka_t *rk, const char *topic, int create_parts)
{
    char err[256];
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_event_t *ev;
    int rc = 0;
    if (create_parts > 0) {
        rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, create_parts, 1, err, sizeof err);
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, 30000);
        rd_kafka_NewTopic_destroy(nt);
    } else {
        rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
        rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, 30000);
        rd_kafka_DeleteTopic_destroy(dt);
    }
    if (ev == NULL || rd_kafka_event_error(ev)) {
        fprintf(stderr, "os_produce: admin request failed\n");
        rc = -1;
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    return rc;
}

int main(int argc, char **argv)
{
    const char *bootstrap = "127.0.0.1:9092", *topic = NULL;
    long customers = 1000, versions = 1;
    int create = 0, del = 0;
    char err[512];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bootstrap") == 0 && i + 1 < argc)
            bootstrap = argv[++i];
        else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc)
            topic = argv[++i];
        else if (strcmp(argv[i], "--customers") == 0 && i + 1 < argc)
            customers = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--versions") == 0 && i + 1 < argc)
            versions = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--create") == 0 && i + 1 < argc)
            create = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--delete") == 0)
            del = 1;
        else {
            fprintf(stderr, "usage: os_produce --topic T [--bootstrap B] [--create PARTS] "
                            "[--customers N] [--versions V] [--delete]\n");
            return 2;
        }
    }
    if (topic == NULL || customers < 0 || versions < 0)
        return 2;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ||
        rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err) ||
        rd_kafka_conf_set(conf, "batch.num.messages", "10000", err, sizeof err) ||
        rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof err) ||
        rd_kafka_conf_set(conf, "compression.type", "lz4", err, sizeof err)) {
        fprintf(stderr, "os_produce: %s\n", err);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) {
        fprintf(stderr, "os_produce: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (del) {
        rc = admin(rk, topic, 0);
        rd_kafka_destroy(rk);
        return rc ? 1 : 0;
    }
    if (create > 0 && admin(rk, topic, create) != 0) {
        rd_kafka_destroy(rk);
        return 1;
    }
    evcodec_t *codec = evcodec_new_default(err, sizeof err);
    if (codec == NULL) {
        fprintf(stderr, "os_produce: %s\n", err);
        rd_kafka_destroy(rk);
        return 1;
    }
    double t0 = now_s();
    long n = 0;
    for (long v = 1; v <= versions; v++) {
        for (long c = 0; c < customers; c++) {
            evcodec_customer_t ev;
            char name[64];
            unsigned char *buf = NULL;
            size_t len = 0;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            memset(&ev, 0, sizeof ev);
            char idtxt[64];
            snprintf(idtxt, sizeof idtxt, "00000000-0000-4000-8000-%012ld", c % 1000000000000L);
            memcpy(ev.id, idtxt, EVCODEC_UUID_LEN);
            ev.id[EVCODEC_UUID_LEN] = '\0';
            snprintf(name, sizeof name, "user-%ld-v%ld", c, v);
            ev.username = name;
            ev.first_name = (char *)"First";
            ev.last_name = (char *)"Last";
            ev.version = v;
            ev.event_type = v > 1 ? EVCODEC_UPDATED : EVCODEC_CREATED;
            ev.occurred_at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
            if (evcodec_encode_customer(codec, &ev, &buf, &len) != EVCODEC_OK) {
                rc = 1;
                break;
            }
            rd_kafka_resp_err_t e;
            while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(ev.id, strlen(ev.id)),
                                          RD_KAFKA_V_VALUE(buf, len),
                                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_END)) ==
                   RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 10);
            if (e) {
                free(buf);
                rc = 1;
                break;
            }
            rd_kafka_poll(rk, 0);
            n++;
        }
    }
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = 1;
    double dt = now_s() - t0;
    printf("{\"produced\":%ld,\"seconds\":%.3f,\"eventsPerSecond\":%.0f}\n", n, dt,
           dt > 0 ? (double)n / dt : 0.0);
    evcodec_free(codec);
    rd_kafka_destroy(rk);
    return rc;
}
