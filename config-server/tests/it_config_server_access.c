/* it_config_server_access.c — integration test of per-application access (auth/access.h,
 * http/guard.h) on the real binary with a credentials file:
 *   - every endpoint form (JSON, a label, .yml, .yaml, .properties, .json, a label's flat
 *     form, several applications, the watch API, a plain-text file with and without a
 *     label) × (own application 200, another one 403,
 *     no credentials 401, a wrong password 401);
 *   - the admin endpoints (/encrypt, /decrypt, /encrypt/status, /key, /monitor) for a client
 *     (403), an admin (200), nobody (401), and /monitor signed with the webhook secret;
 *   - health without details for anonymous callers, with them for a client; probes open;
 *   - failed logins logged without the password and refused per address after 10 (429);
 *   - mTLS: a client certificate's CN is a client (`certificate: true`), with its rules;
 *   - the legacy user:password and an open server (no credentials: a warning at start).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cs_it.h"
#include "cs_itgit.h"
#include "ts.h"

#define SECRET "access-webhook-secret"

typedef struct fix {
    csit_srv_t s;
    char dir[256];
    char creds[300];
} fix_t;

static char g_hash[256]; /* of "billing-pw" */

/* The server hashes at most 500 ms of passwords per second and answers 429 beyond, as a
 * client would see under load: these wrappers try again a second later, as clients do
 * (cfgcli retries 429). A 429 for an address that failed too often is returned as it is. */
static int hash_budget_429(const csit_resp_t *r)
{
    return r->status == 429 && strstr(dbuf_ptr(&r->body), "password checks") != NULL;
}

static void get_retry(const csit_srv_t *s, const char *path, const char *const *hdrs, csit_resp_t *r)
{
    for (int i = 0;; i++) {
        csit_get(s, path, hdrs, r);
        if (!hash_budget_429(r) || i == 10)
            return;
        csit_resp_free(r);
        ts_sleep_ms(1100);
    }
}

static void post_retry(const csit_srv_t *s, const char *path, const char *ctype, const char *auth,
                       const char *body, csit_resp_t *r)
{
    for (int i = 0;; i++) {
        csit_post(s, path, ctype, auth, body, r);
        if (!hash_budget_429(r) || i == 10)
            return;
        csit_resp_free(r);
        ts_sleep_ms(1100);
    }
}

/* "Authorization: Basic <user:pw>" into out. */
static void basic(const char *user, const char *pw, char *out, size_t size)
{
    char up[128];
    unsigned char b64[200];
    int n = snprintf(up, sizeof(up), "%s:%s", user, pw);
    assert_true(n > 0 && (size_t)n < sizeof(up));
    EVP_EncodeBlock(b64, (const unsigned char *)up, n);
    snprintf(out, size, "Authorization: Basic %.180s", (const char *)b64);
}

/* The status of GET path as `who` ("user:pw", NULL: no credentials). */
static long get_as(const csit_srv_t *s, const char *path, const char *who, char *body, size_t bsize)
{
    char h[512], user[64];
    const char *hdrs[2] = {NULL, NULL};
    if (who != NULL) {
        const char *colon = strchr(who, ':');
        snprintf(user, sizeof(user), "%.*s", (int)(colon - who), who);
        basic(user, colon + 1, h, sizeof(h));
        hdrs[0] = h;
    }
    csit_resp_t r;
    get_retry(s, path, hdrs, &r);
    long st = r.status;
    if (body != NULL)
        snprintf(body, bsize, "%s", dbuf_ptr(&r.body));
    csit_resp_free(&r);
    return st;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A server with the credentials file: billing (password), legacy-svc (certificate, only
 * legacy, profile default), ops (admin). `extra_env` as csit_start's. */
static void start_with_creds(fix_t *f, const char *const *extra_env)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/it-cfgacc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->creds, sizeof(f->creds), "%s/credentials.yml", f->dir);
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "clients:\n"
             "  - name: billing\n"
             "    password: \"%s\"\n"
             "  - name: legacy-svc\n"
             "    certificate: true\n"
             "    applications: [legacy]\n"
             "    profiles: [default]\n"
             "  - name: ops\n"
             "    password: \"%s\"\n"
             "    admin: true\n",
             g_hash, g_hash);
    write_file(f->creds, yaml);
    const char *args[] = {"--credentials-file", f->creds, NULL};
    csit_start(&f->s, extra_env, args);
}

