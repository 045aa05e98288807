/* it_config_server_git.c — integration test of the git backend on real repositories made
 * by the test with the git CLI: labels (branches, a branch with '/', annotated tags, full
 * and short commit ids, HEAD), version = commit id, a push seen through POST /monitor
 * within a second, a force-pushed branch, fetches under read load with no torn answer, a
 * remote that disappears and comes back, ref-injection and traversal labels, credentials
 * over smart HTTP behind Basic auth (git_http_auth.py), and nothing served from outside
 * the commit's tree. The same URLs against Spring's git backend: bench/config-server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
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

/* POST /monitor as GitHub sends a push (the header names the event). */
static long monitor_push(const csit_srv_t *s)
{
    csit_resp_t r;
    csit_post(s, "/monitor", "application/json", "X-GitHub-Event: push",
              "{\"ref\":\"refs/heads/main\",\"commits\":[{\"modified\":[\"app.yml\"]}]}", &r);
    long st = r.status;
    csit_resp_free(&r);
    return st;
}

static void start_git(csit_srv_t *s, const gitfix_t *g, const char *refresh)
{
    const char *args[] = {"--repo-uri", g->uri, "--git-refresh-s", refresh, NULL};
    csit_start(s, NULL, args);
}

/* Branches, a '/' branch through (_), an annotated tag, full and short ids, HEAD; version
 * is the commit id; plain-text files from each label's commit; an unknown label is a 404
 * naming it. */
static void test_labels(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    char main_id[64], rel_id[64], want[512], path[256];
    csit_sh_out(main_id, sizeof(main_id), "git -C '%s' rev-parse main", g.remote);
    csit_sh_out(rel_id, sizeof(rel_id), "git -C '%s' rev-parse 'v1^{commit}'", g.remote);
    csit_srv_t s;
    start_git(&s, &g, "0");

    snprintf(want, sizeof(want), "\"version\":\"%s\"", main_id);
    assert_int_equal(csit_status(&s, "/app/default", want), 200);
    assert_int_equal(csit_status(&s, "/app/default", "\"label\":null"), 200);
    assert_int_equal(csit_status(&s, "/app/default/main", want), 200);
    assert_int_equal(csit_status(&s, "/app/default/HEAD", want), 200);
    snprintf(want, sizeof(want), "\"name\":\"%s/app.yml\"", g.uri); /* Spring's git naming */
    assert_int_equal(csit_status(&s, "/app/default", want), 200);
    assert_int_equal(csit_status(&s, "/app/default", "\"state\":\"\""), 200);

    snprintf(want, sizeof(want), "\"version\":\"%s\"", rel_id);
    assert_int_equal(csit_status(&s, "/app/default/release(_)1.0", want), 200);
    assert_int_equal(csit_status(&s, "/app/default/release(_)1.0", "\"label\":\"release/1.0\""), 200);
    assert_int_equal(csit_status(&s, "/app/default/v1", want), 200);
    assert_int_equal(csit_status(&s, "/app/default/v1", "\"rel\":1"), 200);
    snprintf(path, sizeof(path), "/app/default/%s", rel_id);
    assert_int_equal(csit_status(&s, path, want), 200);
    snprintf(path, sizeof(path), "/app/default/%.7s", rel_id);
    assert_int_equal(csit_status(&s, path, want), 200);
    snprintf(path, sizeof(path), "/release(_)1.0/app-default.yml");
    assert_int_equal(csit_status(&s, path, "rel: 1"), 200);
    assert_int_equal(csit_status(&s, "/v1/app-default.properties", "rel: 1"), 200);
    assert_int_equal(csit_status(&s, "/multi/dev", "(document #1)"), 200);

    /* plain-text files come from the label's commit, sub-folders included; a symlink is 404 */
    assert_int_equal(csit_status(&s, "/app/default/main/sub/app.yml", "hidden: 1"), 200);
    assert_int_equal(csit_status(&s, "/app/default/v1/app.yml", "rel: 1"), 200);
    snprintf(path, sizeof(path), "/app/default/%.7s/app.yml", rel_id);
    assert_int_equal(csit_status(&s, path, "rel: 1"), 200);
    csit_resp_t r;
    csit_get(&s, "/app/default/main/app.yml", NULL, &r); /* main's own version */
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(dbuf_ptr(&r.body), "gen: 1"));
    assert_null(strstr(dbuf_ptr(&r.body), "rel:"));
    csit_resp_free(&r);
    assert_int_equal(csit_status(&s, "/app/default/app.yml?useDefaultLabel", "gen: 1"), 200);
    assert_int_equal(csit_status(&s, "/app/default/main/app-leak.yml", "app-leak.yml"), 404);
    assert_int_equal(csit_status(&s, "/app/default/no-such-branch", "no-such-branch"), 404);
    assert_int_equal(csit_status(&s, "/app/default/deadbeef", "deadbeef"), 404);
    /* the shared files for an application with none of its own, as Spring */
    assert_int_equal(csit_status(&s, "/other/default", "\"shared\":true"), 200);
    assert_int_equal(csit_status(&s, "/actuator/health", "\"backend\":\"git\""), 200);
    csit_stop(&s);
    gitfix_rm(&g);
}

