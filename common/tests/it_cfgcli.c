/* it_cfgcli.c — the config client against the REAL config-server binary.
 *
 * Each test runs its own config-server ($CQ_BIN_DIR/config-server --repo <copy of
 * config-repo> --port <free port>) and checks: a plain fetch with Spring precedence,
 * retry then success (server started after the client began retrying), the fail-fast
 * message and exit code (in a child process, like a service's main), 4xx is final,
 * failover past a dead URL, env overrides and k8s placeholders, the last-known-good
 * cache, labels, HTTP Basic auth, the YAML form, and the watcher following an edit of the
 * served folder. Needs no PostgreSQL or Kafka.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfgcli.h"
#include "it_cfgcli_srv.h"
#include "ts.h"

static char *const EMPTY_ENV[] = {NULL};

static void opts_for(cfgcli_opts_t *o, const char *app, const char *profiles, const char *urls)
{
    cfgcli_opts_init(o, app);
    snprintf(o->profiles, sizeof o->profiles, "%s", profiles);
    snprintf(o->urls, sizeof o->urls, "%s", urls);
    o->attempts = 3;
    o->initial_backoff_ms = 50;
    o->max_backoff_ms = 200;
    o->connect_timeout_ms = 1000;
    o->request_timeout_ms = 5000;
    o->envp = EMPTY_ENV;
}

static int start_server(void **state)
{
    itsrv_t *s = calloc(1, sizeof *s);
    if (s == NULL || itsrv_prepare(s) != 0 || itsrv_spawn(s) != 0 || itsrv_wait_ready(s, 10000) != 0) {
        fprintf(stderr, "it_cfgcli: config-server did not start (see %s/server.log)\n", s ? s->dir : "?");
        if (s)
            itsrv_destroy(s);
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int stop_server(void **state)
{
    itsrv_t *s = *state;
    if (s) {
        itsrv_destroy(s);
        free(s);
    }
    return 0;
}

static void test_fetch_precedence(void **state)
{
    itsrv_t *s = *state;
    cfgcli_opts_t o;
    char err[1024];
    opts_for(&o, "customer-service", "local", s->url);
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch: %s", err);
    int port = 0;
    assert_int_equal(cfgcli_get_int_range(c, "server.port", 0, 1, 65535, &port, err, sizeof err), 0);
    assert_int_equal(port, 8184);
    assert_non_null(strstr(cfgcli_source_of(c, "server.port"), "customer-service.yml"));
    /* application-local.yml beats application.yml */
    assert_string_equal(cfgcli_get_str(c, "datasource.port", NULL), "5433");
    assert_non_null(strstr(cfgcli_source_of(c, "datasource.port"), "application-local.yml"));
    assert_string_equal(cfgcli_get_str(c, "kafka-config.bootstrap-servers", NULL), "127.0.0.1:9092");
    /* from application.yml */
    assert_string_equal(cfgcli_get_str(c, "kafka-producer-config.acks", NULL), "all");
    long long ll;
    assert_int_equal(cfgcli_get_long(c, "kafka-producer-config.batch-size", 0, &ll, err, sizeof err), 0);
    assert_int_equal(ll, 16384);
    assert_string_equal(cfgcli_get_str(c, "customer-service.customer-topic-name", NULL), "customer");
    assert_string_equal(cfgcli_origin(c), s->url);
    assert_int_equal(cfgcli_from_cache(c), 0);
    cfgcli_free(c);

    /* order-service, test profile: the app's profile file beats everything */
    opts_for(&o, "order-service", "test", s->url);
    c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch: %s", err);
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "28181");
    assert_string_equal(cfgcli_get_str(c, "datasource.port", NULL), "25433");
    assert_string_equal(cfgcli_get_str(c, "order-service.dlq-topic-name", NULL), "customer.DLQ");
    assert_string_equal(cfgcli_get_str(c, "kafka-consumer-config.customer-group-id", NULL),
                        "customer-topic-consumer");
    cfgcli_free(c);
}

