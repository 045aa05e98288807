/* it_config_server.c — integration test: starts the real `config-server` binary
 * ($CQ_BIN_DIR, default the build's bin/) on a copy of the fixture repo, on a free
 * 127.0.0.1 port of its own, and checks over HTTP: every URL form, 404s, 400s for every
 * CVE path-traversal vector (no file bytes), ETag/304, live reload within 1 s, a broken
 * edit keeping the old snapshot with the error on health, malformed/huge/deep/non-UTF-8
 * files, Basic auth (env and file), accept-empty, --help, and SIGTERM → exit 0.
 * Needs neither PostgreSQL nor Kafka.
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

#include "dbuf.h"
#include "ts.h"

extern char **environ;

typedef struct srv {
    pid_t pid;
    int port;
    char dir[256]; /* temp dir holding repo/ */
    char repo[300];
    char log[300]; /* the server's stderr (its JSON-lines log) */
} srv_t;

typedef struct resp {
    long status;
    dbuf_t body;
    dbuf_t hdrs;
} resp_t;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    return dbuf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* GET with the path sent exactly as given (no dot-segment squashing). */
static void get(const srv_t *s, const char *path, const char *const *hdrs, resp_t *r)
{
    char url[2048];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    dbuf_init(&r->body, 8u << 20);
    dbuf_init(&r->hdrs, 1u << 16);
    r->status = 0;
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
        hl = curl_slist_append(hl, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

static void resp_free(resp_t *r)
{
    dbuf_free(&r->body);
    dbuf_free(&r->hdrs);
}

static long get_status(const srv_t *s, const char *path, const char *needle)
{
    resp_t r;
    get(s, path, NULL, &r);
    long st = r.status;
    if (needle != NULL && strstr(dbuf_ptr(&r.body), needle) == NULL)
        fail_msg("GET %s (%ld): body lacks '%s':\n%s", path, st, needle, dbuf_ptr(&r.body));
    resp_free(&r);
    return st;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void write_file(const srv_t *s, const char *name, const char *text, size_t len)
{
    char tmp[512], path[512];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", s->repo, name);
    snprintf(path, sizeof(path), "%s/%s", s->repo, name);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0); /* atomic, as editors and ConfigMaps do */
}

/* Starts the server; `extra_env` entries like "CONFIG_SERVER_USER=u" (NULL-terminated). */
static void start(srv_t *s, const char *const *extra_env, const char *const *extra_args)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/it-cfgsrv-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->repo, sizeof(s->repo), "%s/repo", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", CS_FIXTURE_REPO, s->repo);
    assert_int_equal(system(cmd), 0);
    s->port = free_port();
    char bin[512], port[16];
    snprintf(bin, sizeof(bin), "%s/config-server", ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR));
    snprintf(port, sizeof(port), "%d", s->port);
    const char *argv[32] = {bin,         "--repo",      s->repo, "--port",           port,   "--host",
                            "127.0.0.1", "--rescan-ms", "60000", "--max-file-bytes", "65536"};
    size_t ac = 11;
    for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL && ac < 30; i++)
        argv[ac++] = extra_args[i];
    argv[ac] = NULL;
    char *envp[256];
    size_t ne = 0;
    for (char **e = environ; *e != NULL && ne < 200; e++)
        if (strncmp(*e, "CONFIG_SERVER_", 14) != 0)
            envp[ne++] = *e;
    for (size_t i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
        envp[ne++] = (char *)extra_env[i];
    envp[ne] = NULL;
    /* The periodic rescan is set to a minute so that reloads within a second prove inotify;
     * the log goes to a file the tests read. */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(posix_spawn(&s->pid, bin, &fa, NULL, (char *const *)argv, envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    long long t0 = ts_now_ms();
    while (ts_now_ms() - t0 < 10000) {
        resp_t r;
        get(s, "/health", NULL, &r);
        long st = r.status;
        resp_free(&r);
        if (st == 200)
            return;
        ts_sleep_ms(20);
    }
    fail_msg("config-server did not answer /health within 10 s");
}

/* SIGTERM, expect exit 0 within 6 s; removes the temp dir. */
static void stop(srv_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int st = 0;
        long long t0 = ts_now_ms();
        pid_t w = 0;
        while ((w = waitpid(s->pid, &st, WNOHANG)) == 0 && ts_now_ms() - t0 < 6000)
            ts_sleep_ms(20);
        if (w == 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            fail_msg("config-server did not exit within 6 s of SIGTERM");
        }
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        s->pid = 0;
    }
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_url_forms(void **state)
{
    srv_t *s = *state;
    assert_int_equal(
        get_status(s, "/billing/dev", "\"propertySources\":[{\"name\":\"Config resource 'file ["), 200);
    assert_int_equal(get_status(s, "/billing/dev", "\"server.port\":9090"), 200);
    assert_int_equal(get_status(s, "/billing/dev/master", "\"label\":\"master\""), 200);
    assert_int_equal(get_status(s, "/billing/dev/main", "\"label\":\"main\""), 200);
    assert_int_equal(get_status(s, "/billing/dev,prod", "\"profiles\":[\"dev,prod\"]"), 200);
    assert_int_equal(get_status(s, "/billing-dev.yml", "  port: 9090\n"), 200);
    assert_int_equal(get_status(s, "/billing-dev.yaml", "quoted-number: '42'"), 200);
    assert_int_equal(get_status(s, "/billing-dev.properties", "billing.url: http://dev.example:9090/api\n"),
                     200);
    assert_int_equal(get_status(s, "/billing-dev.properties?resolvePlaceholders=false", "${server.port}"),
                     200);
    assert_int_equal(get_status(s, "/billing-dev.json", "\"hosts\":[\"gamma\"]"), 200);
    assert_int_equal(get_status(s, "/billing-dev,prod.properties", "server.port: 443\n"), 200);
    assert_int_equal(get_status(s, "/v2/billing-default.yml", "currency: USD"), 200);
    assert_int_equal(get_status(s, "/master/billing-default.yml", "currency: EUR"), 200);
    assert_int_equal(get_status(s, "/billing/default/v2", "v2/billing.yml"), 200);
    assert_int_equal(get_status(s, "/legacy/default", "\"legacy.port\":\"7000\""), 200);
    assert_int_equal(get_status(s, "/actuator/health", "\"status\":\"UP\""), 200);
    assert_int_equal(get_status(s, "/health", "\"configServer\""), 200);
    const char *v2[] = {"Accept: application/vnd.spring-cloud.config-server.v2+json", NULL};
    resp_t r;
    get(s, "/billing/dev", v2, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"origin\":"));
    resp_free(&r);
}

static void test_not_found(void **state)
{
    srv_t *s = *state;
    /* an application without files of its own still gets application*.yml, as from Spring */
    assert_int_equal(get_status(s, "/nosuchapp/dev", "repo/application-dev.yml\""), 200);
    assert_int_equal(get_status(s, "/nosuchapp-dev.yml", "bootstrap-servers: localhost:19092"), 200);
    assert_int_equal(get_status(s, "/billing/dev/nolabel", "\"title\":\"Label Not Found\""), 404);
    assert_int_equal(get_status(s, "/nolabel/billing-dev.yml", "\"status\":404"), 404);
    assert_int_equal(get_status(s, "/billing", "\"status\":404"), 404);
    assert_int_equal(get_status(s, "/billing/dev//", "\"status\":404"), 404); /* Spring: 404 */
    assert_int_equal(get_status(s, "/billing/dev/", "\"status\":404"), 404);
    assert_int_equal(get_status(s, "//dev", "\"status\":404"), 404);
    const char *html[] = {"Accept: text/html", NULL};
    resp_t r;
    get(s, "/billing/dev", html, &r);
    assert_int_equal(r.status, 406); /* Spring's content negotiation */
    resp_free(&r);
}

static void test_cve_vectors(void **state)
{
    srv_t *s = *state;
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
        resp_t r;
        get(s, vectors[i], NULL, &r);
        if (r.status != 400 && r.status != 404)
            fail_msg("%s → %ld, want 400/404", vectors[i], r.status);
        if (strstr(dbuf_ptr(&r.body), "root:") != NULL || strstr(dbuf_ptr(&r.body), "/bin/") != NULL)
            fail_msg("%s leaked file bytes: %s", vectors[i], dbuf_ptr(&r.body));
        if (strstr(dbuf_ptr(&r.hdrs), "application/problem+json") == NULL)
            fail_msg("%s: not problem+json", vectors[i]);
        resp_free(&r);
    }
}