static void stop_fix(fix_t *f)
{
    csit_stop(&f->s);
    csit_sh("rm -rf '%s'", f->dir);
}

static void check(const csit_srv_t *s, const char *path, const char *who, long want)
{
    char body[4096];
    long st = get_as(s, path, who, body, sizeof(body));
    if (st != want)
        fail_msg("GET %s as %s: %ld, want %ld: %s", path, who != NULL ? who : "(nobody)", st, want, body);
    if (want >= 400 && strstr(body, "\"status\"") == NULL)
        fail_msg("GET %s as %s: no problem body: %s", path, who != NULL ? who : "(nobody)", body);
}

static void test_every_form(void **state)
{
    (void)state;
    fix_t f;
    const char *env[] = {"CONFIG_SERVER_AUTH_MAX_FAILURES=1000", NULL}; /* the matrix fails on purpose */
    start_with_creds(&f, env);
    static const char *const own[] = {
        "/billing/default",
        "/billing/dev/master",
        "/billing-default.yml",
        "/billing-dev.yaml",
        "/billing-default.properties",
        "/billing-dev.json",
        "/v2/billing-default.yml",
        "/master/billing-dev.properties",
        "/billing,application/dev",
        "/application/default",
        "/billing/default/v2",
        "/billing/default/master/logback.xml",
        "/billing/dev/v2/logback.xml",
        "/billing/dev/logback.xml?useDefaultLabel",
    };
    static const char *const other[] = {
        "/legacy/default",
        "/legacy/dev/master",
        "/legacy-default.yml",
        "/legacy-default.yaml",
        "/legacy-default.properties",
        "/legacy-default.json",
        "/v2/legacy-default.yml",
        "/billing,legacy/default",
        "/legacy,billing/default",
        "/nosuchapp/default",
        "/legacy/default/master/logback.xml",
        "/legacy/default/logback.xml?useDefaultLabel",
        "/billing,legacy/default/master/logback.xml",
    };
    /* a plain-text file: the same rules as the environment forms */
    const char *xml = "<port>${server.port}</port>\n";
    csit_write(&f.s, "logback.xml", xml, strlen(xml));
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        check(&f.s, own[i], "billing:billing-pw", 200);
        check(&f.s, own[i], NULL, 401);
        check(&f.s, own[i], "billing:wrong-pw", 401);
        check(&f.s, own[i], "ops:billing-pw", 200);
    }
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        check(&f.s, other[i], "billing:billing-pw", 403);
        check(&f.s, other[i], NULL, 401);
        check(&f.s, other[i], "billing:wrong-pw", 401);
    }
    /* 401 names Basic; the 403 names the client and the application */
    csit_resp_t r;
    get_retry(&f.s, "/billing/default", NULL, &r);
    assert_non_null(strcasestr(dbuf_ptr(&r.hdrs), "www-authenticate: Basic"));
    csit_resp_free(&r);
    char body[4096];
    assert_int_equal(get_as(&f.s, "/legacy/default", "billing:billing-pw", body, sizeof(body)), 403);
    assert_non_null(strstr(body, "billing may not read application legacy"));
    assert_int_equal(
        get_as(&f.s, "/legacy/default/master/logback.xml", "billing:billing-pw", body, sizeof(body)), 403);
    assert_non_null(strstr(body, "billing may not read application legacy"));
    assert_int_equal(
        get_as(&f.s, "/billing/default/master/logback.xml", "billing:billing-pw", body, sizeof(body)), 200);
    assert_string_equal(body, "<port>8080</port>\n");
    /* the failures are logged with the address and the reason, never the password */
    assert_true(csit_log_has(&f.s, "authentication failed", "wrong password"));
    assert_true(csit_log_has(&f.s, "\"user\":\"billing\"", "127.0.0.1"));
    assert_false(csit_log_has(&f.s, "wrong-pw", ""));
    assert_true(csit_log_has(&f.s, "credentials: 3 client(s)", "\"admins\":1"));
    stop_fix(&f);
}

