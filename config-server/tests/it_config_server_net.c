/* it_config_server_net.c — integration test of the way to an https git remote: a remote
 * whose certificate comes from a CA of its own (CONFIG_SERVER_GIT_CA_FILE: the right CA
 * serves; no CA, another CA or a certificate for another host name each stop the start-up
 * with a message saying so) and a remote reached only through a forward proxy
 * (CONFIG_SERVER_GIT_PROXY: CONNECT tunnels, Basic proxy authentication, the password never
 * logged, a wrong one refused). The remote is git_http_auth.py over TLS, the proxy
 * git_proxy.py; the CA and certificates are made with the openssl CLI.
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

#include "cs_it.h"
#include "cs_itgit.h"
#include "ts.h"

typedef struct net {
    gitfix_t g;
    int git_port;
    int git_pid;
    char uri[256]; /* https://localhost:<port>/remote.git */
} net_t;

/* Makes ca (the remote's), other-ca (a stranger) and server.crt for DNS:localhost only. */
static void make_certs(const char *dir)
{
    csit_sh("cd '%s' && for ca in ca other-ca; do "
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
            "-keyout $ca.key -out $ca.crt -subj /CN=it-$ca >/dev/null 2>&1 || exit 1; done && "
            "printf 'subjectAltName=DNS:localhost\\n' > server.ext && "
            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key "
            "-subj /CN=localhost -out server.csr >/dev/null 2>&1 && "
            "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
            "-extfile server.ext -out server.crt >/dev/null 2>&1",
            dir);
}

static int setup(void **state)
{
    static net_t n;
    char cmd[1024], log[320];
    memset(&n, 0, sizeof(n));
    gitfix_make(&n.g);
    make_certs(n.g.dir);
    n.git_port = ts_free_port();
    snprintf(cmd, sizeof(cmd),
             "exec python3 '%s/git_http_auth.py' '%s' %d gituser 'g1t-pass' '%s/server.crt' '%s/server.key'",
             CS_TEST_DIR, n.g.dir, n.git_port, n.g.dir, n.g.dir);
    snprintf(log, sizeof(log), "%s/https.log", n.g.dir);
    n.git_pid = csit_bg_ready(cmd, log);
    snprintf(n.uri, sizeof(n.uri), "https://localhost:%d/remote.git", n.git_port);
    *state = &n;
    return 0;
}

static int teardown(void **state)
{
    net_t *n = *state;
    if (n->git_pid > 0)
        kill(n->git_pid, SIGTERM);
    gitfix_rm(&n->g);
    return 0;
}

/* Starts config-server on `uri` with the env assignments `env` (a shell prefix) and expects
 * it to give up: a non-zero exit (not the timeout's) whose log has a line with `needle`. */
static void start_fails(const net_t *n, const char *env, const char *uri, const char *needle,
                        const char *name)
{
    char log[320], cmd[2048];
    snprintf(log, sizeof(log), "%s/%s.log", n->g.dir, name);
    snprintf(cmd, sizeof(cmd),
             "CONFIG_SERVER_GIT_USERNAME=gituser CONFIG_SERVER_GIT_PASSWORD=g1t-pass %s timeout 30 "
             "'%s/config-server' --repo-uri '%s' --port %d --host 127.0.0.1 --git-timeout-s 5 2> '%s'",
             env, ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR), uri, ts_free_port(), log);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 124);
    char line[512];
    csit_sh_out(line, sizeof(line), "grep -i -o -m1 -- '\"msg\":\"[^\"]*%s[^\"]*' '%s' || true", needle, log);
    print_message("%s: %s\n", name, line);
    csit_sh("grep -qi -- '%s' '%s'", needle, log);
}

/* The remote's own CA: without it the system's store refuses the certificate; another CA
 * and another host name are refused by name; the right CA serves and follows a push. */
static void test_ca_file(void **state)
{
    net_t *n = *state;
    char env[400], uri_ip[256];
    start_fails(n, "", n->uri, "certificate", "no-ca");
    snprintf(env, sizeof(env), "CONFIG_SERVER_GIT_CA_FILE='%s/other-ca.crt'", n->g.dir);
    start_fails(n, env, n->uri, "not trusted by", "other-ca");
    snprintf(env, sizeof(env), "CONFIG_SERVER_GIT_CA_FILE='%s/ca.crt'", n->g.dir);
    snprintf(uri_ip, sizeof(uri_ip), "https://127.0.0.1:%d/remote.git", n->git_port);
    start_fails(n, env, uri_ip, "mismatch", "wrong-host");

    char ca[400];
    snprintf(ca, sizeof(ca), "CONFIG_SERVER_GIT_CA_FILE=%s/ca.crt", n->g.dir);
    const char *envs[] = {"CONFIG_SERVER_GIT_USERNAME=gituser", "CONFIG_SERVER_GIT_PASSWORD=g1t-pass", ca,
                          NULL};
    const char *args[] = {"--repo-uri", n->uri, "--git-refresh-s", "1", NULL};
    csit_srv_t s;
    csit_start(&s, envs, args);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":1"), 200);
    assert_true(csit_log_has(&s, "trusting the CA bundle", "ca.crt"));
    gitfix_commit(&n->g, 4, 0);
    assert_true(csit_wait_for(&s, "/app/default", "\"gen\":4", 10000) >= 0);
    csit_stop(&s);
}

/* A remote reached only through a proxy with Basic authentication: every fetch goes
 * through a CONNECT tunnel; the proxy's password is never logged; a wrong one is refused
 * with the proxy's answer. */
static void test_proxy(void **state)
{
    net_t *n = *state;
    char cmd[512], plog[320], proxy[256], bad[640], ca[400];
    int pport = ts_free_port();
    snprintf(cmd, sizeof(cmd), "exec python3 '%s/git_proxy.py' %d proxyuser 'pr0xy-pass'", CS_TEST_DIR,
             pport);
    snprintf(plog, sizeof(plog), "%s/proxy.log", n->g.dir);
    int ppid = csit_bg_ready(cmd, plog);
    snprintf(ca, sizeof(ca), "CONFIG_SERVER_GIT_CA_FILE=%s/ca.crt", n->g.dir);

    snprintf(
        bad, sizeof(bad),
        "CONFIG_SERVER_GIT_CA_FILE='%s/ca.crt' CONFIG_SERVER_GIT_PROXY='http://proxyuser:wr0ng@127.0.0.1:%d'",
        n->g.dir, pport);
    start_fails(n, bad, n->uri, "proxy", "proxy-bad");

    snprintf(proxy, sizeof(proxy), "CONFIG_SERVER_GIT_PROXY=http://proxyuser:pr0xy-pass@127.0.0.1:%d", pport);
    const char *envs[] = {"CONFIG_SERVER_GIT_USERNAME=gituser", "CONFIG_SERVER_GIT_PASSWORD=g1t-pass", ca,
                          proxy, NULL};
    const char *args[] = {"--repo-uri", n->uri, "--git-refresh-s", "1", NULL};
    csit_srv_t s;
    csit_start(&s, envs, args);
    assert_int_equal(csit_status(&s, "/app/default", NULL), 200);
    char tunnels[32];
    csit_sh_out(tunnels, sizeof(tunnels), "grep -c '^CONNECT localhost:%d$' '%s' || true", n->git_port, plog);
    assert_true(atoi(tunnels) >= 1);
    assert_true(csit_log_has(&s, "through the proxy", "127.0.0.1"));
    assert_false(csit_log_has(&s, "pr0xy-pass", ""));
    csit_stop(&s);
    kill(ppid, SIGTERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_file),
        cmocka_unit_test(test_proxy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
