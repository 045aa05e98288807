/* it_config_server.c — integration test: starts the real `config-server` binary
 * ($CQ_BIN_DIR, default the build's bin/) on a copy of the fixture repo, on a free
 * 127.0.0.1 port of its own, and checks over HTTP: every URL form, 404s, 400s for every
 * CVE path-traversal vector (no file bytes), ETag/304, live reload within 1 s, a broken
 * edit keeping the old snapshot with the error on health, malformed/huge/deep/non-UTF-8
 * files, Basic auth (env and file), accept-empty, --help, and SIGTERM → exit 0.
 * Needs neither PostgreSQL nor Kafka. The helpers are cs_it.h's; {cipher} values and
 * /encrypt are it_config_server_crypt.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cs_it.h"
#include "dbuf.h"
#include "ts.h"

static void test_url_forms(void **state)
{
    csit_srv_t *s = *state;
    assert_int_equal(
        csit_status(s, "/billing/dev", "\"propertySources\":[{\"name\":\"Config resource 'file ["), 200);
    assert_int_equal(csit_status(s, "/billing/dev", "\"server.port\":9090"), 200);
    assert_int_equal(csit_status(s, "/billing/dev/master", "\"label\":\"master\""), 200);
    assert_int_equal(csit_status(s, "/billing/dev/main", "\"label\":\"main\""), 200);
    assert_int_equal(csit_status(s, "/billing/dev,prod", "\"profiles\":[\"dev,prod\"]"), 200);
    assert_int_equal(csit_status(s, "/billing-dev.yml", "  port: 9090\n"), 200);
    assert_int_equal(csit_status(s, "/billing-dev.yaml", "quoted-number: '42'"), 200);
    assert_int_equal(csit_status(s, "/billing-dev.properties", "billing.url: http://dev.example:9090/api\n"),
                     200);
    assert_int_equal(csit_status(s, "/billing-dev.properties?resolvePlaceholders=false", "${server.port}"),
                     200);
    assert_int_equal(csit_status(s, "/billing-dev.json", "\"hosts\":[\"gamma\"]"), 200);
    assert_int_equal(csit_status(s, "/billing-dev,prod.properties", "server.port: 443\n"), 200);
    assert_int_equal(csit_status(s, "/v2/billing-default.yml", "currency: USD"), 200);
    assert_int_equal(csit_status(s, "/master/billing-default.yml", "currency: EUR"), 200);
    assert_int_equal(csit_status(s, "/billing/default/v2", "v2/billing.yml"), 200);
    assert_int_equal(csit_status(s, "/legacy/default", "\"legacy.port\":\"7000\""), 200);
    assert_int_equal(csit_status(s, "/actuator/health", "\"status\":\"UP\""), 200);
    assert_int_equal(csit_status(s, "/health", "\"configServer\""), 200);
    const char *v2[] = {"Accept: application/vnd.spring-cloud.config-server.v2+json", NULL};
    csit_resp_t r;
    csit_get(s, "/billing/dev", v2, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"origin\":"));
    csit_resp_free(&r);
}

static void test_not_found(void **state)
{
    csit_srv_t *s = *state;
    /* an application without files of its own still gets application*.yml, as from Spring */
    assert_int_equal(csit_status(s, "/nosuchapp/dev", "repo/application-dev.yml\""), 200);
    assert_int_equal(csit_status(s, "/nosuchapp-dev.yml", "bootstrap-servers: localhost:19092"), 200);
    assert_int_equal(csit_status(s, "/billing/dev/nolabel", "\"title\":\"Label Not Found\""), 404);
    assert_int_equal(csit_status(s, "/nolabel/billing-dev.yml", "\"status\":404"), 404);
    assert_int_equal(csit_status(s, "/billing", "\"status\":404"), 404);
    assert_int_equal(csit_status(s, "/billing/dev//", "\"status\":404"), 404); /* Spring: 404 */
    assert_int_equal(csit_status(s, "/billing/dev/", "\"status\":404"), 404);
    assert_int_equal(csit_status(s, "//dev", "\"status\":404"), 404);
    const char *html[] = {"Accept: text/html", NULL};
    csit_resp_t r;
    csit_get(s, "/billing/dev", html, &r);
    assert_int_equal(r.status, 406); /* Spring's content negotiation */
    csit_resp_free(&r);
}