/* The watch API: the rules apply before a request is held. */
static void test_watch(void **state)
{
    (void)state;
    fix_t f;
    start_with_creds(&f, NULL);
    char auth[256], inm[128];
    basic("billing", "billing-pw", auth, sizeof(auth));
    const char *h1[] = {auth, NULL};
    csit_resp_t r;
    get_retry(&f.s, "/billing/default", h1, &r);
    ts_resp_t tr = {.headers = (char *)dbuf_ptr(&r.hdrs)};
    char *etag = ts_resp_header(&tr, "etag");
    assert_non_null(etag);
    csit_resp_free(&r);
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    const char *held[] = {auth, inm, NULL};
    long long t0 = ts_now_ms();
    get_retry(&f.s, "/billing/default?wait=1", held, &r);
    assert_int_equal(r.status, 304);
    assert_true(ts_now_ms() - t0 >= 900);
    csit_resp_free(&r);
    const char *nocreds[] = {inm, NULL};
    t0 = ts_now_ms();
    get_retry(&f.s, "/billing/default?wait=30", nocreds, &r); /* 401 at once, never held */
    assert_int_equal(r.status, 401);
    csit_resp_free(&r);
    get_retry(&f.s, "/legacy/default?wait=30", held, &r); /* 403 at once */
    assert_int_equal(r.status, 403);
    csit_resp_free(&r);
    assert_true(ts_now_ms() - t0 < 3000);
    free(etag);
    stop_fix(&f);
}

static void test_admin_endpoints(void **state)
{
    (void)state;
    fix_t f;
    const char *env[] = {"ENCRYPT_KEY=access-test-key", "CONFIG_SERVER_MONITOR_SECRET=" SECRET, NULL};
    start_with_creds(&f, env);
    char billing[256], ops[256], wrong[256];
    basic("billing", "billing-pw", billing, sizeof(billing));
    basic("ops", "billing-pw", ops, sizeof(ops));
    basic("ops", "nope", wrong, sizeof(wrong));
    static const char *const posts[] = {"/encrypt", "/decrypt", "/monitor"};
    for (size_t i = 0; i < 3; i++) {
        csit_resp_t r;
        const char *body = i == 2 ? "path=billing.yml" : "hello";
        const char *ct = i == 2 ? "application/x-www-form-urlencoded" : "text/plain";
        post_retry(&f.s, posts[i], ct, NULL, body, &r);
        assert_int_equal(r.status, 401);
        csit_resp_free(&r);
        post_retry(&f.s, posts[i], ct, wrong, body, &r);
        assert_int_equal(r.status, 401);
        csit_resp_free(&r);
        post_retry(&f.s, posts[i], ct, billing, body, &r);
        if (r.status != 403)
            fail_msg("POST %s as billing: %ld %s", posts[i], r.status, dbuf_ptr(&r.body));
        csit_resp_free(&r);
        if (i == 1)
            continue; /* "hello" is no cipher text: the admin's /decrypt is a 400, tested below */
        post_retry(&f.s, posts[i], ct, ops, body, &r);
        if (r.status != 200)
            fail_msg("POST %s as ops: %ld %s", posts[i], r.status, dbuf_ptr(&r.body));
        csit_resp_free(&r);
    }
    /* the admin decrypts what it encrypted */
    csit_resp_t r;
    post_retry(&f.s, "/encrypt", "text/plain", ops, "round trip", &r);
    assert_int_equal(r.status, 200);
    char cipher[1024];
    snprintf(cipher, sizeof(cipher), "%s", dbuf_ptr(&r.body));
    csit_resp_free(&r);
    post_retry(&f.s, "/decrypt", "text/plain", ops, cipher, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(dbuf_ptr(&r.body), "round trip");
    csit_resp_free(&r);
    check(&f.s, "/encrypt/status", "billing:billing-pw", 403);
    check(&f.s, "/encrypt/status", "ops:billing-pw", 200);
    check(&f.s, "/encrypt/status", NULL, 401);
    check(&f.s, "/key", "billing:billing-pw", 403);
    /* /monitor signed with the webhook secret needs no client */
    const char *payload = "path=billing.yml";
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)payload, strlen(payload), mac,
         &ml);
    char sig[128];
    int n = snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=");
    for (unsigned i = 0; i < ml; i++)
        n += snprintf(sig + n, sizeof(sig) - (size_t)n, "%02x", mac[i]);
    post_retry(&f.s, "/monitor", "application/x-www-form-urlencoded", sig, payload, &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    stop_fix(&f);
}