static void test_env_override_and_k8s(void **state)
{
    itsrv_t *s = *state;
    cfgcli_opts_t o;
    char err[1024];
    char *env[] = {"KAFKA_CONFIG_BOOTSTRAP_SERVERS=10.0.0.1:9092", "SERVER_PORT=notaport",
                   "DB_HOST=pg.internal", "DB_PASSWORD=s3cret", NULL};
    opts_for(&o, "order-service", "k8s", s->url);
    o.envp = env;
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch: %s", err);
    assert_string_equal(cfgcli_get_str(c, "kafka-config.bootstrap-servers", NULL), "10.0.0.1:9092");
    assert_string_equal(cfgcli_source_of(c, "kafka-config.bootstrap-servers"),
                        "env:KAFKA_CONFIG_BOOTSTRAP_SERVERS");
    int port;
    assert_int_equal(cfgcli_get_int(c, "server.port", 0, &port, err, sizeof err), -1);
    assert_string_equal(err,
                        "config key 'server.port' = 'notaport' (from env:SERVER_PORT) is not an integer");
    /* k8s placeholders, resolved by the client from its env */
    assert_string_equal(cfgcli_get_str(c, "datasource.host", NULL), "pg.internal");
    assert_string_equal(cfgcli_get_str(c, "datasource.password", NULL), "s3cret");
    assert_string_equal(cfgcli_get_str(c, "datasource.dbname", NULL), "cqrs");
    assert_int_equal(cfgcli_get_int(c, "kafka-config.num-of-partitions", 0, &port, err, sizeof err), 0);
    assert_int_equal(port, 3);
    cfgcli_free(c);

    opts_for(&o, "order-service", "k8s", s->url); /* empty env: the defaults */
    c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch: %s", err);
    assert_string_equal(cfgcli_get_str(c, "kafka-config.bootstrap-servers", NULL), "kafka:9092");
    assert_string_equal(cfgcli_get_str(c, "datasource.host", NULL), "postgresql");
    assert_string_equal(cfgcli_get_str(c, "datasource.password", NULL), "");
    cfgcli_free(c);
}

static void test_failover(void **state)
{
    itsrv_t *s = *state;
    cfgcli_opts_t o;
    char err[1024], urls[256];
    snprintf(urls, sizeof urls, "http://127.0.0.1:%d, %s", ts_free_port(), s->url);
    opts_for(&o, "customer-service", "local", urls);
    o.attempts = 1; /* the second URL must answer within the same round */
    long long t0 = ts_now_ms();
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch: %s", err);
    assert_string_equal(cfgcli_origin(c), s->url);
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "8184");
    assert_true(ts_now_ms() - t0 < 2000);
    cfgcli_free(c);
}

/* A refused request (4xx) is final: no retry. An application the repo has no file of is
 * not refused (Spring serves it the shared application*.yml); a name the server's
 * allow-list refuses is. */
static void test_refused_is_final(void **state)
{
    itsrv_t *s = *state;
    cfgcli_opts_t o;
    char err[1024];
    opts_for(&o, "no-such-service", "local", s->url);
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch no-such-service: %s", err);
    assert_non_null(cfgcli_get_str(c, "kafka-config.bootstrap-servers", NULL)); /* application-local.yml */
    cfgcli_free(c);
    opts_for(&o, "no..such", "local", s->url);
    o.attempts = 5;
    o.initial_backoff_ms = 1000;
    long long t0 = ts_now_ms();
    c = cfgcli_fetch(&o, NULL, err, sizeof err);
    assert_null(c);
    assert_true(ts_now_ms() - t0 < 900); /* no retry after a 4xx */
    assert_non_null(strstr(err, "refused"));
    assert_non_null(strstr(err, "HTTP 400"));
    assert_non_null(strstr(err, "/no..such/local"));
}

/* Runs a fetch in a child like a service's main would, returning its exit status and
 * what it printed. */
static int run_child(const cfgcli_opts_t *o, char *out, size_t outlen)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        char err[1024];
        cfgcli_t *c = cfgcli_fetch(o, NULL, err, sizeof err);
        if (c == NULL) {
            dprintf(p[1], "%s", err);
            _exit(CFGCLI_EXIT_UNAVAILABLE);
        }
        cfgcli_free(c);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < outlen && (r = read(p[0], out + n, outlen - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return st;
}

static void test_fail_fast(void **state)
{
    (void)state;
    cfgcli_opts_t o;
    char msg[2048], dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", ts_free_port());
    opts_for(&o, "customer-service", "local", dead);
    o.attempts = 4;
    o.initial_backoff_ms = 100;
    o.max_backoff_ms = 400;
    o.jitter = 0;
    long long t0 = ts_now_ms();
    int st = run_child(&o, msg, sizeof msg);
    long long took = ts_now_ms() - t0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), CFGCLI_EXIT_UNAVAILABLE);
    assert_non_null(strstr(msg, "unavailable after 4 attempts"));
    assert_non_null(strstr(msg, dead));
    assert_non_null(strstr(msg, "/customer-service/local"));
    assert_non_null(strstr(msg, "onnect")); /* curl's "Couldn't connect" / "Connection refused" */
    /* backoff 100 + 200 + 400 between the 4 rounds */
    assert_true(took >= 650);
    assert_true(took < 5000);
    fprintf(stderr, "fail-fast message (%lld ms): %s\n", took, msg);

    /* inline credentials never show in the message */
    snprintf(o.urls, sizeof o.urls, "http://cfguser:topsecret@127.0.0.1:%d", ts_free_port());
    o.attempts = 1;
    st = run_child(&o, msg, sizeof msg);
    assert_int_equal(WEXITSTATUS(st), CFGCLI_EXIT_UNAVAILABLE);
    assert_null(strstr(msg, "topsecret"));
    assert_non_null(strstr(msg, "http://***@127.0.0.1:"));
}

