/* it_config_server_layout.c — integration test of what a Spring Cloud Config user's server
 * configuration brings (issue 23): the server-side overrides (--override, --overrides-file)
 * in every endpoint form, and search paths (--search-paths: a folder per application or
 * team, placeholders, wildcards, label folders, plain text, traversal refused; and on the git
 * backend, per commit), on the real binary ($CQ_BIN_DIR) on a copy of the fixture repo or a
 * local git remote.
 * Needs neither PostgreSQL nor Kafka. The helpers are cs_it.h's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cs_it.h"
#include "cs_itgit.h"
#include "dbuf.h"
#include "ts.h"

/* A temporary file holding `text`; its path in `path` (a mkstemp template). */
static void temp_file(char *path, const char *text)
{
    FILE *f = fdopen(mkstemp(path), "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_overrides(void **state)
{
    (void)state;
    char file[] = "/tmp/it-cfgsrv-ovr-XXXXXX";
    temp_file(file, "spring:\n  cloud:\n    config:\n      server:\n        overrides:\n"
                    "          billing.currency: GBP\n          from-file: yes\n");
    const char *args[] = {"--overrides-file",
                          file,
                          "--override",
                          "server.port=9999",
                          "--override",
                          "greeting=\\${shared.greeting}",
                          "--override",
                          "billing.currency=CHF", /* a flag wins over the file */
                          NULL};
    csit_srv_t s;
    csit_start(&s, NULL, args);
    /* the JSON Environment: "overrides" first, values as strings */
    assert_int_equal(
        csit_status(&s, "/billing/dev", "\"propertySources\":[{\"name\":\"overrides\",\"source\":{"), 200);
    assert_int_equal(csit_status(&s, "/billing/dev", "\"server.port\":\"9999\""), 200);
    assert_int_equal(csit_status(&s, "/billing/dev", "\"greeting\":\"${shared.greeting}\""), 200);
    assert_int_equal(csit_status(&s, "/billing/dev", "\"from-file\":\"true\""), 200);
    const char *v2[] = {"Accept: application/vnd.spring-cloud.config-server.v2+json", NULL};
    csit_resp_t r;
    csit_get(&s, "/billing/dev", v2, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(dbuf_ptr(&r.body),
                           "\"server.port\":{\"value\":\"9999\",\"origin\":\"Config server overrides\"}"));
    csit_resp_free(&r);
    /* the flat forms: the overrides win, and resolve */
    assert_int_equal(csit_status(&s, "/billing-dev.properties", "server.port: 9999\n"), 200);
    assert_int_equal(csit_status(&s, "/billing-dev.properties", "billing.currency: CHF\n"), 200);
    assert_int_equal(csit_status(&s, "/billing-dev.properties", "greeting: hello from application"), 200);
    assert_int_equal(csit_status(&s, "/billing-dev.properties", "billing.url: http://dev.example:9999/api\n"),
                     200);
    assert_int_equal(csit_status(&s, "/billing-dev.yml", "  port: '9999'\n"), 200);
    assert_int_equal(csit_status(&s, "/master/billing-dev.json", "\"port\":\"9999\""), 200);
    /* an application with no files of its own gets them too; so does one where nothing applies */
    assert_int_equal(csit_status(&s, "/nosuchapp/default", "\"name\":\"overrides\""), 200);
    /* plain text: placeholders see the overrides */
    const char *conf = "listen ${server.port};\n";
    csit_write(&s, "nginx.conf", conf, strlen(conf));
    assert_true(csit_wait_for(&s, "/billing/default/master/nginx.conf", "listen 9999;", 3000) >= 0);
    assert_true(csit_log_has(&s, "overrides served to every client", "4"));
    csit_stop(&s);
    unlink(file);

    /* errors: an override that is not key=value (2), a file inside the repository (78) */
    char cmd[800];
    const char *bin = ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR);
    snprintf(cmd, sizeof(cmd), "'%s/config-server' --override nokey --port 1 2>/dev/null", bin);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd),
             "timeout 10 '%s/config-server' --repo '%s' --port 1 --overrides-file '%s/application.yml' 2>&1"
             " | grep -q 'inside the served repository'",
             bin, CS_FIXTURE_REPO, CS_FIXTURE_REPO);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s/config-server' --help | grep -q -- '--override KEY=VALUE'", bin);
    assert_int_equal(system(cmd), 0);
}

/* Writes `rel` ("dir/sub/name") below the server's repository, creating its folders; the
 * file appears atomically (a rename in its folder). */