static void test_health(void **state)
{
    (void)state;
    fix_t f;
    start_with_creds(&f, NULL);
    char body[4096];
    assert_int_equal(get_as(&f.s, "/actuator/health", NULL, body, sizeof(body)), 200);
    assert_string_equal(body, "{\"status\":\"UP\"}"); /* no details for anonymous callers */
    assert_int_equal(get_as(&f.s, "/health", NULL, body, sizeof(body)), 200);
    assert_null(strstr(body, "version"));
    assert_int_equal(get_as(&f.s, "/actuator/health", "billing:billing-pw", body, sizeof(body)), 200);
    assert_non_null(strstr(body, "\"components\""));
    assert_non_null(strstr(body, "\"version\""));
    assert_int_equal(get_as(&f.s, "/actuator/health", "billing:wrong-pw", body, sizeof(body)), 401);
    assert_int_equal(get_as(&f.s, "/actuator/health/liveness", NULL, body, sizeof(body)), 200);
    assert_int_equal(get_as(&f.s, "/actuator/health/readiness", NULL, body, sizeof(body)), 200);
    stop_fix(&f);
}

/* 10 failures from one address: that address is refused (429, even with the right
 * password) with Retry-After; the refusal and the failures are logged. */
static void test_rate_limit(void **state)
{
    (void)state;
    fix_t f;
    start_with_creds(&f, NULL);
    for (int i = 0; i < 9; i++)
        check(&f.s, "/billing/default", "billing:guess", 401);
    check(&f.s, "/billing/default", "nobody:guess", 401); /* the 10th */
    char auth[256];
    basic("billing", "billing-pw", auth, sizeof(auth));
    const char *hdrs[] = {auth, NULL};
    csit_resp_t r;
    get_retry(&f.s, "/billing/default", hdrs, &r);
    assert_int_equal(r.status, 429);
    assert_non_null(strcasestr(dbuf_ptr(&r.hdrs), "retry-after: "));
    csit_resp_free(&r);
    check(&f.s, "/billing/default", NULL, 401);          /* no credentials: nothing to refuse */
    check(&f.s, "/actuator/health/liveness", NULL, 200); /* probes unaffected */
    assert_true(csit_log_has(&f.s, "the address is refused for 60 s", "unknown user"));
    assert_false(csit_log_has(&f.s, "guess", ""));
    stop_fix(&f);
}

/* mTLS: the certificate CN legacy-svc is a client with certificate: true and its own rules. */
static void test_client_certificates(void **state)
{
    (void)state;
    char dir[256], cmd[4096], env_cert[400], env_key[400], env_ca[400];
    snprintf(dir, sizeof(dir), "/tmp/it-cfgacc-tls-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
             "-keyout ca.key -out ca.crt -subj /CN=it-ca >/dev/null 2>&1 && "
             "for n in server:localhost client:legacy-svc stranger:someone billing:billing; do "
             "b=${n%%%%:*}; cn=${n#*:}; printf 'subjectAltName=DNS:%%s\\n' $cn > $b.ext && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $b.key "
             "-subj /CN=$cn -out $b.csr >/dev/null 2>&1 && "
             "openssl x509 -req -in $b.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile $b.ext "
             "-out $b.crt >/dev/null 2>&1 || exit 1; done",
             dir);
    assert_int_equal(system(cmd), 0);
    snprintf(env_cert, sizeof(env_cert), "CONFIG_SERVER_SSL_CERTIFICATE=%s/server.crt", dir);
    snprintf(env_key, sizeof(env_key), "CONFIG_SERVER_SSL_CERTIFICATE_PRIVATE_KEY=%s/server.key", dir);
    snprintf(env_ca, sizeof(env_ca), "CONFIG_SERVER_SSL_TRUST_CERTIFICATE=%s/ca.crt", dir);
    const char *env[] = {env_cert, env_key, env_ca, "CONFIG_SERVER_SSL_CLIENT_AUTH=want", NULL};
    fix_t f;
    start_with_creds(&f, env);
    assert_true(f.s.tls);
    snprintf(f.s.cert, sizeof(f.s.cert), "%s/client.crt", dir);
    snprintf(f.s.key, sizeof(f.s.key), "%s/client.key", dir);
    check(&f.s, "/legacy/default", NULL, 200);
    check(&f.s, "/legacy-default.properties", NULL, 200);
    check(&f.s, "/legacy/dev", NULL, 403); /* profiles: [default] */
    check(&f.s, "/billing/default", NULL, 403);
    check(&f.s, "/billing/default", "billing:billing-pw", 200); /* Basic decides when sent */
    check(&f.s, "/encrypt/status", NULL, 403);
    /* a certificate of the CA whose CN is no client: anonymous */
    snprintf(f.s.cert, sizeof(f.s.cert), "%s/stranger.crt", dir);
    snprintf(f.s.key, sizeof(f.s.key), "%s/stranger.key", dir);
    check(&f.s, "/legacy/default", NULL, 401);
    /* the CN of a password client without certificate: true is not enough */
    snprintf(f.s.cert, sizeof(f.s.cert), "%s/billing.crt", dir);
    snprintf(f.s.key, sizeof(f.s.key), "%s/billing.key", dir);
    check(&f.s, "/billing/default", NULL, 401);
    /* no certificate */
    f.s.cert[0] = f.s.key[0] = '\0';
    check(&f.s, "/legacy/default", NULL, 401);
    check(&f.s, "/billing/default", "billing:billing-pw", 200);
    stop_fix(&f);
    csit_sh("rm -rf '%s'", dir);
}