typedef struct {
    cfgcli_opts_t o;
    cfgcli_t *c;
    char err[1024];
    long long took;
} fetch_job_t;

static void *fetch_thread(void *ud)
{
    fetch_job_t *j = ud;
    long long t0 = ts_now_ms();
    j->c = cfgcli_fetch(&j->o, NULL, j->err, sizeof j->err);
    j->took = ts_now_ms() - t0;
    return NULL;
}

static void test_retry_then_success(void **state)
{
    (void)state;
    itsrv_t s;
    assert_int_equal(itsrv_prepare(&s), 0);
    fetch_job_t j = {0};
    opts_for(&j.o, "order-service", "local", s.url);
    j.o.attempts = 30;
    j.o.initial_backoff_ms = 100;
    j.o.max_backoff_ms = 300;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fetch_thread, &j), 0);
    ts_sleep_ms(800); /* the client is retrying against nothing */
    assert_int_equal(itsrv_spawn(&s), 0);
    pthread_join(th, NULL);
    itsrv_destroy(&s);
    if (j.c == NULL)
        fail_msg("fetch: %s", j.err);
    assert_true(j.took >= 800);
    assert_string_equal(cfgcli_get_str(j.c, "server.port", NULL), "8181");
    fprintf(stderr, "retry then success after %lld ms\n", j.took);
    cfgcli_free(j.c);
}

static void test_cache_fallback(void **state)
{
    (void)state;
    itsrv_t s;
    char err[1024], cache[400];
    assert_int_equal(itsrv_prepare(&s), 0);
    assert_int_equal(itsrv_spawn(&s), 0);
    assert_int_equal(itsrv_wait_ready(&s, 10000), 0);
    snprintf(cache, sizeof cache, "%s/lkg.json", s.dir);
    cfgcli_opts_t o;
    opts_for(&o, "customer-service", "local", s.url);
    snprintf(o.cache_file, sizeof o.cache_file, "%s", cache);
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch: %s", err);
    cfgcli_free(c);
    struct stat st;
    assert_int_equal(stat(cache, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    itsrv_stop(&s); /* nobody answers any more */
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *mem = open_memstream(&logbuf, &loglen);
    clog_t log;
    clog_init(&log, "it_cfgcli", "info", mem);
    char *env[] = {"SERVER_PORT=18184", NULL};
    o.envp = env;
    o.attempts = 2;
    c = cfgcli_fetch(&o, &log, err, sizeof err);
    fclose(mem);
    if (c == NULL)
        fail_msg("cache fallback: %s", err);
    assert_int_equal(cfgcli_from_cache(c), 1);
    assert_string_equal(cfgcli_get_str(c, "datasource.port", NULL), "5433");
    assert_non_null(strstr(cfgcli_source_of(c, "datasource.port"), "cache:"));
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "18184"); /* env still applies */
    assert_non_null(strstr(logbuf, "last-known-good"));
    cfgcli_free(c);
    free(logbuf);

    /* a cache for other profiles is not used */
    snprintf(o.profiles, sizeof o.profiles, "test");
    c = cfgcli_fetch(&o, NULL, err, sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "unavailable after 2 attempts"));
    assert_non_null(strstr(err, "another app/profiles/label"));
    itsrv_destroy(&s);
}

static void test_label(void **state)
{
    itsrv_t *s = *state;
    cfgcli_opts_t o;
    char err[1024];
    opts_for(&o, "customer-service", "local", s->url);
    snprintf(o.label, sizeof o.label, "main");
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch label main: %s", err);
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "8184");
    cfgcli_free(c);
    snprintf(o.label, sizeof o.label, "no-such-label");
    o.initial_backoff_ms = 1000;
    long long t0 = ts_now_ms();
    assert_null(cfgcli_fetch(&o, NULL, err, sizeof err));
    assert_true(ts_now_ms() - t0 < 900);
    assert_non_null(strstr(err, "HTTP 404"));
    assert_non_null(strstr(err, "/customer-service/local/no-such-label"));
}