static char *etag_of(const srv_t *s, const char *path)
{
    resp_t r;
    get(s, path, NULL, &r);
    assert_int_equal(r.status, 200);
    ts_resp_t tr = {.headers = (char *)dbuf_ptr(&r.hdrs)};
    char *etag = ts_resp_header(&tr, "etag");
    resp_free(&r);
    assert_non_null(etag);
    return etag;
}

static void test_etag(void **state)
{
    srv_t *s = *state;
    char *etag = etag_of(s, "/billing/dev");
    char h[256];
    snprintf(h, sizeof(h), "If-None-Match: %s", etag);
    const char *hdrs[] = {h, NULL};
    resp_t r;
    get(s, "/billing/dev", hdrs, &r);
    assert_int_equal(r.status, 304);
    assert_int_equal(dbuf_len(&r.body), 0);
    resp_free(&r);
    get(s, "/billing-dev.yml", hdrs, &r);
    assert_int_equal(r.status, 304);
    resp_free(&r);
    const char *other[] = {"If-None-Match: \"0000\"", NULL};
    get(s, "/billing/dev", other, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    free(etag);
}

/* 1 when the server's log file has a line containing both `a` and `b`. */
static int log_has(const srv_t *s, const char *a, const char *b)
{
    FILE *f = fopen(s->log, "r");
    char line[8192];
    int hit = 0;
    while (f != NULL && !hit && fgets(line, sizeof line, f) != NULL)
        hit = strstr(line, a) != NULL && strstr(line, b) != NULL;
    if (f != NULL)
        fclose(f);
    return hit;
}

/* Polls `path` until its body contains `needle`; returns the elapsed ms or -1. */
static long long wait_for(const srv_t *s, const char *path, const char *needle, long long limit_ms)
{
    long long t0 = ts_now_ms();
    while (ts_now_ms() - t0 <= limit_ms) {
        resp_t r;
        get(s, path, NULL, &r);
        int hit = strstr(dbuf_ptr(&r.body), needle) != NULL;
        resp_free(&r);
        if (hit)
            return ts_now_ms() - t0;
        ts_sleep_ms(20);
    }
    return -1;
}

static void test_live_reload_and_broken_edits(void **state)
{
    srv_t *s = *state;
    char *etag1 = etag_of(s, "/billing/default");
    const char *edit = "server:\n  port: 8181\nbilling:\n  currency: CHF\n";
    write_file(s, "billing.yml", edit, strlen(edit));
    long long ms = wait_for(s, "/billing-default.properties", "server.port: 8181\n", 3000);
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
        write_file(s, broken[i].name, dbuf_ptr(&text), dbuf_len(&text));
        dbuf_free(&text);
        long long t = wait_for(s, "/actuator/health", broken[i].why, 3000);
        if (t < 0) {
            resp_t r;
            get(s, "/actuator/health", NULL, &r);
            fail_msg("broken %s: health never showed '%s': %s", broken[i].name, broken[i].why,
                     dbuf_ptr(&r.body));
        }
        assert_int_equal(get_status(s, "/actuator/health", "\"DEGRADED\""), 200);
        /* … and the log says what is wrong, as a JSON line */
        if (!log_has(s, "\"level\":\"", broken[i].why))
            fail_msg("broken %s: the log has no line naming '%s'", broken[i].name, broken[i].why);
        /* the previous snapshot is still served */
        assert_int_equal(get_status(s, "/billing-default.properties", "server.port: 8181\n"), 200);
        if (strcmp(broken[i].name, "billing.yml") != 0) {
            char path[512];
            snprintf(path, sizeof(path), "%s/%s", s->repo, broken[i].name);
            unlink(path);
        } else {
            write_file(s, "billing.yml", edit, strlen(edit)); /* back to the served content */
        }
        assert_true(wait_for(s, "/actuator/health", "\"lastError\":null", 3000) >= 0);
    }
    /* fixing the file clears the error */
    const char *fixed = "server:\n  port: 8282\n";
    write_file(s, "billing.yml", fixed, strlen(fixed));
    assert_true(wait_for(s, "/billing-default.properties", "server.port: 8282\n", 3000) >= 0);
    assert_true(wait_for(s, "/actuator/health", "\"lastError\":null", 3000) >= 0);
    free(etag1);
    free(etag2);
}

