/* it_ops_logs.c — JSON-lines logs: a trio of its own (config-server on its own port serving
 * CQ_SOURCE_DIR/config-repo, customer-service and order-service fetching from it, debug
 * level, own database, topic, DLQ and consumer group) goes through a short scenario that
 * touches the success, client-error, DLQ and shutdown paths — creates, orders, an update,
 * a delete, malformed bodies, unknown paths and ids, an undecodable message on the topic,
 * an unknown application at the config-server, SIGTERM — and then every line each program
 * wrote to stderr must be a JSON object with string fields ts, level, service (its own
 * name) and msg.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "cs_it.h"
#include "it_ops_util.h"
#include "ts.h"

enum { CFG, CUS, ORD, N_PROG };
static const char *const PROG[N_PROG] = {"config-server", "customer-service", "order-service"};

typedef struct trio {
    pid_t pid[N_PROG];
    int port[N_PROG];
    char log[N_PROG][256];
    char db[64], topic[96], dlq[112], group[112];
} trio_t;

static int setup(void **state)
{
    trio_t *t = calloc(1, sizeof *t);
    *state = t;
    return t ? 0 : -1;
}

static int teardown(void **state)
{
    trio_t *t = *state;
    const char *topics[2] = {t->topic, t->dlq};
    for (int i = N_PROG - 1; i >= 0; i--)
        if (ts_alive(t->pid[i]))
            ts_term(t->pid[i], 20000);
    if (t->db[0])
        ops_drop_db(t->db);
    if (t->topic[0])
        ops_delete_topics(topics, 2);
    free(t);
    return 0;
}

static long post_json(int port, const char *path, const char *body)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    char url[256];
    ts_resp_t r = {0};
    long st;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    if (ts_http("POST", url, body, strlen(body), hdrs, &r) != 0)
        r.status = 0;
    st = r.status;
    ts_resp_free(&r);
    return st;
}

static void order_body(char *out, size_t len, const char *customer)
{
    snprintf(
        out, len,
        "{\"customerId\":\"%s\",\"restaurantId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb45\",\"price\":200,"
        "\"items\":[{\"productId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb48\",\"quantity\":1,\"price\":50.00,"
        "\"subTotal\":50.00},{\"productId\":\"d215b5f8-0249-4dc5-89a3-51fd148cfb48\",\"quantity\":3,"
        "\"price\":50,\"subTotal\":150}],"
        "\"address\":{\"street\":\"street_1\",\"postalCode\":\"1000AB\",\"city\":\"Amsterdam\"}}",
        customer);
}

/* Produces one undecodable value to the topic. */
static void send_poison(const char *topic)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    const char *key = "00000000-0000-4000-8000-000000000999";
    rd_kafka_conf_set(conf, "bootstrap.servers", ts_env("CQ_KAFKA_BOOTSTRAP", "127.0.0.1:29092"), err,
                      sizeof err);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(rk);
    assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                       RD_KAFKA_V_VALUE("not avro", 8),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                     0);
    assert_int_equal(rd_kafka_flush(rk, 15000), 0);
    rd_kafka_destroy(rk);
}

static void start_service(trio_t *t, int i)
{
    char buf[OPS_BASE_ENV][256], e[8][256];
    const char *env[OPS_BASE_ENV + 10];
    size_t n = ops_base_env(buf, env, t->port[i], t->db);
    snprintf(e[0], 256, "CONFIG_SERVER_URL=http://127.0.0.1:%d", t->port[CFG]); /* replaces the base one */
    env[0] = e[0];
    snprintf(e[1], 256, "LOG_LEVEL=debug");
    env[n++] = e[1];
    if (i == CUS) {
        snprintf(e[2], 256, "CUSTOMER_SERVICE_CUSTOMER_TOPIC_NAME=%s", t->topic);
        env[n++] = e[2];
    } else {
        snprintf(e[2], 256, "ORDER_SERVICE_CUSTOMER_TOPIC_NAME=%s", t->topic);
        snprintf(e[3], 256, "ORDER_SERVICE_DLQ_TOPIC_NAME=%s", t->dlq);
        snprintf(e[4], 256, "KAFKA_CONSUMER_CONFIG_CUSTOMER_GROUP_ID=%s", t->group);
        snprintf(e[5], 256, "ORDER_SERVICE_CUSTOMER_WAIT_MS=5000");
        for (int k = 2; k <= 5; k++)
            env[n++] = e[k];
    }
    env[n] = NULL;
    t->pid[i] = ts_spawn(PROG[i], NULL, env, NULL, t->log[i]);
    assert_true(t->pid[i] > 0);
    if (ts_wait_status(t->port[i], "/health/readiness", 200, 60000, 0) != 200) {
        fprintf(stderr, "%s not ready; log %s\n", PROG[i], t->log[i]);
        fail();
    }
}