static void test_basic_auth(void **state)
{
    (void)state;
    itsrv_t s;
    char err[1024];
    assert_int_equal(itsrv_prepare(&s), 0);
    snprintf(s.cred_file, sizeof s.cred_file, "%s/creds", s.dir);
    FILE *f = fopen(s.cred_file, "w");
    assert_non_null(f);
    fprintf(f, "cfguser:cfg-pass-1\n");
    fclose(f);
    assert_int_equal(itsrv_spawn(&s), 0);
    assert_int_equal(itsrv_wait_ready(&s, 10000), 0);
    cfgcli_opts_t o;
    opts_for(&o, "order-service", "local", s.url);
    o.initial_backoff_ms = 1000;
    long long t0 = ts_now_ms();
    assert_null(cfgcli_fetch(&o, NULL, err, sizeof err)); /* no credentials: 401 is final */
    assert_true(ts_now_ms() - t0 < 900);
    assert_non_null(strstr(err, "refused"));
    assert_non_null(strstr(err, "HTTP 401"));
    snprintf(o.user, sizeof o.user, "cfguser");
    snprintf(o.password, sizeof o.password, "wrong");
    assert_null(cfgcli_fetch(&o, NULL, err, sizeof err));
    assert_non_null(strstr(err, "HTTP 401"));
    assert_null(strstr(err, "wrong"));
    snprintf(o.password, sizeof o.password, "cfg-pass-1");
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch with credentials: %s", err);
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "8181");
    cfgcli_free(c);
    itsrv_destroy(&s);
}

/* config-server over TLS with client certificates required (CONFIG_SERVER_SSL_*), and the
 * config client with the CA file and its client certificate (CONFIG_SERVER_CA_FILE,
 * CONFIG_SERVER_CLIENT_CERT / _KEY): the fetch works; without the client certificate or
 * without the CA the TLS handshake fails. The test CA is made here with openssl. */
static void test_tls(void **state)
{
    (void)state;
    itsrv_t s;
    char err[1024], cmd[4096], url[128], f[400];
    assert_int_equal(itsrv_prepare(&s), 0);
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
             "-keyout ca.key -out ca.crt -subj /CN=it-ca >/dev/null 2>&1 && "
             "for n in server:localhost:DNS:localhost client:order-service:DNS:order-service; do "
             "IFS=: read -r b cn t v <<EOF\n$n\nEOF\n"
             "printf 'subjectAltName=%%s:%%s\\n' $t $v > $b.ext && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $b.key "
             "-subj /CN=$cn -out $b.csr >/dev/null 2>&1 && "
             "openssl x509 -req -in $b.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile $b.ext "
             "-out $b.crt >/dev/null 2>&1 || exit 1; done",
             s.dir);
    assert_int_equal(system(cmd), 0);
    snprintf(f, sizeof f, "%s/server.crt", s.dir);
    setenv("CONFIG_SERVER_SSL_CERTIFICATE", f, 1);
    snprintf(f, sizeof f, "%s/server.key", s.dir);
    setenv("CONFIG_SERVER_SSL_CERTIFICATE_PRIVATE_KEY", f, 1);
    snprintf(f, sizeof f, "%s/ca.crt", s.dir);
    setenv("CONFIG_SERVER_SSL_TRUST_CERTIFICATE", f, 1);
    setenv("CONFIG_SERVER_SSL_CLIENT_AUTH", "need", 1);
    int rc = itsrv_spawn(&s);
    unsetenv("CONFIG_SERVER_SSL_CERTIFICATE");
    unsetenv("CONFIG_SERVER_SSL_CERTIFICATE_PRIVATE_KEY");
    unsetenv("CONFIG_SERVER_SSL_TRUST_CERTIFICATE");
    unsetenv("CONFIG_SERVER_SSL_CLIENT_AUTH");
    assert_int_equal(rc, 0);
    snprintf(url, sizeof url, "https://localhost:%d", s.port);
    cfgcli_opts_t o;
    opts_for(&o, "order-service", "local", url);
    o.attempts = 50; /* also waits for the server to listen */
    o.initial_backoff_ms = o.max_backoff_ms = 100;
    snprintf(o.ca_file, sizeof o.ca_file, "%s/ca.crt", s.dir);
    snprintf(o.client_cert, sizeof o.client_cert, "%s/client.crt", s.dir);
    snprintf(o.client_key, sizeof o.client_key, "%s/client.key", s.dir);
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch over TLS: %s (server log %s/server.log)", err, s.dir);
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "8181");
    assert_string_equal(cfgcli_origin(c), url);
    cfgcli_free(c);
    o.attempts = 1;
    o.client_cert[0] = o.client_key[0] = '\0';
    assert_null(cfgcli_fetch(&o, NULL, err, sizeof err)); /* no client certificate */
    assert_non_null(strstr(err, "unavailable"));
    snprintf(o.client_cert, sizeof o.client_cert, "%s/client.crt", s.dir);
    snprintf(o.client_key, sizeof o.client_key, "%s/client.key", s.dir);
    o.ca_file[0] = '\0';
    assert_null(cfgcli_fetch(&o, NULL, err, sizeof err)); /* the server is not trusted */
    assert_non_null(strstr(err, "certificate"));
    itsrv_destroy(&s);
}