/* Labels that would reach other refs, revisions or options, and names outside the tree:
 * 400 or 404, never another commit's or the disk's content. */
static void test_injection(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    csit_srv_t s;
    start_git(&s, &g, "0");
    const char *bad[] = {"/app/default/HEAD@%7B1%7D",
                         "/app/default/main@%7B0%7D",
                         "/app/default/main~1",
                         "/app/default/main%5E",
                         "/app/default/v1%5E%7Btree%7D",
                         "/app/default/..",
                         "/app/default/..%2F..%2Fetc",
                         "/app/default/refs(_)heads(_)main(_)..(_)..",
                         "/app/default/-x",
                         "/app/default/--upload-pack=touch%20%2Ftmp%2Fpwned",
                         "/app/default/main:app.yml",
                         "/app/default/%2Fetc%2Fpasswd",
                         "/app/default/main.lock",
                         "/..%252f..%252fetc%252fpasswd/x",
                         "/sub%2Fapp/default",
                         "/app/default/ma%00in",
                         NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        csit_resp_t r;
        csit_get(&s, bad[i], NULL, &r);
        if (r.status != 400 && r.status != 404)
            fail_msg("GET %s: %ld (want 400 or 404): %s", bad[i], r.status, dbuf_ptr(&r.body));
        assert_null(strstr(dbuf_ptr(&r.body), "\"gen\""));
        csit_resp_free(&r);
    }
    assert_int_equal(access("/tmp/pwned", F_OK), -1);
    /* the symlink to /etc/passwd is a broken file, never its target; sub/ is not served */
    csit_resp_t r;
    csit_get(&s, "/app/leak", NULL, &r);
    assert_null(strstr(dbuf_ptr(&r.body), "root:"));
    assert_null(strstr(dbuf_ptr(&r.body), "hidden"));
    csit_resp_free(&r);
    assert_int_equal(csit_status(&s, "/actuator/health", "app-leak.yml"), 200);
    csit_stop(&s);
    gitfix_rm(&g);
}

/* A push is served after POST /monitor within a second; a force-pushed branch serves the
 * rewritten commit. */