static void test_auth(void **state)
{
    (void)state;
    srv_t a;
    const char *env[] = {"CONFIG_SERVER_USER=cfg", "CONFIG_SERVER_PASSWORD=s3cret", NULL};
    start(&a, env, NULL);
    resp_t r;
    get(&a, "/billing/dev", NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strcasestr(dbuf_ptr(&r.hdrs), "www-authenticate: Basic"));
    resp_free(&r);
    const char *wrong[] = {"Authorization: Basic Y2ZnOndyb25n", NULL}; /* cfg:wrong */
    get(&a, "/billing/dev", wrong, &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    const char *right[] = {"Authorization: Basic Y2ZnOnMzY3JldA==", NULL}; /* cfg:s3cret */
    get(&a, "/billing/dev", right, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_int_equal(get_status(&a, "/actuator/health", "\"UP\""), 200); /* health stays open */
    stop(&a);

    /* credentials from a file outside the repo */
    char cred[] = "/tmp/it-cfgsrv-cred-XXXXXX";
    int fd = mkstemp(cred);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "cfg:s3cret\n", 11), 11);
    close(fd);
    const char *args[] = {"--credentials-file", cred, NULL};
    start(&a, NULL, args);
    get(&a, "/billing/dev", NULL, &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    get(&a, "/billing/dev", right, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    stop(&a);
    unlink(cred);
}

/* Removes application*.yml from the running server's repo and waits until `path` answers
 * `status` with `needle`. */
static void drop_shared_files(srv_t *s, const char *path, long status, const char *needle)
{
    static const char *const shared[] = {"application.yml", "application-dev.yml"};
    for (size_t i = 0; i < 2; i++) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", s->repo, shared[i]);
        assert_int_equal(unlink(p), 0);
    }
    long long t0 = ts_now_ms();
    for (;;) {
        resp_t r;
        get(s, path, NULL, &r);
        int done = r.status == status && strstr(dbuf_ptr(&r.body), needle) != NULL;
        resp_free(&r);
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
    srv_t a;
    /* nothing applies (no application*.yml): 404 by default, Spring's accept-empty=false */
    start(&a, NULL, NULL);
    drop_shared_files(&a, "/nosuchapp/dev", 404, "\"title\":\"Application Not Found\"");
    assert_int_equal(get_status(&a, "/nosuchapp-dev.yml", "\"status\":404"), 404);
    assert_int_equal(get_status(&a, "/billing/dev", "billing-dev.yml"), 200);
    stop(&a);
    /* --accept-empty: 200 with no sources, as Spring's default */
    const char *env[] = {"CONFIG_SERVER_ACCEPT_EMPTY=true", NULL};
    start(&a, env, NULL);
    drop_shared_files(&a, "/nosuchapp/dev", 200, "\"propertySources\":[]");
    stop(&a);
}

static void post(const srv_t *s, const char *path, const char *ctype, const char *auth, const char *body,
                 resp_t *r)
{
    char url[1024], ct[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
    dbuf_init(&r->body, 1u << 20);
    dbuf_init(&r->hdrs, 1u << 16);
    r->status = 0;
    CURL *c = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, ct);
    if (auth != NULL)
        hl = curl_slist_append(hl, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

/* {cipher} values, POST /encrypt and /decrypt: with the key Spring encrypted these with
 * (fixtures/cipher/spring-vectors.tsv), auth required, Spring's error bodies; the
 * side-by-side run against Spring itself is bench/config-server/compat.sh. */
static void test_encrypt(void **state)
{
    (void)state;
    srv_t a;
    const char *ok = "Authorization: Basic Y2ZnOnMzY3JldA=="; /* cfg:s3cret */
    const char *env[] = {"CONFIG_SERVER_USER=cfg", "CONFIG_SERVER_PASSWORD=s3cret", "ENCRYPT_KEY=s3cr3t-k3y",
                         NULL};
    start(&a, env, NULL);
    const char *crypt =
        "plain: x\n"
        "db:\n"
        "  password: '{cipher}ced8f183bcdfbde9deb1c5d0167db4fdb04820db067714a91dd92ef11d65c7f4'\n"
        "  bad: '{cipher}deadbeef00'\n"
        "last: y\n";
    write_file(&a, "crypt.yml", crypt, strlen(crypt));
    const char *auth[] = {ok, NULL};
    long long t0 = ts_now_ms();
    resp_t r;
    for (;;) {
        get(&a, "/crypt/default", auth, &r);
        if (strstr(dbuf_ptr(&r.body), "crypt.yml") != NULL || ts_now_ms() - t0 > 5000)
            break;
        resp_free(&r);
        ts_sleep_ms(20);
    }
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"plain\":\"x\",\"last\":\"y\",\"db.password\":\"db-secret\","
                                              "\"invalid.db.bad\":\"<n/a>\""));
    resp_free(&r);
    /* the flat forms see the decrypted value; the failure is logged, the server lives on */
    get(&a, "/crypt-default.properties", auth, &r);
    assert_non_null(strstr(dbuf_ptr(&r.body), "db.password: db-secret"));
    resp_free(&r);
    assert_true(log_has(&a, "\"level\":\"warn\"", "invalid.db.bad"));
    /* round trip through our own endpoints; a prefix is kept in front */
    post(&a, "/encrypt", "text/plain", ok, "{key:k1}s3cr3t value", &r);
    assert_int_equal(r.status, 200);
    assert_true(strncmp(dbuf_ptr(&r.body), "{key:k1}", 8) == 0);
    char enc[512];
    snprintf(enc, sizeof(enc), "%s", dbuf_ptr(&r.body));
    resp_free(&r);
    post(&a, "/decrypt", "text/plain", ok, enc, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(dbuf_ptr(&r.body), "s3cr3t value");
    resp_free(&r);
    /* curl -d (a form body) works as against Spring */
    post(&a, "/decrypt/app/dev", "application/x-www-form-urlencoded", ok,
         "ced8f183bcdfbde9deb1c5d0167db4fdb04820db067714a91dd92ef11d65c7f4", &r);
    assert_string_equal(dbuf_ptr(&r.body), "db-secret");
    resp_free(&r);
    post(&a, "/decrypt", "text/plain", ok, "0011", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"status\":\"INVALID\""));
    resp_free(&r);
    post(&a, "/encrypt", "text/plain", NULL, "x", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    get(&a, "/encrypt/status", auth, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(dbuf_ptr(&r.body), "{\"status\":\"OK\"}");
    resp_free(&r);
    stop(&a);
    /* no key: NO_KEY (404); no credentials configured: /encrypt is refused (403) */
    const char *nokey[] = {"CONFIG_SERVER_USER=cfg", "CONFIG_SERVER_PASSWORD=s3cret", NULL};
    start(&a, nokey, NULL);
    get(&a, "/encrypt/status", auth, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"NO_KEY\""));
    resp_free(&r);
    post(&a, "/encrypt", "text/plain", ok, "x", &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    stop(&a);
    const char *open_env[] = {"ENCRYPT_KEY=s3cr3t-k3y", NULL};
    start(&a, open_env, NULL);
    post(&a, "/decrypt", "text/plain", NULL,
         "ced8f183bcdfbde9deb1c5d0167db4fdb04820db067714a91dd92ef11d65c7f4", &r);
    assert_int_equal(r.status, 403);
    resp_free(&r);
    stop(&a);
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
    static srv_t s;
    start(&s, NULL, NULL);
    *state = &s;
    return 0;
}

static int teardown(void **state)
{
    stop(*state);
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
        cmocka_unit_test(test_encrypt),
        cmocka_unit_test(test_cli),
    };
    int rc = cmocka_run_group_tests_name("config-server", tests, setup, teardown);
    rc |= cmocka_run_group_tests_name("config-server-instances", solo, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
