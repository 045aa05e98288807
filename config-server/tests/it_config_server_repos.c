/* it_config_server_repos.c — integration test of several git repositories
 * (--git-repos-file, Spring's spring.cloud.config.server.git.repos) on real repositories
 * made with the git CLI: a default repository (file://), a team repository over smart HTTP
 * behind Basic auth with its own credentials and search paths, and a URI with
 * {application} (file://, one bare repository per application). Checked: which
 * repository serves which {application}/{profile} (patterns, Spring's order and its
 * profile-list rule), the repository's own source names and search paths, a mirror per
 * application bounded by --git-mirrors (the evicted one removed from disk, cloned again
 * when asked for), an unknown application's 404, POST /monitor fetching only the
 * repository a webhook names (all of them for one it does not know), health, and the
 * start-up refusals (a bad file, a repository's wrong password).
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

#include "cs_it.h"
#include "cs_itgit.h"
#include "ts.h"

typedef struct fx {
    gitfix_t def, team;
    char apps[300]; /* folder of alpha-app.git, beta-app.git */
    char team_uri[256];
    char file[400]; /* the repos file */
    char pwfile[400];
    char base[400]; /* --git-basedir */
    int http_pid;   /* git_http_auth.py serving the team repository */
} fx_t;

static void fx_make(fx_t *f, const char *team_pass)
{
    gitfix_make(&f->def);
    gitfix_make(&f->team);
    csit_sh("cd '%s' && " GIT " tag only-def && " GIT " push -q origin only-def 2>/dev/null", f->def.work);
    /* the team repository: a folder per application (its search path) */
    csit_sh("cd '%s' && mkdir team-x && printf 'folder: 1\\n' > team-x/team-x.yml && " GIT " add -A && " GIT
            " commit -qm team && " GIT " push -q origin main 2>/dev/null",
            f->team.work);
    int port = ts_free_port();
    char cmd[600], log[320];
    snprintf(cmd, sizeof(cmd), "exec python3 '%s/git_http_auth.py' '%s' %d teamuser t3am-pass", CS_TEST_DIR,
             f->team.dir, port);
    snprintf(log, sizeof(log), "%s/http.log", f->team.dir);
    f->http_pid = csit_bg_ready(cmd, log);
    snprintf(f->team_uri, sizeof(f->team_uri), "http://127.0.0.1:%d/remote.git", port);
    snprintf(f->apps, sizeof(f->apps), "%s/apps", f->def.dir);
    csit_sh("mkdir '%s' && for a in alpha beta; do d='%s/'$a-src; " GIT " init -q $d && (cd $d && printf "
            "\"who: $a\\n\" > application.yml && " GIT " add -A && " GIT " commit -qm $a) && " GIT
            " clone -q --bare $d '%s/'$a-app.git; done",
            f->apps, f->def.dir, f->apps);
    snprintf(f->pwfile, sizeof(f->pwfile), "%s/team.pw", f->def.dir);
    csit_sh("printf '%s\\n' > '%s' && chmod 600 '%s'", team_pass, f->pwfile, f->pwfile);
    snprintf(f->file, sizeof(f->file), "%s/repos.yml", f->def.dir);
    csit_sh("printf 'spring:\\n  cloud:\\n    config:\\n      server:\\n        git:\\n          repos:\\n"
            "            team:\\n              pattern: [\"team-*\", shared/prod]\\n"
            "              uri: %s\\n              username: teamuser\\n"
            "              password-file: %s\\n              search-paths: \"{application}\"\\n"
            "            apps:\\n              pattern: \"*-app\"\\n"
            "              uri: file://%s/{application}.git\\n' > '%s'",
            f->team_uri, f->pwfile, f->apps, f->file);
    snprintf(f->base, sizeof(f->base), "%s/base", f->def.dir);
}

static void fx_rm(fx_t *f)
{
    csit_sh("kill %d", f->http_pid);
    gitfix_rm(&f->team);
    gitfix_rm(&f->def);
}