static void test_cve_vectors(void **state)
{
    csit_srv_t *s = *state;
    static const char *const vectors[] = {
        "/test/pathtraversal/master/..%252f..%252f..%252f..%252f../etc/passwd",
        "/test/pathtraversal/master/..%252F..%252F..%252F..%252F..%252F..%252F..%252Fetc%252Fpasswd",
        "/a/b/%252f..%252f..%252f..%252f..%252f..%252f..%252fetc%252fpasswd",
        "/a/b/..%252F..%252F..%252F..%252F..%252F..%252Fetc%252Fpasswd",
        "/..%252F..%252F..%252F..%252F..%252F..%252F..%252Fetc%252Fpasswd%23foo/development",
        "/..%2F..%2F..%2F..%2Fetc%2Fpasswd%23foo/development",
        "/..%5C..%5C..%5Cetc%5Cpasswd/development",
        "/(_)etc(_)passwd/development",
        "/billing/..%252F..%252F..%252F..%252Fetc%252Fpasswd",
        "/billing/dev,..%2F..%2F..%2Fetc%2Fpasswd",
        "/billing/%2e%2e",
        "/billing/dev%00",
        "/billing-..%252f..%252fetc%252fpasswd.yml",
        "/%2e%2e/billing-dev.yml",
        "/..%252f..%252f..%252fetc/billing-dev.properties",
        "/billing/dev/..",
        "/billing/dev/%2e%2e%2f%2e%2e%2fetc",
        "/billing/dev/..%252f..%252f..%252fetc",
        "/billing/de%23v",
        "/billing/%5cetc",
        "/../../../../etc/passwd",
        "/..%00/dev",
    };
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        csit_resp_t r;
        csit_get(s, vectors[i], NULL, &r);
        if (r.status != 400 && r.status != 404)
            fail_msg("%s → %ld, want 400/404", vectors[i], r.status);
        if (strstr(dbuf_ptr(&r.body), "root:") != NULL || strstr(dbuf_ptr(&r.body), "/bin/") != NULL)
            fail_msg("%s leaked file bytes: %s", vectors[i], dbuf_ptr(&r.body));
        if (strstr(dbuf_ptr(&r.hdrs), "application/problem+json") == NULL)
            fail_msg("%s: not problem+json", vectors[i]);
        csit_resp_free(&r);
    }
}

static char *etag_of(const csit_srv_t *s, const char *path)
{
    csit_resp_t r;
    csit_get(s, path, NULL, &r);
    assert_int_equal(r.status, 200);
    ts_resp_t tr = {.headers = (char *)dbuf_ptr(&r.hdrs)};
    char *etag = ts_resp_header(&tr, "etag");
    csit_resp_free(&r);
    assert_non_null(etag);
    return etag;
}

