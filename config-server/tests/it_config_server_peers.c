/* it_config_server_peers.c — integration test of POST /monitor forwarding between
 * config-server replicas (http/peers.h) on the real binary: two git replicas that name
 * each other; a signed webhook to one makes the other fetch and answer its held watch
 * request; the copy is never forwarded back (loop-safe); a forged copy without the
 * signature is refused; without a secret an admin's Authorization goes along; a DNS name
 * that resolves to this replica only forwards to nobody.
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
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cs_it.h"
#include "cs_itgit.h"
#include "ts.h"

#define SECRET "peer-test-secret"

/* "X-Hub-Signature-256: sha256=<hmac of body>" into out. */
static void sign(const char *body, char *out, size_t size)
{
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)body, strlen(body), mac, &ml);
    int n = snprintf(out, size, "X-Hub-Signature-256: sha256=");
    for (unsigned i = 0; i < ml; i++)
        n += snprintf(out + n, size - (size_t)n, "%02x", mac[i]);
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

typedef struct held {
    csit_srv_t *s;
    char path[256];
    char etag[64];
    csit_resp_t r;
    long long ms;
} held_t;

static void *hold_thread(void *arg)
{
    held_t *h = arg;
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s", h->etag);
    const char *hdrs[] = {hdr, NULL};
    long long t0 = ts_now_ms();
    csit_get(h->s, h->path, hdrs, &h->r); /* curl's 10 s timeout: the wait is 8 s */
    h->ms = ts_now_ms() - t0;
    return NULL;
}

static void test_forward_between_replicas(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    csit_srv_t a, b;
    int pa = ts_free_port(), pb;
    do
        pb = ts_free_port();
    while (pb == pa);
    char peer_a[32], peer_b[32], port_a[16];
    snprintf(peer_a, sizeof(peer_a), "127.0.0.1:%d", pa);
    snprintf(peer_b, sizeof(peer_b), "127.0.0.1:%d", pb);
    snprintf(port_a, sizeof(port_a), "%d", pa);
    const char *env[] = {"CONFIG_SERVER_MONITOR_SECRET=" SECRET, NULL};
    /* b names a's port before a runs; a then starts on that port (--port given to csit_start) */
    const char *args_b[] = {"--repo-uri", g.uri, "--git-refresh-s", "0", "--peers", peer_a, NULL};
    csit_start(&b, env, args_b);
    snprintf(peer_b, sizeof(peer_b), "127.0.0.1:%d", b.port);
    const char *args_a[] = {"--repo-uri", g.uri, "--git-refresh-s", "0", "--peers", peer_b, "--port",
                            port_a,       NULL};
    csit_start(&a, env, args_a);
    assert_int_equal(a.port, pa);

    held_t h = {.s = &b};
    snprintf(h.path, sizeof(h.path), "/app/default?wait=8");
    char *e = etag_of(&b, "/app/default");
    snprintf(h.etag, sizeof(h.etag), "%s", e);
    free(e);
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, hold_thread, &h), 0);
    ts_sleep_ms(300);
    gitfix_commit(&g, 2, 0);
    const char *body = "{\"ref\":\"refs/heads/main\",\"commits\":[{\"modified\":[\"app.yml\"]}]}";
    char sig[128], hdrs[256];
    sign(body, sig, sizeof(sig));
    snprintf(hdrs, sizeof(hdrs), "X-GitHub-Event: push\n%s", sig);
    csit_resp_t r;
    long long t0 = ts_now_ms();
    csit_post(&a, "/monitor", "application/json", hdrs, body, &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    pthread_join(tid, NULL);
    printf("peers: the other replica's watcher answered %lld ms after the webhook\n", ts_now_ms() - t0);
    assert_int_equal(h.r.status, 200);
    assert_non_null(strstr(dbuf_ptr(&h.r.body), "\"gen\":2"));
    csit_resp_free(&h.r);
    assert_true(csit_log_has(&a, "forwarded to 1 of 1 peer", "\"status\":200"));
    assert_true(csit_log_has(&b, "refresh requested by a peer", "forwarded_by"));
    ts_sleep_ms(300);
    assert_false(csit_log_has(&b, "monitor: forwarded", "peer")); /* never sent back */

    /* a copy marked as forwarded but not signed: refused like any unsigned webhook */
    csit_post(&b, "/monitor", "application/json", "X-GitHub-Event: push\nX-Config-Monitor-Forwarded: x", body,
              &r);
    assert_int_equal(r.status, 401);
    csit_resp_free(&r);
    csit_stop(&a);
    csit_stop(&b);
    gitfix_rm(&g);
}

/* Without a webhook secret an admin client's POST /monitor is forwarded with its
 * Authorization, so the other replica, which has the same credentials file, accepts it. */
static void test_forward_admin_credentials(void **state)
{
    (void)state;
    char dir[] = "/tmp/it-cfgpeer-XXXXXX", creds[300], hash[256], yaml[600];
    assert_non_null(mkdtemp(dir));
    csit_hash_password("ops-pw", hash, sizeof(hash));
    snprintf(creds, sizeof(creds), "%s/credentials.yml", dir);
    snprintf(yaml, sizeof(yaml), "clients:\n  - name: ops\n    password: \"%s\"\n    admin: true\n", hash);
    FILE *f = fopen(creds, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    csit_srv_t a, b;
    const char *args_b[] = {"--credentials-file", creds, NULL};
    csit_start(&b, NULL, args_b);
    char peer_b[32];
    snprintf(peer_b, sizeof(peer_b), "127.0.0.1:%d", b.port);
    const char *args_a[] = {"--credentials-file", creds, "--peers", peer_b, NULL};
    csit_start(&a, NULL, args_a);
    csit_resp_t r;
    csit_post(&a, "/monitor", "application/x-www-form-urlencoded",
              "Authorization: Basic b3BzOm9wcy1wdw==", "path=billing.yml", &r); /* ops:ops-pw */
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    long long t0 = ts_now_ms();
    while (!csit_log_has(&b, "refresh requested by a peer", "billing") && ts_now_ms() - t0 < 5000)
        ts_sleep_ms(20);
    assert_true(csit_log_has(&b, "refresh requested by a peer", "billing"));
    assert_true(csit_log_has(&a, "forwarded to 1 of 1 peer", "\"status\":200"));
    csit_stop(&a);
    csit_stop(&b);
    csit_sh("rm -rf '%s'", dir);
}

/* --peers-dns naming this replica only (localhost on our own port): nobody to forward to. */
static void test_dns_leaves_self_out(void **state)
{
    (void)state;
    csit_srv_t s;
    const char *args[] = {"--peers-dns", "localhost", NULL};
    csit_start(&s, NULL, args);
    csit_resp_t r;
    csit_post(&s, "/monitor", "application/x-www-form-urlencoded", NULL, "path=billing.yml", &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    long long t0 = ts_now_ms();
    while (!csit_log_has(&s, "forwarded to 0 of 0 peer", "peers") && ts_now_ms() - t0 < 3000)
        ts_sleep_ms(20);
    assert_true(csit_log_has(&s, "forwarded to 0 of 0 peer", "peers"));
    csit_stop(&s);
    /* a malformed list is a configuration error */
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "'%s/config-server' --repo '%s' --port 1 --peers ftp://x:1 2>/dev/null",
             ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR), CS_FIXTURE_REPO);
    assert_int_equal(WEXITSTATUS(system(cmd)), 78);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_between_replicas),
        cmocka_unit_test(test_forward_admin_credentials),
        cmocka_unit_test(test_dns_leaves_self_out),
    };
    int rc = cmocka_run_group_tests_name("config_server_peers", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