/* 1 when the body of GET `path` is 200 and names a property source of `repo`. */
static int served_by(const csit_srv_t *s, const char *path, const char *repo)
{
    csit_resp_t r;
    csit_get(s, path, NULL, &r);
    int ok = r.status == 200 && strstr(dbuf_ptr(&r.body), repo) != NULL;
    if (!ok)
        print_message("GET %s: %ld %.*s (wanted %s)\n", path, r.status, (int)dbuf_len(&r.body),
                      dbuf_ptr(&r.body), repo);
    csit_resp_free(&r);
    return ok;
}

/* The number of entries of `dir` once it is `want` (an evicted mirror goes after its last
 * request was answered), or after 3 s. */
static int count_dirs_is(const char *dir, int want)
{
    int n = -1;
    for (int i = 0; i < 60 && n != want; i++) {
        char out[32];
        if (i > 0)
            ts_sleep_ms(50);
        csit_sh_out(out, sizeof(out), "ls -A '%s' | wc -l", dir);
        n = atoi(out);
    }
    return n;
}

static long webhook(const csit_srv_t *s, const char *clone_url)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"ref\":\"refs/heads/main\",\"repository\":{\"clone_url\":\"%s\"},"
             "\"commits\":[{\"modified\":[\"app.yml\"]}]}",
             clone_url);
    csit_resp_t r;
    csit_post(s, "/monitor", "application/json", "X-GitHub-Event: push", body, &r);
    long st = r.status;
    csit_resp_free(&r);
    return st;
}

static void test_routing(void **state)
{
    (void)state;
    fx_t f;
    fx_make(&f, "t3am-pass");
    const char *args[] = {"--repo-uri",
                          f.def.uri,
                          "--git-repos-file",
                          f.file,
                          "--git-basedir",
                          f.base,
                          "--git-refresh-s",
                          "0",
                          "--git-mirrors",
                          "1",
                          NULL};
    csit_srv_t s;
    csit_start(&s, NULL, args);
    char dyn[450], alpha[400], beta[400];
    snprintf(dyn, sizeof(dyn), "%s/dyn", f.base);
    snprintf(alpha, sizeof(alpha), "%s/alpha-app.git", f.apps);
    snprintf(beta, sizeof(beta), "%s/beta-app.git", f.apps);

    /* patterns in the file's order, the default for the rest */
    assert_true(served_by(&s, "/team-x/default", f.team_uri));
    assert_int_equal(csit_status(&s, "/team-x/default", "\"folder\":1"), 200); /* its own search path */
    assert_true(served_by(&s, "/shared/prod", f.team_uri));
    assert_true(served_by(&s, "/shared/dev", f.def.remote));
    assert_true(served_by(&s, "/shared/prod,dev", f.team_uri));   /* "shared/prod,*" */
    assert_true(served_by(&s, "/shared/dev,prod", f.def.remote)); /* matches, but Spring's findOne: null */
    assert_true(served_by(&s, "/other/default", f.def.remote));
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":1"), 200);
    /* a label the team repository lacks: the default's answer (Spring passes over it) */
    assert_true(served_by(&s, "/team-x/default/only-def", f.def.remote));

    /* {application}: a mirror per application, at most one kept */
    assert_int_equal(count_dirs_is(dyn, 0), 0);
    assert_true(served_by(&s, "/alpha-app/default", alpha));
    assert_int_equal(csit_status(&s, "/alpha-app/default", "\"who\":\"alpha\""), 200);
    assert_int_equal(count_dirs_is(dyn, 1), 1);
    assert_true(served_by(&s, "/beta-app/default", beta));
    assert_int_equal(count_dirs_is(dyn, 1), 1); /* alpha's evicted and removed */
    assert_true(csit_log_has(&s, "evicted", "alpha-app.git"));
    assert_true(served_by(&s, "/alpha-app/dev", alpha)); /* cloned again */
    /* no such repository: passed over, as by Spring: the default's */
    assert_true(served_by(&s, "/nope-app/default", f.def.remote));
    assert_int_equal(count_dirs_is(dyn, 1), 1);
    assert_int_equal(csit_status(&s, "/actuator/health", "\"mirrors\":{\"open\":"), 200);

    /* POST /monitor: only the repository the webhook names */
    gitfix_commit(&f.def, 5, 0);
    assert_int_equal(webhook(&s, f.team_uri), 200);
    ts_sleep_ms(1500);
    assert_int_equal(csit_status(&s, "/app/default", "\"gen\":1"), 200);
    assert_true(csit_log_has(&s, "the webhook names", ""));
    assert_int_equal(webhook(&s, f.def.uri), 200);
    assert_true(csit_wait_for(&s, "/app/default", "\"gen\":5", 5000) >= 0);
    gitfix_commit(&f.def, 6, 0);
    assert_int_equal(webhook(&s, "https://elsewhere.example/x.git"), 200); /* names none: every one */
    assert_true(csit_wait_for(&s, "/app/default", "\"gen\":6", 5000) >= 0);
    assert_false(csit_log_has(&s, "t3am-pass", ""));
    csit_stop(&s);
    fx_rm(&f);
}