static void test_etag(void **state)
{
    csit_srv_t *s = *state;
    char *etag = etag_of(s, "/billing/dev");
    char h[256];
    snprintf(h, sizeof(h), "If-None-Match: %s", etag);
    const char *hdrs[] = {h, NULL};
    csit_resp_t r;
    csit_get(s, "/billing/dev", hdrs, &r);
    assert_int_equal(r.status, 304);
    assert_int_equal(dbuf_len(&r.body), 0);
    csit_resp_free(&r);
    /* the ETag names one representation: the .yml form of the same environment has its own */
    char *yml = etag_of(s, "/billing-dev.yml");
    assert_string_not_equal(yml, etag);
    csit_get(s, "/billing-dev.yml", hdrs, &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    snprintf(h, sizeof(h), "If-None-Match: %s", yml);
    csit_get(s, "/billing-dev.yml", hdrs, &r);
    assert_int_equal(r.status, 304);
    csit_resp_free(&r);
    free(yml);
    const char *other[] = {"If-None-Match: \"0000\"", NULL};
    csit_get(s, "/billing/dev", other, &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    free(etag);
}

static void test_live_reload_and_broken_edits(void **state)
{
    csit_srv_t *s = *state;
    char *etag1 = etag_of(s, "/billing/default");
    const char *edit = "server:\n  port: 8181\nbilling:\n  currency: CHF\n";
    csit_write(s, "billing.yml", edit, strlen(edit));
    long long ms = csit_wait_for(s, "/billing-default.properties", "server.port: 8181\n", 3000);
    assert_true(ms >= 0);
    printf("live reload served after %lld ms\n", ms);
    assert_true(ms <= 1000);
    char *etag2 = etag_of(s, "/billing/default");
    assert_string_not_equal(etag1, etag2);

    static const struct {
        const char *name;
        const char *text;
        const char *why;
    } broken[] = {
        {"billing.yml", "server:\n  port: [unclosed\n", "billing.yml:"},
        {"billing.yml", "a: \xff\xfe\xfd\n", "billing.yml:1:"},
        {"billing.yml", "a:\n\tb: 1\n", "billing.yml:2:"},
        {"billing.yml", "a: 1\na: 2\n", "duplicate key"},
        {"deep.yml", NULL, "nesting deeper"},
        {"huge.yml", NULL, "limit"},
        {"bomb.yml",
         "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
         "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
         "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
         "alias expansion"},
    };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        dbuf_t text;
        dbuf_init(&text, 1u << 20);
        if (strcmp(broken[i].name, "deep.yml") == 0) {
            dbuf_adds(&text, "a: ");
            for (int k = 0; k < 200; k++)
                dbuf_adds(&text, "[");
            for (int k = 0; k < 200; k++)
                dbuf_adds(&text, "]");
            dbuf_adds(&text, "\n");
        } else if (strcmp(broken[i].name, "huge.yml") == 0) {
            for (int k = 0; k < 10000; k++)
                dbuf_addf(&text, "key%d: value %d\n", k, k);
        } else {
            dbuf_adds(&text, broken[i].text);
        }
        csit_write(s, broken[i].name, dbuf_ptr(&text), dbuf_len(&text));
        dbuf_free(&text);
        long long t = csit_wait_for(s, "/actuator/health", broken[i].why, 15000);
        if (t < 0) {
            csit_resp_t r;
            csit_get(s, "/actuator/health", NULL, &r);
            fail_msg("broken %s: health never showed '%s': %s", broken[i].name, broken[i].why,
                     dbuf_ptr(&r.body));
        }
        assert_int_equal(csit_status(s, "/actuator/health", "\"DEGRADED\""), 200);
        /* … and the log says what is wrong, as a JSON line */
        if (!csit_log_has(s, "\"level\":\"", broken[i].why))
            fail_msg("broken %s: the log has no line naming '%s'", broken[i].name, broken[i].why);
        /* the previous snapshot is still served */
        assert_int_equal(csit_status(s, "/billing-default.properties", "server.port: 8181\n"), 200);
        if (strcmp(broken[i].name, "billing.yml") != 0) {
            char path[512];
            snprintf(path, sizeof(path), "%s/%s", s->repo, broken[i].name);
            unlink(path);
        } else {
            csit_write(s, "billing.yml", edit, strlen(edit)); /* back to the served content */
        }
        assert_true(csit_wait_for(s, "/actuator/health", "\"lastError\":null", 15000) >= 0);
    }
    /* fixing the file clears the error */
    const char *fixed = "server:\n  port: 8282\n";
    csit_write(s, "billing.yml", fixed, strlen(fixed));
    assert_true(csit_wait_for(s, "/billing-default.properties", "server.port: 8282\n", 3000) >= 0);
    assert_true(csit_wait_for(s, "/actuator/health", "\"lastError\":null", 15000) >= 0);
    free(etag1);
    free(etag2);
}

static void test_auth(void **state)
{
    (void)state;
    csit_srv_t a;
    const char *env[] = {"CONFIG_SERVER_USER=cfg", "CONFIG_SERVER_PASSWORD=s3cret", NULL};
    csit_start(&a, env, NULL);
    csit_resp_t r;
    csit_get(&a, "/billing/dev", NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strcasestr(dbuf_ptr(&r.hdrs), "www-authenticate: Basic"));
    csit_resp_free(&r);
    const char *wrong[] = {"Authorization: Basic Y2ZnOndyb25n", NULL}; /* cfg:wrong */
    csit_get(&a, "/billing/dev", wrong, &r);
    assert_int_equal(r.status, 401);
    csit_resp_free(&r);
    const char *right[] = {"Authorization: Basic Y2ZnOnMzY3JldA==", NULL}; /* cfg:s3cret */
    csit_get(&a, "/billing/dev", right, &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    assert_int_equal(csit_status(&a, "/actuator/health", "\"UP\""), 200); /* health stays open */
    /* so do the metrics (no configuration in them): the 401s and the 200 counted, the process
     * metrics and config-server's own */
    assert_int_equal(
        csit_status(&a, "/metrics", "http_requests_total{method=\"GET\",route=\"config\",status=\"401\"} 2"),
        200);
    assert_int_equal(csit_status(&a, "/metrics", "config_server_build_info{version=\""), 200);
    assert_int_equal(csit_status(&a, "/metrics", "\nprocess_resident_memory_bytes "), 200);
    assert_int_equal(csit_status(&a, "/metrics", "\nconfig_server_snapshot_age_seconds "), 200);
    assert_int_equal(csit_status(&a, "/metrics", "\nconfig_server_watchers 0\n"), 200);
    /* /metrics/{profile} is an application named "metrics": the environment form, behind auth */
    assert_int_equal(csit_status(&a, "/metrics/default", NULL), 401);
    csit_stop(&a);

    /* credentials from a file outside the repo */
    char cred[] = "/tmp/it-cfgsrv-cred-XXXXXX";
    int fd = mkstemp(cred);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "cfg:s3cret\n", 11), 11);
    close(fd);
    const char *args[] = {"--credentials-file", cred, NULL};
    csit_start(&a, NULL, args);
    csit_get(&a, "/billing/dev", NULL, &r);
    assert_int_equal(r.status, 401);
    csit_resp_free(&r);
    csit_get(&a, "/billing/dev", right, &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    csit_stop(&a);
    unlink(cred);
}

/* Removes application*.yml from the running server's repo and waits until `path` answers
 * `status` with `needle`. */
static void drop_shared_files(csit_srv_t *s, const char *path, long status, const char *needle)
{
    static const char *const shared[] = {"application.yml", "application-dev.yml"};
    for (size_t i = 0; i < 2; i++) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", s->repo, shared[i]);
        assert_int_equal(unlink(p), 0);
    }
    long long t0 = ts_now_ms();
    for (;;) {
        csit_resp_t r;
        csit_get(s, path, NULL, &r);
        int done = r.status == status && strstr(dbuf_ptr(&r.body), needle) != NULL;
        csit_resp_free(&r);
        if (done)
            return;
        if (ts_now_ms() - t0 > 5000)
            fail_msg("GET %s did not become %ld with '%s'", path, status, needle);
        ts_sleep_ms(20);
    }
}

