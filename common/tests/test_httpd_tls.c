/* test_httpd_tls.c — httpd over TLS (httpd.h, httpd_tls.c) with a test CA that the test
 * makes with the openssl command: the handshake and a request (libcurl, verifying the
 * server against the CA), TLS 1.1 refused, client certificates required / optional /
 * from another CA (refused), the verified identity a handler sees (CN, SAN), a rotated
 * certificate picked up by new connections while an open one keeps working, a rotation
 * to a broken file ignored, and the options read from the environment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dbuf.h"
#include "httpd.h"

static char dir[256];

static void path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

/* A CA `ca` (ca.crt/ca.key) and leaf certificates signed by it. */
static void make_ca(const char *ca)
{
    sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
       "-keyout %s.key -out %s.crt -subj /CN=%s >/dev/null 2>&1",
       dir, ca, ca, ca);
}

static void make_leaf(const char *ca, const char *name, const char *cn, const char *sans)
{
    sh("cd %s && printf 'basicConstraints=CA:FALSE\\nsubjectAltName=%s\\n' > %s.ext && "
       "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout %s.key "
       "-subj /CN=%s -out %s.csr >/dev/null 2>&1 && "
       "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key -CAcreateserial -days 2 -extfile %s.ext "
       "-out %s.crt >/dev/null 2>&1",
       dir, sans, name, name, cn, name, name, ca, ca, name, name);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/cq-httpd-tls-XXXXXX");
    assert_non_null(mkdtemp(dir));
    make_ca("ca");
    make_ca("other-ca");
    make_leaf("ca", "server", "localhost", "DNS:localhost,IP:127.0.0.1");
    make_leaf("ca", "rotated", "localhost-rotated", "DNS:localhost,IP:127.0.0.1");
    make_leaf("ca", "client", "customer-service",
              "DNS:customer-service.cq.test,URI:spiffe://cq/customer-service");
    make_leaf("other-ca", "intruder", "order-service", "DNS:order-service.cq.test");
    /* the server's live files, replaced by the rotation test */
    sh("cd %s && cp server.crt tls.crt && cp server.key tls.key", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sh("rm -rf %s", dir);
    return 0;
}

/* Answers "tls=<0|1> cn=<CN> san=<0|1>" (san: customer-service.cq.test is a SAN). */
static int h_who(void *ctx, h2o_req_t *req)
{
    (void)ctx;
    char cn[128], body[256];
    httpd_client_cert_cn(req, cn, sizeof cn);
    int n = snprintf(body, sizeof body, "tls=%d cn=%s san=%d uri=%d", httpd_is_tls(req), cn,
                     httpd_client_cert_has_san(req, "CUSTOMER-SERVICE.cq.test"),
                     httpd_client_cert_has_san(req, "spiffe://cq/customer-service"));
    return httpd_send(req, 200, "text/plain", body, (size_t)n);
}

static httpd_t *start_tls(httpd_client_auth_t auth, int reload_ms)
{
    static char crt[300], key[300], ca[300];
    char err[512];
    path(crt, sizeof crt, "tls.crt");
    path(key, sizeof key, "tls.key");
    path(ca, sizeof ca, "ca.crt");
    httpd_opts_t o = {.host = "127.0.0.1",
                      .threads = 2,
                      .drain_ms = 2000,
                      .tls = {.cert_file = crt,
                              .key_file = key,
                              .client_ca_file = ca,
                              .client_auth = auth,
                              .reload_interval_ms = reload_ms}};
    httpd_t *s = httpd_new(&o, err, sizeof err);
    if (s == NULL)
        fail_msg("httpd_new: %s", err);
    assert_int_equal(httpd_route(s, "GET", "/who", "who", h_who, NULL), 0);
    assert_int_equal(httpd_start(s, err, sizeof err), 0);
    return s;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* GET /who over https with the test CA and an optional client cert `cert` (a base name).
 * Returns the curl code; the body in `body` (caller frees). `c` may be a kept handle. */
static CURLcode get_who(CURL *c, int port, const char *cert, dbuf_t *body, long *new_conns)
{
    char url[128], ca[300], crt[300], key[300];
    snprintf(url, sizeof url, "https://localhost:%d/who", port);
    path(ca, sizeof ca, "ca.crt");
    dbuf_init(body, 1 << 16);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (cert != NULL) {
        snprintf(crt, sizeof crt, "%s/%s.crt", dir, cert);
        snprintf(key, sizeof key, "%s/%s.key", dir, cert);
        curl_easy_setopt(c, CURLOPT_SSLCERT, crt);
        curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    }
    CURLcode rc = curl_easy_perform(c);
    if (new_conns != NULL)
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, new_conns);
    return rc;
}

/* Handshakes with OpenSSL as the client, limited to `version` (0: any): returns 1 and the
 * server certificate's CN in cn, or 0 when the handshake fails. */
static int handshake(int port, int version, char *cn, size_t cnlen)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    int ok = 0;
    if (version != 0) {
        SSL_CTX_set_security_level(c, 0);
        SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
        SSL_CTX_set_min_proto_version(c, version);
        SSL_CTX_set_max_proto_version(c, version);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    SSL *s = SSL_new(c);
    SSL_set_fd(s, fd);
    if (SSL_connect(s) == 1) {
        X509 *x = SSL_get1_peer_certificate(s);
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, (int)cnlen);
        X509_free(x);
        ok = 1;
        SSL_shutdown(s);
    }
    ERR_clear_error();
    SSL_free(s);
    close(fd);
    SSL_CTX_free(c);
    return ok;
}

