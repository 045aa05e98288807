/* test_svc.c — common/svc: argument parsing, the env-only
 * configuration, the health/metrics endpoints and the observe hook (a real httpd on an
 * ephemeral 127.0.0.1 port, libcurl), the stop watchdog (in forked children) and the
 * clock/uuid helpers, and the admin token check (Bearer, or Basic with the token as password). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "dbuf.h"
#include "svc.h"
#include "ts_cfg.h"

static void usage_fn(FILE *out)
{
    fputs("usage: t [--help]\n", out);
}

static void t_args(void **state)
{
    static const char *const cmds[] = {"rebuild", "other", NULL};
    const svc_info_t info = {"t", "1.2.3", usage_fn, cmds};
    int cmd = 7;
    char *none[] = {"t", NULL};
    char *help[] = {"t", "--help", NULL};
    char *ver[] = {"t", "--version", NULL};
    char *c1[] = {"t", "other", NULL};
    char *bad[] = {"t", "--bogus", NULL};
    (void)state;
    assert_int_equal(svc_args(&info, 1, none, &cmd), SVC_CONTINUE);
    assert_int_equal(cmd, -1);
    assert_int_equal(svc_args(&info, 2, help, &cmd), 0);
    assert_int_equal(svc_args(&info, 2, ver, &cmd), 0);
    assert_int_equal(svc_args(&info, 2, c1, &cmd), SVC_CONTINUE);
    assert_int_equal(cmd, 1);
    assert_int_equal(svc_args(&info, 2, bad, &cmd), SVC_EXIT_USAGE);
    const svc_info_t nocmds = {"t", "1", usage_fn, NULL};
    assert_int_equal(svc_args(&nocmds, 2, c1, &cmd), SVC_EXIT_USAGE);
}

static void t_log_level(void **state)
{
    const char *dep = "x";
    cfgcli_t *c;
    (void)state;
    assert_string_equal(svc_log_level_name(NULL, &dep), "info");
    assert_null(dep);
    c = ts_cfg_doc("\"server.port\":1", NULL);
    assert_string_equal(svc_log_level_name(c, &dep), "info");
    assert_null(dep);
    cfgcli_free(c);
    c = ts_cfg_doc("\"logging.level.root\":\"warn\"", NULL);
    assert_string_equal(svc_log_level_name(c, &dep), "warn");
    assert_null(dep);
    cfgcli_free(c);
    /* the old scalar still works, named as deprecated */
    c = ts_cfg_doc("\"logging.level\":\"debug\"", NULL);
    assert_string_equal(svc_log_level_name(c, &dep), "debug");
    assert_non_null(dep);
    assert_non_null(strstr(dep, "x"));
    cfgcli_free(c);
    c = ts_cfg_doc("\"logging.level\":\"debug\",\"logging.level.root\":\"error\"", NULL);
    assert_string_equal(svc_log_level_name(c, &dep), "error");
    assert_null(dep);
    cfgcli_free(c);
    /* an env override of the old key beats root from the repo */
    {
        cfgcli_opts_t o;
        char err[256];
        static char *const env[] = {"LOGGING_LEVEL=warn", NULL};
        static const char json[] = "{\"name\":\"t\",\"propertySources\":[{\"name\":\"x\",\"source\":{"
                                   "\"logging.level.root\":\"debug\"}}]}";
        cfgcli_opts_init(&o, "t");
        o.envp = env;
        c = cfgcli_from_json(&o, json, strlen(json), "u", err, sizeof err);
        assert_non_null(c);
        assert_string_equal(svc_log_level_name(c, &dep), "warn");
        assert_string_equal(dep, "env:LOGGING_LEVEL");
        cfgcli_free(c);
    }
}