static void test_push_and_force(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    csit_srv_t s;
    start_git(&s, &g, "0"); /* no periodic fetch: only the webhook can bring the push */
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":1"), 200);
    gitfix_commit(&g, 2, 0);
    long long t0 = ts_now_ms();
    assert_int_equal(monitor_push(&s), 200);
    long long ms = csit_wait_for(&s, "/app/default", "\"gen\":2", 5000);
    assert_true(ms >= 0);
    long long seen = ts_now_ms() - t0;
    print_message("push -> served after POST /monitor: %lld ms\n", seen);
    assert_true(seen < 1000);

    char id[64], want[128];
    gitfix_commit(&g, 3, 1); /* amend + force: commit 2 leaves main's history */
    csit_sh_out(id, sizeof(id), "git -C '%s' rev-parse main", g.remote);
    assert_int_equal(monitor_push(&s), 200);
    snprintf(want, sizeof(want), "\"version\":\"%s\"", id);
    assert_true(csit_wait_for(&s, "/app/default", want, 5000) >= 0);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":3"), 200);
    assert_true(csit_log_has(&s, "config repository fetched", id));
    csit_stop(&s);
    gitfix_rm(&g);
}

/* Readers in a child process while commits are pushed and fetched: every answer is one
 * whole commit (gen == gen2), never a mixture. */
static void test_no_torn_reads(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    csit_srv_t s;
    start_git(&s, &g, "0");
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        close(pfd[0]);
        int reads = 0, torn = 0, bad = 0;
        long long t0 = ts_now_ms();
        while (ts_now_ms() - t0 < 4000) {
            csit_resp_t r;
            csit_get(&s, "/app/default", NULL, &r);
            const char *b = dbuf_ptr(&r.body), *a = strstr(b, "\"gen\":"), *c = strstr(b, "\"gen2\":");
            if (r.status != 200 || a == NULL || c == NULL)
                bad++;
            else if (atoi(a + 6) != atoi(c + 7))
                torn++;
            reads++;
            csit_resp_free(&r);
        }
        dprintf(pfd[1], "%d %d %d\n", reads, torn, bad);
        _exit(0);
    }
    close(pfd[1]);
    for (int gen = 2; gen <= 12; gen++) {
        gitfix_commit(&g, gen, 0);
        monitor_push(&s);
        ts_sleep_ms(150);
    }
    int st = 0;
    assert_int_equal(waitpid(kid, &st, 0), kid);
    char line[64] = "";
    assert_true(read(pfd[0], line, sizeof(line) - 1) > 0);
    close(pfd[0]);
    int reads = 0, torn = 0, bad = 0;
    assert_int_equal(sscanf(line, "%d %d %d", &reads, &torn, &bad), 3);
    print_message("reads during 11 pushes: %d, torn: %d, failed: %d\n", reads, torn, bad);
    assert_true(reads > 50);
    assert_int_equal(torn, 0);
    assert_int_equal(bad, 0);
    assert_true(csit_wait_for(&s, "/app/default", "\"gen\":12", 5000) >= 0);
    csit_stop(&s);
    gitfix_rm(&g);
}

/* The remote disappears: the last good commit is still served, health says degraded with
 * the error; when it comes back the next fetch recovers. */
static void test_remote_down(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    csit_srv_t s;
    start_git(&s, &g, "1");
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":1"), 200);
    csit_sh("mv '%s' '%s.away'", g.remote, g.remote);
    monitor_push(&s);
    long long t0 = ts_now_ms();
    while (!csit_log_has(&s, "config repository fetch failed", "remote.git") && ts_now_ms() - t0 < 8000)
        ts_sleep_ms(100);
    assert_true(csit_log_has(&s, "config repository fetch failed", "remote.git"));
    assert_int_equal(csit_status(&s, "/actuator/health", "\"lastError\":{\"message\""), 200);
    assert_int_equal(csit_status(&s, "/actuator/health", "\"DEGRADED\""), 200);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":1"), 200); /* still served */
    csit_sh("mv '%s.away' '%s'", g.remote, g.remote);
    gitfix_commit(&g, 5, 0);
    /* the backoff (1 s, 2 s, …) or the next kick brings it back */
    long long ms = csit_wait_for(&s, "/app/default", "\"gen\":5", 15000);
    print_message("recovered %lld ms after the remote came back\n", ms);
    assert_true(ms >= 0);
    csit_resp_t r;
    csit_get(&s, "/actuator/health", NULL, &r);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"lastError\":null"));
    csit_resp_free(&r);
    csit_stop(&s);
    gitfix_rm(&g);
}