/* The old formats still work (one admin); no credentials: open, with a warning. */
static void test_legacy_and_open(void **state)
{
    (void)state;
    csit_srv_t s;
    const char *env[] = {"CONFIG_SERVER_USER=cfg", "CONFIG_SERVER_PASSWORD=s3cret", NULL};
    csit_start(&s, env, NULL);
    check(&s, "/billing/default", "cfg:s3cret", 200);
    check(&s, "/legacy,billing/default", "cfg:s3cret", 200);
    check(&s, "/billing/default", NULL, 401);
    char body[4096];
    assert_int_equal(get_as(&s, "/actuator/health", NULL, body, sizeof(body)), 200);
    assert_string_equal(body, "{\"status\":\"UP\"}");
    assert_true(csit_log_has(&s, "the old format", "plain text"));
    csit_stop(&s);

    csit_start(&s, NULL, NULL);
    check(&s, "/billing/default", NULL, 200);
    check(&s, "/legacy-default.yml", NULL, 200);
    assert_int_equal(get_as(&s, "/actuator/health", NULL, body, sizeof(body)), 200);
    assert_non_null(strstr(body, "\"version\""));
    assert_true(csit_log_has(&s, "no credentials configured", "--credentials-file"));
    csit_resp_t r;
    post_retry(&s, "/encrypt", "text/plain", NULL, "x", &r);
    assert_int_equal(r.status, 403); /* never an open decryption oracle */
    csit_resp_free(&r);
    csit_stop(&s);
}

/* A credentials file with an error: exit 78 naming it. */
static void test_bad_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/it-cfgacc-bad-XXXXXX", path[300], cmd[1200];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/creds.yml", dir);
    write_file(path, "clients:\n  - name: a\n    password: plaintext\n");
    snprintf(cmd, sizeof(cmd),
             "'%s/config-server' --repo '%s' --port 1 --credentials-file '%s' > '%s/out' 2>&1",
             ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR), CS_FIXTURE_REPO, path, dir);
    assert_int_equal(WEXITSTATUS(system(cmd)), 78);
    csit_sh("grep -q 'creds.yml: line 3: not a password hash' '%s/out'", dir);
    csit_sh("rm -rf '%s'", dir);
}

static int setup(void **state)
{
    (void)state;
    csit_hash_password("billing-pw", g_hash, sizeof(g_hash));
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_form),      cmocka_unit_test(test_watch),
        cmocka_unit_test(test_admin_endpoints), cmocka_unit_test(test_health),
        cmocka_unit_test(test_rate_limit),      cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_legacy_and_open), cmocka_unit_test(test_bad_file),
    };
    int rc = cmocka_run_group_tests_name("config_server_access", tests, setup, NULL);
    curl_global_cleanup();
    return rc;
}
