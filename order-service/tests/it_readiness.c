/* it_readiness.c — order-service's readiness follows its dependencies, on the real
 * PostgreSQL and Kafka. The service reaches PostgreSQL through a TCP relay run by this test
 * (the shared database is never stopped): cutting the relay (listener and every open
 * connection closed) makes the database unreachable, restoring it brings it back.
 *  - all reachable: /health/readiness 200, db/kafka/projection UP;
 *  - database cut: 503 with db DOWN (kafka still UP) within a few seconds, and a read that
 *    needs the database answers a 5xx problem+json (never a hang or a crash);
 *  - database back: 200 again, and the read works.
 * Kafka unreachable (503 with kafka DOWN) is covered by it_shutdown.c.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include <cmocka.h>

#include "os_it.h"
#include "ts.h"

#define RELAY_MAX 64

typedef struct relay {
    int listen_fd;
    int port;          /* where the service connects */
    int upstream_port; /* PostgreSQL's port (127.0.0.1) */
    atomic_int stop;
    pthread_t thread;
} relay_t;

static int relay_listen(int port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* not inherited by the service */
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&a, &al);
    return fd;
}

static int relay_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Accepts and shuttles bytes both ways until stopped; closes everything on the way out. */
static void *relay_main(void *arg)
{
    relay_t *r = arg;
    int pair[RELAY_MAX][2];
    size_t n = 0;
    char buf[16384];
    while (!atomic_load(&r->stop)) {
        struct pollfd p[1 + 2 * RELAY_MAX];
        p[0] = (struct pollfd){r->listen_fd, POLLIN, 0};
        for (size_t i = 0; i < n; i++) {
            p[1 + 2 * i] = (struct pollfd){pair[i][0], POLLIN, 0};
            p[2 + 2 * i] = (struct pollfd){pair[i][1], POLLIN, 0};
        }
        if (poll(p, 1 + 2 * n, 50) <= 0)
            continue;
        size_t polled = n; /* a pair accepted below has no revents in p[] yet */
        if ((p[0].revents & POLLIN) && n < RELAY_MAX) {
            int c = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            int u = c >= 0 ? relay_connect(r->upstream_port) : -1;
            if (c >= 0 && u >= 0) {
                pair[n][0] = c;
                pair[n][1] = u;
                n++;
            } else if (c >= 0) {
                close(c);
            }
        }
        for (size_t i = 0; i < polled; i++) {
            int dead = 0;
            for (int side = 0; side < 2 && !dead; side++) {
                if (!(p[1 + 2 * i + side].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t got = read(pair[i][side], buf, sizeof buf);
                if (got <= 0 || write(pair[i][1 - side], buf, (size_t)got) != got)
                    dead = 1;
            }
            if (dead) {
                close(pair[i][0]);
                close(pair[i][1]);
                pair[i][0] = pair[n - 1][0];
                pair[i][1] = pair[n - 1][1];
                n--;
                break; /* the poll array no longer matches: poll again */
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        close(pair[i][0]);
        close(pair[i][1]);
    }
    close(r->listen_fd);
    return NULL;
}

/* Starts the relay on `port` (read back in r->port). 0 or -1. */
static int relay_start(relay_t *r, int port, int upstream_port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(r, 0, sizeof *r);
    r->upstream_port = upstream_port;
    r->listen_fd = relay_listen(port);
    if (r->listen_fd < 0)
        return -1;
    getsockname(r->listen_fd, (struct sockaddr *)&a, &al);
    r->port = ntohs(a.sin_port);
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        close(r->listen_fd);
        return -1;
    }
    return 0;
}

static void relay_stop(relay_t *r)
{
    atomic_store(&r->stop, 1);
    pthread_join(r->thread, NULL);
}

/* Polls readiness until it answers `want`; returns the time it took or -1. */
static long long wait_readiness(int port, long want, long timeout_ms)
{
    long long t0 = ts_now_ms();
    while (ts_now_ms() - t0 < timeout_ms) {
        if (os_it_get(port, "/health/readiness", NULL, NULL) == want)
            return ts_now_ms() - t0;
        ts_sleep_ms(100);
    }
    return -1;
}

static void test_readiness_follows_database(void **state)
{
    os_it_t t;
    relay_t r;
    char env_port[64], id[37], path[96], *body = NULL, *ct = NULL;
    const char *ci = ts_env("CQ_PG_CONNINFO", "host=127.0.0.1 port=5433 user=postgres dbname=cqrs");
    const char *pp = strstr(ci, "port=");
    int pg_port = pp ? atoi(pp + 5) : 5432;
    int port = ts_free_port();
    assert_int_equal(os_it_setup(&t, "readiness", 1), 0);
    assert_int_equal(relay_start(&r, ts_free_port(), pg_port), 0);
    int relay_port = r.port;
    snprintf(env_port, sizeof env_port, "DATASOURCE_PORT=%d", relay_port);
    const char *env[] = {env_port, "DATASOURCE_CONNECT_TIMEOUT_S=2", NULL};
    pid_t pid = *(pid_t *)*state = os_it_start(&t, port, env, NULL);
    assert_true(pid > 0);
    os_it_uuid(id, 7);
    assert_int_equal(os_it_send(&t, id, 1, "ready-7", 1), 0);
    assert_int_equal(os_it_wait_ready(port, 60000), 0);
    snprintf(path, sizeof path, "/customers/%s", id);
    for (int k = 0; k < 100 && os_it_get(port, path, NULL, NULL) != 200; k++)
        ts_sleep_ms(100);
    assert_int_equal(os_it_get(port, "/health/readiness", &body, NULL), 200);
    assert_non_null(strstr(
        body, "\"db\":{\"status\":\"UP\"},\"kafka\":{\"status\":\"UP\"},\"projection\":{\"status\":\"UP\"}"));
    free(body);

    relay_stop(&r); /* the database goes away */
    long long took = wait_readiness(port, 503, 15000);
    print_message("database cut: readiness 503 after %lld ms\n", took);
    assert_true(took >= 0);
    assert_int_equal(os_it_get(port, "/health/readiness", &body, NULL), 503);
    assert_non_null(strstr(body, "\"db\":{\"status\":\"DOWN\"}"));
    assert_non_null(strstr(body, "\"kafka\":{\"status\":\"UP\"}"));
    free(body);
    long long t0 = ts_now_ms();
    long st = os_it_get(port, path, &body, &ct);
    print_message("read with the database cut: %ld after %lld ms\n", st, ts_now_ms() - t0);
    assert_true(st >= 500 && st <= 599);
    assert_non_null(ct);
    assert_non_null(strstr(ct, "application/problem+json"));
    assert_non_null(strstr(body, "\"status\":"));
    free(body);
    free(ct);
    assert_int_equal(os_it_get(port, "/health/liveness", NULL, NULL), 200); /* alive all along */

    int rs = -1;
    for (int k = 0; k < 50 && (rs = relay_start(&r, relay_port, pg_port)) != 0; k++)
        ts_sleep_ms(100);
    if (rs != 0)
        fail_msg("cannot listen on %d again: %s", relay_port, strerror(errno));
    took = wait_readiness(port, 200, 30000);
    print_message("database back: readiness 200 after %lld ms\n", took);
    assert_true(took >= 0);
    for (int k = 0; k < 50 && os_it_get(port, path, NULL, NULL) != 200; k++)
        ts_sleep_ms(100);
    assert_int_equal(os_it_get(port, path, NULL, NULL), 200);

    assert_int_equal(os_it_stop(pid), 0);
    relay_stop(&r);
    os_it_teardown(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readiness_follows_database, os_it_child_setup,
                                        os_it_child_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