static void test_accept_empty(void **state)
{
    (void)state;
    csit_srv_t a;
    /* nothing applies (no application*.yml): 404 by default, Spring's accept-empty=false */
    csit_start(&a, NULL, NULL);
    drop_shared_files(&a, "/nosuchapp/dev", 404, "\"title\":\"Application Not Found\"");
    assert_int_equal(csit_status(&a, "/nosuchapp-dev.yml", "\"status\":404"), 404);
    assert_int_equal(csit_status(&a, "/billing/dev", "billing-dev.yml"), 200);
    csit_stop(&a);
    /* --accept-empty: 200 with no sources, as Spring's default */
    const char *env[] = {"CONFIG_SERVER_ACCEPT_EMPTY=true", NULL};
    csit_start(&a, env, NULL);
    drop_shared_files(&a, "/nosuchapp/dev", 200, "\"propertySources\":[]");
    csit_stop(&a);
}

static void test_cli(void **state)
{
    (void)state;
    char cmd[600];
    const char *bin = ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR);
    snprintf(cmd, sizeof(cmd), "'%s/config-server' --help | grep -q -- '--repo'", bin);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s/config-server' --version | grep -q 'config-server'", bin);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s/config-server' --port nope 2>/dev/null", bin);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd), "'%s/config-server' --repo /nonexistent --port 1 2>/dev/null", bin);
    assert_int_equal(WEXITSTATUS(system(cmd)), 78); /* EX_CONFIG, as the services */
    /* credentials are never read from inside the served repository */
    snprintf(cmd, sizeof(cmd),
             "timeout 10 '%s/config-server' --repo '%s' --port 1 --credentials-file '%s/application.yml' 2>&1"
             " | grep -q 'inside the served repository'",
             bin, CS_FIXTURE_REPO, CS_FIXTURE_REPO);
    assert_int_equal(system(cmd), 0);
    /* a port that is taken: a clear error and a non-zero exit, not a server without a socket */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(cmd, sizeof(cmd),
             "timeout 10 '%s/config-server' --repo '%s' --host 127.0.0.1 --port %d 2>&1 | grep -q 'in use'",
             bin, CS_FIXTURE_REPO, ntohs(sa.sin_port));
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "timeout 10 '%s/config-server' --repo '%s' --host 127.0.0.1 --port %d 2>/dev/null", bin,
             CS_FIXTURE_REPO, ntohs(sa.sin_port));
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 70); /* EX_SOFTWARE, as the services */
    close(fd);
}

static int setup(void **state)
{
    static csit_srv_t s;
    csit_start(&s, NULL, NULL);
    *state = &s;
    return 0;
}

static int teardown(void **state)
{
    csit_stop(*state);
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_cve_vectors),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_live_reload_and_broken_edits),
    };
    const struct CMUnitTest solo[] = {
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_accept_empty),
        cmocka_unit_test(test_cli),
    };
    int rc = cmocka_run_group_tests_name("config-server", tests, setup, teardown);
    rc |= cmocka_run_group_tests_name("config-server-instances", solo, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