/* Smart HTTP behind Basic auth: wrong credentials fail the start-up with a clear message
 * (the password never logged); the right ones (password from a file) serve. */
static void test_credentials(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    int port = ts_free_port();
    char cmd[1024], uri[256], log[320], pwfile[320];
    snprintf(cmd, sizeof(cmd), "exec python3 '%s/git_http_auth.py' '%s' %d gituser 'r1ght-pass'", CS_TEST_DIR,
             g.dir, port);
    snprintf(log, sizeof(log), "%s/http.log", g.dir);
    int http_pid = csit_bg_ready(cmd, log);
    snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/remote.git", port);
    /* wrong password: exits non-zero, says why, never prints the password */
    snprintf(log, sizeof(log), "%s/bad.log", g.dir);
    snprintf(cmd, sizeof(cmd),
             "CONFIG_SERVER_GIT_USERNAME=gituser CONFIG_SERVER_GIT_PASSWORD='wr0ng-pass' timeout 30 "
             "'%s/config-server'"
             " --repo-uri '%s' --port %d --host 127.0.0.1 --git-timeout-s 5 2> '%s'",
             ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR), uri, ts_free_port(), log);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 124);
    csit_sh("grep -qi 'auth' '%s'", log);
    snprintf(cmd, sizeof(cmd), "grep -q 'wr0ng-pass' '%s'", log);
    assert_int_not_equal(system(cmd), 0);

    snprintf(pwfile, sizeof(pwfile), "%s/pw", g.dir);
    csit_sh("printf 'r1ght-pass\\n' > '%s' && chmod 600 '%s'", pwfile, pwfile);
    char envpw[400];
    snprintf(envpw, sizeof(envpw), "CONFIG_SERVER_GIT_PASSWORD_FILE=%s", pwfile);
    const char *env[] = {"CONFIG_SERVER_GIT_USERNAME=gituser", envpw, NULL};
    const char *args[] = {"--repo-uri", uri, "--git-refresh-s", "0", NULL};
    csit_srv_t s;
    csit_start(&s, env, args);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":1"), 200);
    assert_int_equal(csit_status(&s, "/actuator/health", "127.0.0.1"), 200);
    assert_false(csit_log_has(&s, "r1ght-pass", ""));
    gitfix_commit(&g, 7, 0);
    assert_int_equal(monitor_push(&s), 200);
    assert_true(csit_wait_for(&s, "/app/default", "\"gen\":7", 5000) >= 0);
    csit_stop(&s);
    kill(http_pid, SIGTERM);
    gitfix_rm(&g);
}

/* POST /monitor with CONFIG_SERVER_MONITOR_SECRET: unsigned or wrongly signed webhooks are
 * 401 and fetch nothing; GitHub's X-Hub-Signature-256 and the X-Monitor-Token form are
 * accepted and answer the application names as Spring's monitor does; a payload that is
 * not JSON is 400, another body type 415. */