static void write_deep(const csit_srv_t *s, const char *rel, const char *text)
{
    char path[600], tmp[620];
    snprintf(path, sizeof(path), "%s/%s", s->repo, rel);
    for (char *c = path + strlen(s->repo) + 1; (c = strchr(c, '/')) != NULL; c++) {
        *c = '\0';
        mkdir(path, 0755);
        *c = '/';
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp~", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_search_paths(void **state)
{
    (void)state;
    const char *args[] = {"--search-paths", "{application}, teams/*", "--rescan-ms", "200", NULL};
    csit_srv_t s;
    csit_start(&s, NULL, args);
    write_deep(&s, "teams/a/application.yml", "team: a\nshared:\n  timeout: 10\n");
    write_deep(&s, "teams/b/application.yml", "team: b\n");
    write_deep(&s, "billing/billing-dev.yml", "billing:\n  currency: JPY\n");
    write_deep(&s, "billing/nginx.conf", "cur ${billing.currency};\n");
    write_deep(&s, "v2/billing/billing.yml", "ignored: true\n"); /* not a search path */
    assert_true(csit_wait_for(&s, "/billing-dev.properties", "team: b\n", 5000) >= 0);
    /* the folder's files win over the root's; teams/b over teams/a (a later match); the root last */
    assert_int_equal(csit_status(&s, "/billing-dev.properties", "billing.currency: JPY\n"), 200);
    assert_int_equal(csit_status(&s, "/billing-dev.properties", "shared.timeout: 10\n"), 200);
    assert_int_equal(csit_status(&s, "/billing/dev", "\"propertySources\":[{\"name\":\"file:"), 200);
    csit_resp_t r;
    csit_get(&s, "/billing/dev", NULL, &r);
    assert_int_equal(r.status, 200);
    const char *b = dbuf_ptr(&r.body);
    const char *dev = strstr(b, "/billing/billing-dev.yml\""), *tb = strstr(b, "/teams/b/application.yml\""),
               *ta = strstr(b, "/teams/a/application.yml\""), *root = strstr(b, "/repo/application.yml");
    assert_non_null(dev);
    assert_non_null(tb);
    assert_non_null(ta);
    assert_non_null(root);
    assert_true(dev < tb && tb < ta && ta < root);
    assert_null(strstr(b, "v2/billing/billing.yml"));
    csit_resp_free(&r);
    /* another application: the teams' folders, not billing's */
    assert_int_equal(csit_status(&s, "/orders/default", "teams/b/application.yml"), 200);
    csit_get(&s, "/orders/default", NULL, &r);
    assert_null(strstr(dbuf_ptr(&r.body), "billing-dev.yml"));
    csit_resp_free(&r);
    /* a label folder still overlays; an unknown label is 404 */
    assert_int_equal(csit_status(&s, "/billing/default/v2", "v2/billing.yml"), 200);
    assert_int_equal(csit_status(&s, "/billing/default/nolabel", "Label Not Found"), 404);
    /* plain text from the application's folder, its placeholders from the same locations */
    assert_int_equal(csit_status(&s, "/billing/dev/master/nginx.conf", "cur JPY;"), 200);
    /* no way out through a placeholder */
    assert_int_equal(csit_status(&s, "/..%2fx/default", NULL), 400);
    assert_int_equal(csit_status(&s, "/%2e%2e/default", NULL), 400);
    assert_int_equal(csit_status(&s, "/..%252fteams/default", NULL), 400);
    csit_stop(&s);

    char cmd[800];
    const char *bin = ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR);
    snprintf(cmd, sizeof(cmd),
             "'%s/config-server' --search-paths '../x' --port 1 2>&1 | grep -q 'not allowed'", bin);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s/config-server' --search-paths '{app}' --port 1 2>/dev/null", bin);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
}

static void test_search_paths_git(void **state)
{
    (void)state;
    gitfix_t g;
    gitfix_make(&g);
    /* main gets a folder per application and team folders; release/1.0 has neither */
    csit_sh(
        "cd '%s' && mkdir -p app teams/x teams/y && printf 'gen: app-dir\\n' > app/app-dev.yml"
        " && printf 'team: x\\n' > teams/x/application.yml && printf 'team: y\\n' > teams/y/application.yml"
        " && printf 'note ${team}\\n' > teams/x/note.txt && " GIT " add -A && " GIT
        " commit -qm folders && " GIT " push -q origin main 2>/dev/null",
        g.work);
    const char *args[] = {
        "--repo-uri", g.uri, "--git-refresh-s", "0", "--search-paths", "{application},teams/*", NULL};
    csit_srv_t s;
    csit_start(&s, NULL, args);
    csit_resp_t r;
    csit_get(&s, "/app/dev", NULL, &r);
    assert_int_equal(r.status, 200);
    const char *b = dbuf_ptr(&r.body);
    char name[400];
    snprintf(name, sizeof(name), "\"name\":\"%s/app/app-dev.yml\"", g.uri);
    const char *dev = strstr(b, name), *ty = strstr(b, "/teams/y/application.yml\""),
               *tx = strstr(b, "/teams/x/application.yml\""), *app = strstr(b, "/app.yml\"");
    assert_non_null(dev);
    assert_non_null(ty);
    assert_non_null(tx);
    assert_non_null(app);
    assert_true(dev < ty && ty < tx && tx < app);
    assert_null(strstr(b, "sub/app.yml")); /* not a search path */
    csit_resp_free(&r);
    assert_int_equal(csit_status(&s, "/app-dev.properties", "gen: app-dir\n"), 200);
    assert_int_equal(csit_status(&s, "/app-dev.properties", "\nteam: y"), 200);
    /* another commit: its own folders (none) */
    csit_get(&s, "/app/dev/release(_)1.0", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(dbuf_ptr(&r.body), "teams/"));
    csit_resp_free(&r);
    /* plain text from a search path's folder at that commit */
    assert_int_equal(csit_status(&s, "/app/default/main/note.txt", "note y"), 200);
    assert_int_equal(csit_status(&s, "/app/default/release(_)1.0/note.txt", NULL), 404);
    csit_stop(&s);
    gitfix_rm(&g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_search_paths),
        cmocka_unit_test(test_search_paths_git),
    };
    int rc = cmocka_run_group_tests_name("config-server layout", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