static void test_handshake_and_versions(void **state)
{
    (void)state;
    char cn[128] = "";
    dbuf_t b;
    httpd_t *s = start_tls(HTTPD_CLIENT_AUTH_NONE, 0);
    int port = httpd_port(s);
    CURL *c = curl_easy_init();
    assert_int_equal(get_who(c, port, NULL, &b, NULL), CURLE_OK);
    assert_string_equal(dbuf_ptr(&b), "tls=1 cn= san=0 uri=0");
    dbuf_free(&b);
    curl_easy_cleanup(c);
    assert_true(handshake(port, TLS1_2_VERSION, cn, sizeof cn));
    assert_string_equal(cn, "localhost");
    assert_true(handshake(port, TLS1_3_VERSION, cn, sizeof cn));
    assert_false(handshake(port, TLS1_1_VERSION, cn, sizeof cn));
    assert_false(handshake(port, TLS1_VERSION, cn, sizeof cn));
    /* plain HTTP to a TLS port gets no answer but a closed connection */
    c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/who", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    assert_int_not_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    httpd_free(s);
}

static void test_client_cert_need(void **state)
{
    (void)state;
    dbuf_t b;
    httpd_t *s = start_tls(HTTPD_CLIENT_AUTH_NEED, 0);
    int port = httpd_port(s);
    CURL *c = curl_easy_init();
    assert_int_equal(get_who(c, port, "client", &b, NULL), CURLE_OK);
    assert_string_equal(dbuf_ptr(&b), "tls=1 cn=customer-service san=1 uri=1");
    dbuf_free(&b);
    curl_easy_cleanup(c);
    /* no certificate: refused (TLS 1.3 reports it on the first read) */
    c = curl_easy_init();
    assert_int_not_equal(get_who(c, port, NULL, &b, NULL), CURLE_OK);
    dbuf_free(&b);
    curl_easy_cleanup(c);
    /* a certificate from another CA: refused */
    c = curl_easy_init();
    assert_int_not_equal(get_who(c, port, "intruder", &b, NULL), CURLE_OK);
    assert_null(strstr(dbuf_ptr(&b), "order-service"));
    dbuf_free(&b);
    curl_easy_cleanup(c);
    httpd_free(s);
}

static void test_client_cert_want(void **state)
{
    (void)state;
    dbuf_t b;
    httpd_t *s = start_tls(HTTPD_CLIENT_AUTH_WANT, 0);
    int port = httpd_port(s);
    CURL *c = curl_easy_init();
    assert_int_equal(get_who(c, port, NULL, &b, NULL), CURLE_OK);
    assert_string_equal(dbuf_ptr(&b), "tls=1 cn= san=0 uri=0");
    dbuf_free(&b);
    curl_easy_cleanup(c);
    c = curl_easy_init();
    assert_int_equal(get_who(c, port, "client", &b, NULL), CURLE_OK);
    assert_string_equal(dbuf_ptr(&b), "tls=1 cn=customer-service san=1 uri=1");
    dbuf_free(&b);
    curl_easy_cleanup(c);
    c = curl_easy_init();
    assert_int_not_equal(get_who(c, port, "intruder", &b, NULL), CURLE_OK);
    dbuf_free(&b);
    curl_easy_cleanup(c);
    httpd_free(s);
}

static int wait_cn(int port, const char *want)
{
    char cn[128] = "";
    for (int i = 0; i < 100; i++) {
        if (handshake(port, 0, cn, sizeof cn) && strcmp(cn, want) == 0)
            return 1;
        struct timespec t = {0, 50 * 1000000L};
        nanosleep(&t, NULL);
    }
    return 0;
}