static void test_yaml_form(void **state)
{
    itsrv_t *s = *state;
    cfgcli_opts_t o;
    char err[1024];
    opts_for(&o, "customer-service", "local", s->url);
    o.format = CFGCLI_FORMAT_YAML;
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch yaml: %s", err);
    assert_string_equal(cfgcli_get_str(c, "server.port", NULL), "8184");
    assert_string_equal(cfgcli_get_str(c, "datasource.port", NULL), "5433");
    assert_string_equal(cfgcli_get_str(c, "kafka-producer-config.acks", NULL), "all");
    cfgcli_free(c);
}

typedef struct watched {
    pthread_mutex_t mu;
    int n;
    char value[64];
} watched_t;

static void on_watch(void *ud, cfgcli_t *cfg, const char *error)
{
    watched_t *w = ud;
    (void)error;
    pthread_mutex_lock(&w->mu);
    if (cfg != NULL) {
        w->n++;
        snprintf(w->value, sizeof w->value, "%s", cfgcli_get_str(cfg, "watch-test.value", ""));
    }
    pthread_mutex_unlock(&w->mu);
    cfgcli_free(cfg);
}

/* The watcher follows an edit of the served folder: long polls when the server offers them,
 * conditional GETs (every 200 ms here) when it does not. */
static void test_watch_folder_edit(void **state)
{
    itsrv_t *s = *state;
    cfgcli_opts_t o;
    char err[1024], path[400], value[64] = "";
    watched_t w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    opts_for(&o, "order-service", "local", s->url);
    o.watch_interval_ms = 200;
    o.watch_wait_s = 10;
    cfgcli_t *c = cfgcli_fetch(&o, NULL, err, sizeof err);
    if (c == NULL)
        fail_msg("fetch: %s", err);
    assert_true(cfgcli_etag(c)[0] != '\0');
    cfgcli_watch_t *wt = cfgcli_watch_start(&o, c, on_watch, &w, NULL, err, sizeof err);
    assert_non_null(wt);
    snprintf(path, sizeof path, "%s/order-service-local.yml", s->repo);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "\nwatch-test:\n  value: edited\n");
    assert_int_equal(fclose(f), 0);
    long long t0 = ts_now_ms();
    while (ts_now_ms() - t0 < 10000) {
        pthread_mutex_lock(&w.mu);
        snprintf(value, sizeof value, "%s", w.value);
        pthread_mutex_unlock(&w.mu);
        if (strcmp(value, "edited") == 0)
            break;
        ts_sleep_ms(20);
    }
    printf("folder edit seen by the watcher after %lld ms (%s)\n", ts_now_ms() - t0,
           cfgcli_watch_max(c) > 0 ? "long poll" : "conditional GETs");
    assert_string_equal(value, "edited");
    cfgcli_watch_stop(wt);
    cfgcli_free(c);
}

int main(void)
{
    const struct CMUnitTest with_server[] = {
        cmocka_unit_test(test_fetch_precedence),  cmocka_unit_test(test_env_override_and_k8s),
        cmocka_unit_test(test_failover),          cmocka_unit_test(test_refused_is_final),
        cmocka_unit_test(test_yaml_form),         cmocka_unit_test(test_label),
        cmocka_unit_test(test_watch_folder_edit),
    };
    const struct CMUnitTest own_server[] = {
        cmocka_unit_test(test_fail_fast),
        cmocka_unit_test(test_retry_then_success),
        cmocka_unit_test(test_cache_fallback),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_tls),
    };
    int failed = cmocka_run_group_tests_name("own_server", own_server, NULL, NULL);
    failed += cmocka_run_group_tests_name("with_server", with_server, start_server, stop_server);
    return failed ? 1 : 0;
}
