/* test_httpd_harden.c — regression tests of httpd's hardening (httpd.h): an HTTP/1
 * "Upgrade: h2c" is answered as HTTP/1.1 (no cleartext HTTP/2), the connection cap defers
 * connections beyond it without disturbing the open ones, a path that decodes to invalid
 * UTF-8 gets a 404 whose problem body says 404, and the JSON media-type check. Raw sockets
 * against a real server on an ephemeral 127.0.0.1 port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"

static int h_hello(void *ctx, h2o_req_t *req)
{
    (void)ctx;
    return httpd_send(req, 200, "text/plain", "hello", 5);
}

static httpd_t *start(int max_conn, int threads)
{
    char err[256];
    httpd_opts_t o = {.host = "127.0.0.1", .threads = threads, .drain_ms = 2000, .max_connections = max_conn};
    httpd_t *s = httpd_new(&o, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(httpd_route(s, "GET", "/hello", "hello", h_hello, NULL), 0);
    assert_int_equal(httpd_start(s, err, sizeof err), 0);
    return s;
}

static int dial(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Reads what arrives within `ms` (until the first blank line and the body, or close) into
 * buf; returns the length (0: nothing came). */
static size_t read_within(int fd, char *buf, size_t cap, int ms)
{
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n + 1 < cap && poll(&p, 1, ms) == 1) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        const char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strcasestr(buf, "content-length: ");
        if (end != NULL && cl != NULL && n >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
            break;
        ms = 500;
    }
    buf[n] = '\0';
    return n;
}

static void send_str(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void test_h2c_upgrade_ignored(void **state)
{
    (void)state;
    httpd_t *s = start(0, 1);
    int fd = dial(httpd_port(s));
    char buf[4096];
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                 "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
    assert_true(read_within(fd, buf, sizeof buf, 2000) > 0);
    assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0); /* not "101 Switching Protocols" */
    assert_null(strcasestr(buf, "upgrade: h2c"));
    assert_non_null(strstr(buf, "hello"));
    close(fd);
    httpd_free(s);
}

static void test_connection_cap_defers(void **state)
{
    (void)state;
    char buf[4096];
    httpd_t *s = start(2, 2);
    int port = httpd_port(s);
    int a = dial(port), b = dial(port);
    send_str(a, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(read_within(a, buf, sizeof buf, 2000) > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0);
    send_str(b, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(read_within(b, buf, sizeof buf, 2000) > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0);
    /* a third connection waits in the backlog: no answer while two are open */
    int c = dial(port);
    send_str(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_within(c, buf, sizeof buf, 500), 0);
    /* the open ones are not disturbed */
    send_str(a, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(read_within(a, buf, sizeof buf, 2000) > 0 && strncmp(buf, "HTTP/1.1 200", 12) == 0);
    /* one closes: the waiting one is served */
    close(b);
    assert_true(read_within(c, buf, sizeof buf, 3000) > 0);
    assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    close(a);
    close(c);
    httpd_free(s);
}

static void test_invalid_utf8_path_status_agrees(void **state)
{
    (void)state;
    char buf[4096];
    httpd_t *s = start(0, 1);
    int fd = dial(httpd_port(s));
    send_str(fd, "GET /%ff%fe/default HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(read_within(fd, buf, sizeof buf, 2000) > 0);
    assert_true(strncmp(buf, "HTTP/1.1 404", 12) == 0);
    const char *body = strstr(buf, "\r\n\r\n");
    assert_non_null(body);
    json_t *j = json_loads(body + 4, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 404);
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Not Found");
    assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "/%ff%fe/default"));
    json_decref(j);
    /* raw bytes that are not UTF-8 in the path: the detail is made valid, the status agrees */
    send_str(fd, "GET /\xff\xfe/default HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(read_within(fd, buf, sizeof buf, 2000) > 0);
    assert_true(strncmp(buf, "HTTP/1.1 404", 12) == 0);
    body = strstr(buf, "\r\n\r\n");
    assert_non_null(body);
    j = json_loads(body + 4, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 404);
    assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "/%FF%FE/default"));
    json_decref(j);
    close(fd);
    httpd_free(s);
}

static void test_json_media_type(void **state)
{
    (void)state;
    assert_true(httpd_content_type_is_json("application/json"));
    assert_true(httpd_content_type_is_json("Application/JSON; charset=utf-8"));
    assert_true(httpd_content_type_is_json("application/vnd.api.v1+json"));
    assert_true(httpd_content_type_is_json("application/problem+json;charset=utf-8"));
    assert_false(httpd_content_type_is_json(NULL));
    assert_false(httpd_content_type_is_json("application/jsonx"));
    assert_false(httpd_content_type_is_json("application/json5"));
    assert_false(httpd_content_type_is_json("application/json-seq"));
    assert_false(httpd_content_type_is_json("text/json"));
    assert_false(httpd_content_type_is_json("application/+json"));
    assert_false(httpd_content_type_is_json("application/x+jsonx"));
    assert_false(httpd_content_type_is_json("application/a/b+json"));
    assert_false(httpd_content_type_is_json("text/plain"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h2c_upgrade_ignored),
        cmocka_unit_test(test_connection_cap_defers),
        cmocka_unit_test(test_invalid_utf8_path_status_agrees),
        cmocka_unit_test(test_json_media_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