static void test_monitor_auth(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    const char *env[] = {"CONFIG_SERVER_MONITOR_SECRET=w3bh00k", NULL};
    const char *args[] = {"--repo-uri", g.uri, "--git-refresh-s", "0", NULL};
    csit_srv_t s;
    csit_start(&s, env, args);
    const char *body = "{\"ref\":\"refs/heads/main\",\"commits\":[{\"modified\":[\"app-dev.yml\"]}]}";
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), "w3bh00k", 7, (const unsigned char *)body, strlen(body), mac, &ml);
    char hdrs[256] = "X-GitHub-Event: push\nX-Hub-Signature-256: sha256=";
    for (unsigned i = 0; i < ml; i++)
        snprintf(hdrs + strlen(hdrs), sizeof(hdrs) - strlen(hdrs), "%02x", mac[i]);
    csit_resp_t r;
    gitfix_commit(&g, 2, 0);
    csit_post(&s, "/monitor", "application/json", "X-GitHub-Event: push", body, &r);
    assert_int_equal(r.status, 401);
    csit_resp_free(&r);
    csit_post(&s, "/monitor", "application/json", "X-GitHub-Event: push\nX-Hub-Signature-256: sha256=00",
              body, &r);
    assert_int_equal(r.status, 401);
    csit_resp_free(&r);
    ts_sleep_ms(300);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":1"), 200); /* nothing fetched */
    csit_post(&s, "/monitor", "application/json", hdrs, body, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"app:dev\"")); /* Spring: app-dev, app:dev */
    csit_resp_free(&r);
    assert_true(csit_wait_for(&s, "/app/default", "\"gen\":2", 5000) >= 0);
    gitfix_commit(&g, 3, 0);
    csit_post(&s, "/monitor", "application/x-www-form-urlencoded", "X-Monitor-Token: w3bh00k", "path=app.yml",
              &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    assert_true(csit_wait_for(&s, "/app/default", "\"gen\":3", 5000) >= 0);
    csit_post(&s, "/monitor", "application/json", "X-Monitor-Token: w3bh00k\nX-GitHub-Event: push", "{nope",
              &r);
    assert_int_equal(r.status, 400);
    csit_resp_free(&r);
    csit_post(&s, "/monitor", "text/plain", "X-Monitor-Token: w3bh00k", "app.yml", &r);
    assert_int_equal(r.status, 415);
    csit_resp_free(&r);
    /* a webhook body that says it is not JSON (application/jsonx, json5, json-seq): 415, not read as JSON */
    static const char *const not_json[] = {"application/jsonx", "application/json5", "application/json-seq",
                                           "text/plain"};
    for (size_t i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++) {
        csit_post(&s, "/monitor", not_json[i], "X-Monitor-Token: w3bh00k\nX-GitHub-Event: push", body, &r);
        if (r.status != 415)
            fail_msg("webhook as %s: %ld", not_json[i], r.status);
        csit_resp_free(&r);
    }
    csit_post(&s, "/monitor", "application/vnd.github+json", "X-Monitor-Token: w3bh00k\nX-GitHub-Event: push",
              body, &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    csit_stop(&s);
    gitfix_rm(&g);
}

/* A restart on the same --git-basedir reuses the mirror (a push made meanwhile is fetched);
 * with the remote gone at start it serves the mirror it has, with a warning; a new URI on
 * the same basedir is taken. */
static void test_restart_basedir(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    char base[320], uri2[340];
    snprintf(base, sizeof(base), "%s/base", g.dir);
    const char *args[] = {"--repo-uri", g.uri, "--git-refresh-s", "0", "--git-basedir", base, NULL};
    csit_srv_t s;
    csit_start(&s, NULL, args);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":1"), 200);
    csit_stop(&s);
    gitfix_commit(&g, 2, 0);
    csit_start(&s, NULL, args);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":2"), 200);
    csit_stop(&s);
    csit_sh("mv '%s' '%s.away'", g.remote, g.remote);
    csit_start(&s, NULL, args);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":2"), 200);
    assert_true(csit_log_has(&s, "serving the mirror already in", base));
    csit_stop(&s);
    snprintf(uri2, sizeof(uri2), "file://%s.away", g.remote);
    const char *args2[] = {"--repo-uri", uri2, "--git-refresh-s", "0", "--git-basedir", base, NULL};
    csit_start(&s, NULL, args2);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":2"), 200);
    assert_false(csit_log_has(&s, "serving the mirror already in", base));
    csit_stop(&s);
    csit_sh("mv '%s.away' '%s'", g.remote, g.remote);
    gitfix_rm(&g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),         cmocka_unit_test(test_injection),
        cmocka_unit_test(test_push_and_force), cmocka_unit_test(test_no_torn_reads),
        cmocka_unit_test(test_remote_down),    cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_monitor_auth),   cmocka_unit_test(test_restart_basedir),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