static void t_json_logs(void **state)
{
    trio_t *t = *state;
    char repo[512], portarg[16], url[128], id[37], first_id[37], body[1024];
    long long now = (long long)time(NULL);
    int pid = (int)getpid();

    snprintf(t->db, sizeof t->db, "it_ops_logs_%d", pid);
    snprintf(t->topic, sizeof t->topic, "it-ops-logs-%d-%lld", pid, now);
    snprintf(t->dlq, sizeof t->dlq, "%s.DLQ", t->topic);
    snprintf(t->group, sizeof t->group, "%s-group", t->topic);
    for (int i = 0; i < N_PROG; i++) {
        t->port[i] = ts_free_port();
        assert_true(t->port[i] > 0);
        snprintf(t->log[i], sizeof t->log[i], "/tmp/it_ops_logs_%s_%d.log", PROG[i], pid);
    }
    assert_int_equal(ops_create_db(t->db), 0);

    /* config-server of its own */
    snprintf(repo, sizeof repo, "%s/config-repo", ts_env("CQ_SOURCE_DIR", "."));
    snprintf(portarg, sizeof portarg, "%d", t->port[CFG]);
    {
        const char *args[] = {"--repo",    repo,          "--port", portarg, "--host",
                              "127.0.0.1", "--log-level", "debug",  NULL};
        const char *env[] = {"LSAN_OPTIONS=print_suppressions=0", NULL};
        t->pid[CFG] = ts_spawn(PROG[CFG], args, env, NULL, t->log[CFG]);
        assert_true(t->pid[CFG] > 0);
        assert_int_equal(ts_wait_status(t->port[CFG], "/actuator/health", 200, 30000, 0), 200);
    }
    assert_int_equal(ts_get(t->port[CFG], "/customer-service/test/no-such-label", NULL, NULL), 404);
    assert_int_equal(ts_get(t->port[CFG], "/customer-service/test", NULL, NULL), 200);
    start_service(t, CUS);
    start_service(t, ORD);

    /* the scenario */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", t->port[CUS]);
    for (int i = 0; i < 5; i++) {
        char user[64];
        snprintf(user, sizeof user, "logs-%d", i);
        assert_int_equal(cs_it_create(url, NULL, user, "Log", "Lines", id), 201);
        if (i == 0)
            memcpy(first_id, id, sizeof id);
        order_body(body, sizeof body, id);
        assert_int_equal(post_json(t->port[ORD], "/orders", body), 201);
    }
    assert_int_equal(cs_it_update(url, first_id, "logs-0b", "Log", "Updated"), 200);
    assert_int_equal(cs_it_create(url, NULL, "logs-1", "Dup", "Name", id), 409);
    assert_int_equal(post_json(t->port[CUS], "/customers", "{not json"), 400);
    assert_int_equal(post_json(t->port[ORD], "/orders", "{\"customerId\": 5}"), 400);
    order_body(body, sizeof body, "00000000-0000-4000-8000-00000000beef");
    assert_int_equal(post_json(t->port[ORD], "/orders", body), 400);
    assert_int_equal(ts_get(t->port[ORD], "/customers/not-a-uuid", NULL, NULL), 400);
    assert_int_equal(ts_get(t->port[ORD], "/orders/00000000-0000-4000-8000-000000000000", NULL, NULL), 404);
    assert_int_equal(ts_get(t->port[CUS], "/no/such/path", NULL, NULL), 404);
    assert_int_equal(ts_get(t->port[CUS], "/metrics", NULL, NULL), 200);
    assert_int_equal(cs_it_delete(url, first_id), 204);
    send_poison(t->topic);
    ts_sleep_ms(1500); /* the projection handles the delete and dead-letters the poison */

    for (int i = N_PROG - 1; i >= 0; i--) {
        int rc = ts_term(t->pid[i], 30000);
        t->pid[i] = 0;
        if (rc != 0)
            fprintf(stderr, "%s exited %d after SIGTERM (log %s)\n", PROG[i], rc, t->log[i]);
        assert_int_equal(rc, 0);
    }
    for (int i = 0; i < N_PROG; i++) {
        long n = ops_check_json_log(t->log[i], PROG[i]);
        fprintf(stderr, "%s: %ld stderr lines, all JSON log lines: %s\n", PROG[i], n < 0 ? 0 : n,
                n < 0 ? "NO" : "yes");
        assert_true(n >= 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_json_logs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