/* --repo-uri itself with {application}: no default to fall back to, so an application
 * without a repository is 404 naming the URI; the failure is remembered (no clone per
 * request). */
static void test_template_default(void **state)
{
    (void)state;
    fx_t f;
    fx_make(&f, "t3am-pass");
    char uri[400];
    snprintf(uri, sizeof(uri), "file://%s/{application}.git", f.apps);
    const char *args[] = {"--repo-uri", uri, "--git-refresh-s", "0", NULL};
    csit_srv_t s;
    csit_start(&s, NULL, args);
    assert_int_equal(csit_status(&s, "/beta-app/default", "\"who\":\"beta\""), 200);
    assert_int_equal(csit_status(&s, "/nope/default", "no repository at"), 404);
    assert_int_equal(csit_status(&s, "/nope/default", "nope.git"), 404);
    assert_int_equal(csit_status(&s, "/actuator/health", "{application}.git"), 200);
    csit_stop(&s);
    fx_rm(&f);
}

/* The exit status and log of the binary started with `args` (a shell fragment). */
static int run_bin(const fx_t *f, const char *args, char *log, size_t loglen)
{
    char cmd[2048];
    snprintf(log, loglen, "%s/start.log", f->def.dir);
    snprintf(cmd, sizeof(cmd),
             "timeout 30 '%s/config-server' --port %d --host 127.0.0.1 --git-timeout-s 5 %s 2> '%s'",
             ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR), ts_free_port(), args, log);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_refusals(void **state)
{
    (void)state;
    fx_t f;
    fx_make(&f, "wr0ng-pass");
    char args[1200], log[450];
    /* a repository whose own credentials are refused: 78, naming it, never the password */
    snprintf(args, sizeof(args), "--repo-uri '%s' --git-repos-file '%s'", f.def.uri, f.file);
    assert_int_equal(run_bin(&f, args, log, sizeof(log)), 78);
    csit_sh("grep -q 'repository team' '%s'", log);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "grep -q 'wr0ng-pass' '%s'", log);
    assert_int_not_equal(system(cmd), 0);
    /* an unknown key: 78 naming it and its line */
    csit_sh("printf 'repos:\\n  one:\\n    uri: file:///x\\n    passwd: y\\n' > '%s'", f.file);
    assert_int_equal(run_bin(&f, args, log, sizeof(log)), 78);
    csit_sh("grep -q \"line 4: unknown key 'passwd'\" '%s'", log);
    /* no default repository */
    snprintf(args, sizeof(args), "--git-repos-file '%s'", f.file);
    assert_int_equal(run_bin(&f, args, log, sizeof(log)), 2);
    /* the file inside the served folder... of a git server there is none; a missing file: 78 */
    snprintf(args, sizeof(args), "--repo-uri '%s' --git-repos-file /nonexistent/repos.yml", f.def.uri);
    assert_int_equal(run_bin(&f, args, log, sizeof(log)), 78);
    fx_rm(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_template_default),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