static void test_rotation(void **state)
{
    (void)state;
    dbuf_t b;
    long conns = -1;
    httpd_t *s = start_tls(HTTPD_CLIENT_AUTH_NONE, 100);
    int port = httpd_port(s);
    CURL *kept = curl_easy_init();
    assert_int_equal(get_who(kept, port, NULL, &b, &conns), CURLE_OK);
    dbuf_free(&b);
    assert_true(wait_cn(port, "localhost"));
    /* cert-manager's way: new files renamed into place */
    sh("cd %s && cp rotated.crt tls.crt.new && cp rotated.key tls.key.new && mv tls.key.new tls.key && "
       "mv tls.crt.new tls.crt",
       dir);
    assert_true(wait_cn(port, "localhost-rotated"));
    /* the connection opened before the rotation still works, on its old session */
    assert_int_equal(get_who(kept, port, NULL, &b, &conns), CURLE_OK);
    assert_int_equal(conns, 0);
    assert_string_equal(dbuf_ptr(&b), "tls=1 cn= san=0 uri=0");
    dbuf_free(&b);
    curl_easy_cleanup(kept);
    /* a broken rotation (a key that does not match) is ignored: the last good one stays */
    sh("cd %s && cp client.key tls.key", dir);
    struct timespec t = {0, 400 * 1000000L};
    nanosleep(&t, NULL);
    assert_true(wait_cn(port, "localhost-rotated"));
    /* and the next good pair is taken */
    sh("cd %s && cp server.key tls.key && cp server.crt tls.crt", dir);
    assert_true(wait_cn(port, "localhost"));
    httpd_free(s);
}

static void test_bad_files_refused(void **state)
{
    (void)state;
    char err[512], crt[300], key[300];
    path(crt, sizeof crt, "server.crt");
    path(key, sizeof key, "client.key");
    httpd_opts_t o = {.host = "127.0.0.1", .tls = {.cert_file = crt, .key_file = key}};
    assert_null(httpd_new(&o, err, sizeof err));
    assert_non_null(strstr(err, "does not match"));
    o.tls.key_file = "/nonexistent/tls.key";
    assert_null(httpd_new(&o, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/tls.key"));
    path(key, sizeof key, "server.key");
    o.tls.key_file = key;
    o.tls.client_auth = HTTPD_CLIENT_AUTH_NEED;
    assert_null(httpd_new(&o, err, sizeof err));
    assert_non_null(strstr(err, "CA file"));
}

static void test_opts_from_env(void **state)
{
    (void)state;
    char err[256];
    httpd_opts_t o = {0};
    httpd_client_auth_t a;
    assert_int_equal(httpd_opts_from_env(&o, "CQTEST_", err, sizeof err), 0);
    assert_null(o.tls.cert_file);
    setenv("CQTEST_SSL_CERTIFICATE", "/c.crt", 1);
    setenv("CQTEST_SSL_CERTIFICATE_PRIVATE_KEY", "/c.key", 1);
    setenv("CQTEST_SSL_TRUST_CERTIFICATE", "/ca.crt", 1);
    setenv("CQTEST_SSL_CLIENT_AUTH", "Need", 1);
    setenv("CQTEST_MAX_CONNECTIONS", "77", 1);
    assert_int_equal(httpd_opts_from_env(&o, "CQTEST_", err, sizeof err), 0);
    assert_string_equal(o.tls.cert_file, "/c.crt");
    assert_string_equal(o.tls.key_file, "/c.key");
    assert_string_equal(o.tls.client_ca_file, "/ca.crt");
    assert_int_equal(o.tls.client_auth, HTTPD_CLIENT_AUTH_NEED);
    assert_int_equal(o.max_connections, 77);
    setenv("CQTEST_SSL_CLIENT_AUTH", "maybe", 1);
    assert_int_equal(httpd_opts_from_env(&o, "CQTEST_", err, sizeof err), -1);
    assert_non_null(strstr(err, "CQTEST_SSL_CLIENT_AUTH"));
    setenv("CQTEST_SSL_CLIENT_AUTH", "none", 1);
    setenv("CQTEST_MAX_CONNECTIONS", "0", 1);
    assert_int_equal(httpd_opts_from_env(&o, "CQTEST_", err, sizeof err), -1);
    assert_non_null(strstr(err, "CQTEST_MAX_CONNECTIONS"));
    assert_int_equal(httpd_client_auth_parse("WANT", &a), 0);
    assert_int_equal(a, HTTPD_CLIENT_AUTH_WANT);
    assert_int_equal(httpd_client_auth_parse("", &a), 0);
    assert_int_equal(a, HTTPD_CLIENT_AUTH_NONE);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_versions), cmocka_unit_test(test_client_cert_need),
        cmocka_unit_test(test_client_cert_want),       cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_bad_files_refused),      cmocka_unit_test(test_opts_from_env),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