static void t_config_env_only(void **state)
{
    clog_t log;
    int rc = -1;
    (void)state;
    clog_init(&log, "t", "error", stderr);
    setenv("CONFIG_SERVER_URL", "none", 1);
    setenv("SERVER_PORT", "4321", 1);
    cfgcli_t *c = svc_config("t", 1, &log, &rc);
    assert_non_null(c);
    assert_string_equal(cfgcli_get_str(c, "server.port", "?"), "4321");
    setenv("LOG_LEVEL", "debug", 1);
    svc_log_level(&log, "t", c);
    unsetenv("LOG_LEVEL");
    svc_log_level(&log, "t", NULL);
    cfgcli_free(c);
    unsetenv("SERVER_PORT");
    unsetenv("CONFIG_SERVER_URL");
}

/* ---- endpoints ---- */

static int up_flag(void *self)
{
    return *(int *)self;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

static long get(int port, const char *path, dbuf_t *body)
{
    char url[128];
    long st = 0;
    CURL *c = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    dbuf_init(body, 1 << 20);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    return st;
}

static long request(int port, const char *method, const char *path, dbuf_t *body)
{
    char url[128];
    long st = 0;
    CURL *c = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    dbuf_init(body, 1 << 20);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    return st;
}

/* server.ssl.* and server.max-connections into httpd options. */
static void t_http_opts(void **state)
{
    char err[256] = "";
    httpd_opts_t o = {0};
    cfgcli_t *c = cfgcli_new();
    (void)state;
    assert_int_equal(svc_http_opts(c, &o, err, sizeof err), 0);
    assert_null(o.tls.cert_file);
    assert_int_equal(o.max_connections, 0);
    cfgcli_set(c, "server.max-connections", "500", "test");
    cfgcli_set(c, "server.ssl.certificate", "/tls/tls.crt", "test");
    assert_int_equal(svc_http_opts(c, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "server.ssl.certificate-private-key"));
    cfgcli_set(c, "server.ssl.certificate-private-key", "/tls/tls.key", "test");
    cfgcli_set(c, "server.ssl.client-auth", "need", "test");
    assert_int_equal(svc_http_opts(c, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "server.ssl.trust-certificate"));
    cfgcli_set(c, "server.ssl.trust-certificate", "/tls/ca.crt", "test");
    assert_int_equal(svc_http_opts(c, &o, err, sizeof err), 0);
    assert_string_equal(o.tls.cert_file, "/tls/tls.crt");
    assert_string_equal(o.tls.key_file, "/tls/tls.key");
    assert_string_equal(o.tls.client_ca_file, "/tls/ca.crt");
    assert_int_equal(o.tls.client_auth, HTTPD_CLIENT_AUTH_NEED);
    assert_int_equal(o.max_connections, 500);
    cfgcli_set(c, "server.ssl.client-auth", "sometimes", "test");
    assert_int_equal(svc_http_opts(c, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "none, want or need"));
    cfgcli_set(c, "server.ssl.enabled", "false", "test");
    assert_int_equal(svc_http_opts(c, &o, err, sizeof err), 0);
    assert_null(o.tls.cert_file);
    cfgcli_free(c);
}

static void t_endpoints(void **state)
{
    char err[256];
    int db = 1, kafka = 1;
    dbuf_t b;
    metrics_t *m = metrics_new();
    int broker = 1;
    const svc_check_t checks[] = {
        {"db", up_flag, &db, 0}, {"kafka", up_flag, &kafka, 0}, {"broker", up_flag, &broker, 1}};
    const svc_http_t h = {.metrics = m, .checks = checks, .n_checks = 3};
    httpd_opts_t o = {0};
    (void)state;
    httpd_metrics_declare(m, "t", "1.2.3");
    o.host = "127.0.0.1";
    o.observe = httpd_metrics_observe;
    o.observe_ctx = m;
    httpd_t *s = httpd_new(&o, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(svc_http_register(s, &h), 0);
    assert_int_equal(httpd_start(s, err, sizeof err), 0);
    int port = httpd_port(s);

    assert_int_equal(get(port, "/health/liveness", &b), 200);
    assert_string_equal(b.ptr, "{\"status\":\"UP\"}");
    dbuf_free(&b);
    assert_int_equal(get(port, "/health/readiness", &b), 200);
    assert_string_equal(b.ptr, "{\"status\":\"UP\",\"components\":{\"db\":{\"status\":\"UP\"},\"kafka\":{"
                               "\"status\":\"UP\"},\"broker\":{\"status\":\"UP\"}}}");
    dbuf_free(&b);
    broker = 0; /* informational: shown DOWN, readiness stays UP */
    assert_int_equal(get(port, "/health/readiness", &b), 200);
    assert_string_equal(b.ptr, "{\"status\":\"UP\",\"components\":{\"db\":{\"status\":\"UP\"},\"kafka\":{"
                               "\"status\":\"UP\"},\"broker\":{\"status\":\"DOWN\"}}}");
    dbuf_free(&b);
    kafka = 0;
    assert_int_equal(get(port, "/health/readiness", &b), 503);
    assert_string_equal(b.ptr, "{\"status\":\"DOWN\",\"components\":{\"db\":{\"status\":\"UP\"},\"kafka\":{"
                               "\"status\":\"DOWN\"},\"broker\":{\"status\":\"DOWN\"}}}");
    dbuf_free(&b);
    assert_int_equal(get(port, "/health", &b), 503);
    dbuf_free(&b);
    assert_int_equal(get(port, "/actuator/health", &b), 503);
    dbuf_free(&b);
    assert_int_equal(get(port, "/health/other", &b), 404);
    assert_non_null(strstr(b.ptr, "\"status\":404"));
    dbuf_free(&b);
    /* any method token the client invents is one label, OTHER: no series at will */
    for (int i = 0; i < 50; i++) {
        char tok[16];
        snprintf(tok, sizeof tok, "X%dY", i);
        assert_int_equal(request(port, tok, "/health/liveness", &b), 405);
        dbuf_free(&b);
    }
    assert_int_equal(request(port, "DELETE", "/health/liveness", &b), 405);
    dbuf_free(&b);
    assert_int_equal(get(port, "/metrics", &b), 200);
    assert_non_null(
        strstr(b.ptr, "http_requests_total{method=\"OTHER\",route=\"unmatched\",status=\"405\"} 50\n"));
    assert_non_null(
        strstr(b.ptr, "http_requests_total{method=\"DELETE\",route=\"unmatched\",status=\"405\"} 1\n"));
    assert_null(strstr(b.ptr, "X1Y"));
    assert_non_null(
        strstr(b.ptr, "http_requests_total{method=\"GET\",route=\"/health/readiness\",status=\"503\"} 1"));
    assert_non_null(strstr(b.ptr, "http_requests_total{method=\"GET\",route=\"/health\",status=\"404\"} 1"));
    assert_non_null(
        strstr(b.ptr, "http_request_duration_seconds_count{method=\"GET\",route=\"/health/liveness\"} 1"));
    /* the process metrics, read at the scrape, and the build info */
    assert_non_null(strstr(b.ptr, "t_build_info{version=\"1.2.3\"} 1\n"));
    assert_non_null(strstr(b.ptr, "# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(b.ptr, "\nprocess_resident_memory_bytes "));
    assert_null(strstr(b.ptr, "\nprocess_resident_memory_bytes 0\n"));
    assert_non_null(strstr(b.ptr, "\nprocess_open_fds "));
    assert_non_null(strstr(b.ptr, "\nprocess_start_time_seconds 1"));
    assert_non_null(strstr(b.ptr, "\nprocess_threads "));
    dbuf_free(&b);
    httpd_free(s);
    metrics_free(m);
}

static void t_metrics_null(void **state)
{
    char err[256];
    dbuf_t b;
    const svc_http_t h = {.metrics = NULL};
    httpd_opts_t o = {0};
    (void)state;
    o.host = "127.0.0.1";
    o.observe = httpd_metrics_observe; /* NULL metrics: ignored */
    httpd_t *s = httpd_new(&o, err, sizeof err);
    assert_int_equal(svc_http_register(s, &h), 0);
    assert_int_equal(httpd_start(s, err, sizeof err), 0);
    assert_int_equal(get(httpd_port(s), "/metrics", &b), 200);
    assert_int_equal(b.len, 0);
    dbuf_free(&b);
    assert_int_equal(get(httpd_port(s), "/health", &b), 200); /* no checks: ready */
    dbuf_free(&b);
    httpd_free(s);
}

/* ---- stop ---- */

static int child_status(pid_t pid)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void t_stop(void **state)
{
    clog_t log;
    (void)state;
    clog_init(&log, "t", "error", stderr);
    /* disarmed in time: nothing happens */
    svc_stop_t *st = svc_stop_guard(&log, 5000);
    assert_non_null(st);
    svc_stop_done(st);
    svc_stop_done(NULL);

    /* overrun: the watchdog ends the process with SVC_EXIT_STOP_TIMEOUT */
    pid_t pid = fork();
    if (pid == 0) {
        svc_stop_guard(&log, 200);
        sleep(5);
        _exit(0);
    }
    int64_t t0 = svc_mono_ms();
    assert_int_equal(child_status(pid), SVC_EXIT_STOP_TIMEOUT);
    assert_true(svc_mono_ms() - t0 < 3000);

    /* the signal: pending before the wait, then a second one during the teardown */
    pid = fork();
    if (pid == 0) {
        httpd_block_signals();
        if (svc_stop_pending())
            _exit(10);
        kill(getpid(), SIGTERM);
        if (!svc_stop_pending())
            _exit(11);
        int sig = 0;
        svc_stop_t *w = svc_wait_stop(&log, 10000, "test", &sig);
        if (sig != SIGTERM || svc_stop_pending())
            _exit(12);
        kill(getpid(), SIGINT);
        sleep(5);
        svc_stop_done(w);
        _exit(0);
    }
    assert_int_equal(child_status(pid), SVC_EXIT_STOP_TIMEOUT);
}

static void t_clock_uuid(void **state)
{
    char a[37], b[37];
    (void)state;
    svc_uuid(a);
    svc_uuid(b);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '4');
    assert_string_not_equal(a, b);
    int64_t m0 = svc_mono_ms();
    assert_true(svc_mono_ms() >= m0);
    assert_true(svc_wall_ms() > 1600000000000LL);
}

static void t_admin_auth(void **st)
{
    (void)st;
    assert_true(svc_admin_authorized("Bearer s3cret", "s3cret"));
    assert_true(svc_admin_authorized("bearer s3cret", "s3cret"));
    assert_false(svc_admin_authorized("Bearer s3cre", "s3cret"));
    assert_false(svc_admin_authorized("Bearer s3crets", "s3cret"));
    assert_false(svc_admin_authorized(NULL, "s3cret"));
    assert_false(svc_admin_authorized("Bearer ", ""));
    assert_false(svc_admin_authorized("Bearer x", NULL));
    /* admin:s3cret */
    assert_true(svc_admin_authorized("Basic YWRtaW46czNjcmV0", "s3cret"));
    /* anyone:s3cret */
    assert_true(svc_admin_authorized("Basic YW55b25lOnMzY3JldA==", "s3cret"));
    /* admin:wrong */
    assert_false(svc_admin_authorized("Basic YWRtaW46d3Jvbmc=", "s3cret"));
    assert_false(svc_admin_authorized("Basic !!!!", "s3cret"));
    assert_false(svc_admin_authorized("Basic czNjcmV0", "s3cret")); /* no colon */
    assert_false(svc_admin_authorized("Digest s3cret", "s3cret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_args),      cmocka_unit_test(t_config_env_only), cmocka_unit_test(t_log_level),
        cmocka_unit_test(t_http_opts), cmocka_unit_test(t_endpoints),       cmocka_unit_test(t_metrics_null),
        cmocka_unit_test(t_stop),      cmocka_unit_test(t_clock_uuid),      cmocka_unit_test(t_admin_auth),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
