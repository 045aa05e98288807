/* test_plaintext.c — unit tests of the plain-text endpoint (http/plaintext.h): Spring's
 * candidate names and resolution order, placeholders resolved from the effective
 * environment, binary files passed through, Content-Type, the URL grammar and its
 * traversal vectors, files that leave the repository, and a git commit's own file.
 * (The access check, shared with the environment endpoints, is exercised on the real
 * binary by it_config_server_access.)
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
#include <unistd.h>

#include "cs_itgit.h"
#include "git/gitrepo.h"
#include "http/plaintext.h"
#include "repo/repo.h"

/* libgit2 1.5 leaks the pcre2 match data of its refspec regexps once per remote lookup
 * (git/gitmirror.h: cs_gitm_open makes the remote once per process); this test opens one
 * mirror, so LeakSanitizer is told about that library's allocations only. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libpcre2-8.so\n";
}

typedef struct fix {
    char dir[64];
    cs_repo_t repo;
    cs_access_t access;
    cs_http_t h;
} fix_t;

static void put(const char *dir, const char *rel, const char *bytes, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    for (char *p = strchr(path + strlen(dir) + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
        *p = '\0';
        mkdir(path, 0700);
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

static void puts_file(const char *dir, const char *rel, const char *text)
{
    put(dir, rel, text, strlen(text));
}

/* A folder repository: shared and per-application config, profile-specific files, a
 * label overlay v2/, text, binary and files that must never be served. */
static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/cs-text-XXXXXX");
    if (f == NULL || mkdtemp(f->dir) == NULL)
        return -1;
    puts_file(f->dir, "application.yml",
              "nginx:\n  server:\n    name: example.com\n---\nspring:\n  config:\n    activate:\n"
              "      on-profile: dev\nnginx:\n  server:\n    name: dev.example.com\n");
    puts_file(f->dir, "billing.yml", "app:\n  title: Billing\nloop:\n  a: ${loop.b}\n  b: ${loop.a}\n");
    puts_file(f->dir, "billing-prod.yml", "app:\n  title: Billing (prod)\n");
    puts_file(f->dir, "v2/billing.yml", "app:\n  title: Billing v2\n");
    puts_file(f->dir, "nginx/nginx.conf",
              "server_name ${nginx.server.name};\nport ${nginx.port:8080};\nkeep ${no.such.key};\n"
              "lit \\${nginx.server.name};\ntitle ${app.title}\n");
    puts_file(f->dir, "logback.xml", "<root/>\n");
    puts_file(f->dir, "logback-dev.xml", "<dev/>\n");
    puts_file(f->dir, "logback-prod.xml", "<prod/>\n");
    puts_file(f->dir, "both.txt", "root\n");
    puts_file(f->dir, "v2/both.txt", "label\n");
    puts_file(f->dir, "v2/only.txt", "only in v2: ${app.title}\n");
    puts_file(f->dir, "cycle.txt", "a=${loop.a}\n");
    puts_file(f->dir, "big.txt", "0123456789abcdef0123456789abcdef\n");
    puts_file(f->dir, "noext", "plain ${app.title}\n");
    put(f->dir, "keystore.p12", "\x30\x82\x00${app.title}\xff\xfe", 17);
    put(f->dir, "latin1.txt", "caf\xe9 ${app.title}\n", 17);
    puts_file(f->dir, ".git/config", "[core]\n");
    char path[512], cwd[256];
    snprintf(path, sizeof(path), "%s/passwd.txt", f->dir);
    if (symlink("/etc/passwd", path) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/inside.txt", f->dir);
    if (symlink("both.txt", path) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/up.txt", f->dir);
    snprintf(cwd, sizeof(cwd), "../%s/both.txt", strrchr(f->dir, '/') + 1);
    if (symlink(cwd, path) != 0) /* resolves to a file inside, but by leaving the root */
        return -1;
    snprintf(path, sizeof(path), "%s/fifo.txt", f->dir);
    if (mkfifo(path, 0600) != 0)
        return -1;
    char err[256];
    cs_snap_limits_t lim = {0};
    if (cs_repo_open(&f->repo, f->dir, &lim, NULL, err, sizeof(err)) != 0 ||
        cs_access_init(&f->access, "main"))
        return -1;
    cs_http_init(&f->h, cs_repo_store(&f->repo), (cs_srcnames_t){.dir = f->dir}, 0, &f->access, NULL);
    f->h.max_file_bytes = 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;
    cs_repo_close(&f->repo);
    cs_access_free(&f->access);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* GET `url` (path and query) against `h`: the status; the answer in *a (free it). */
static int get(cs_http_t *h, const char *url, int raw, cs_text_answer_t *a)
{
    char path[2048], why[256];
    snprintf(path, sizeof(path), "%s", url);
    char *q = strchr(path, '?');
    if (q != NULL)
        *q++ = '\0';
    cs_req_t r;
    int st = cs_http_parse_query(path, q, &r, why, sizeof(why));
    if (st != 0)
        fail_msg("%s: %d %s", url, st, why);
    assert_int_equal(r.kind, CS_REQ_TEXT);
    cs_text_eval(h, &r, raw, q == NULL || strstr(q, "resolvePlaceholders=false") == NULL, a);
    return a->status;
}

/* The body of a 200 for `url`, with the served file and Content-Type checked. */
static void expect(cs_http_t *h, const char *url, const char *file, const char *ctype, const char *body)
{
    cs_text_answer_t a;
    if (get(h, url, 0, &a) != 200)
        fail_msg("%s: %d %s", url, a.status, a.detail);
    if (strcmp(a.file, file) != 0 || strcmp(a.ctype, ctype) != 0 || a.len != strlen(body) ||
        memcmp(a.body, body, a.len) != 0)
        fail_msg("%s: served %s (%s) \"%.*s\", want %s (%s) \"%s\"", url, a.file, a.ctype, (int)a.len, a.body,
                 file, ctype, body);
    assert_true(a.etag[0] == '"' && strlen(a.etag) == 34);
    cs_text_answer_free(&a);
}

static void expect_problem(cs_http_t *h, const char *url, int status, const char *needle)
{
    cs_text_answer_t a;
    int st = get(h, url, 0, &a);
    if (st != status || strstr(a.detail, needle) == NULL)
        fail_msg("%s: %d \"%s\", want %d naming \"%s\"", url, st, a.detail, status, needle);
    assert_null(a.body);
    cs_text_answer_free(&a);
}

static void test_candidates(void **state)
{
    (void)state;
    char c[CS_TEXT_MAX_CANDIDATES][CS_TEXT_CAND_MAX];
    assert_int_equal(cs_text_candidates("default", "logback.xml", c, CS_TEXT_MAX_CANDIDATES), 1);
    assert_string_equal(c[0], "logback.xml");
    assert_int_equal(cs_text_candidates("dev", "logback.xml", c, CS_TEXT_MAX_CANDIDATES), 2);
    assert_string_equal(c[0], "logback-dev.xml");
    assert_string_equal(c[1], "logback.xml");
    /* the profiles in the order given (Spring's getProfilePaths), then the plain path */
    assert_int_equal(cs_text_candidates("dev,prod", "nginx/nginx.conf", c, CS_TEXT_MAX_CANDIDATES), 3);
    assert_string_equal(c[0], "nginx/nginx-dev.conf");
    assert_string_equal(c[1], "nginx/nginx-prod.conf");
    assert_string_equal(c[2], "nginx/nginx.conf");
    /* default in the middle is the plain path, once */
    assert_int_equal(cs_text_candidates("dev,default,prod", "a.txt", c, CS_TEXT_MAX_CANDIDATES), 3);
    assert_string_equal(c[1], "a.txt");
    assert_string_equal(c[2], "a-prod.txt");
    /* the extension is the last one of the last component only */
    assert_int_equal(cs_text_candidates("dev", "conf.d/nginx", c, CS_TEXT_MAX_CANDIDATES), 2);
    assert_string_equal(c[0], "conf.d/nginx-dev");
    assert_int_equal(cs_text_candidates("k8s", "a.tar.gz", c, CS_TEXT_MAX_CANDIDATES), 2);
    assert_string_equal(c[0], "a.tar-k8s.gz");
    /* a profile twice is tried once */
    assert_int_equal(cs_text_candidates("dev,dev", "x.yml", c, CS_TEXT_MAX_CANDIDATES), 2);
}

static void test_ctype_and_binary(void **state)
{
    (void)state;
    assert_string_equal(cs_text_ctype("logback.xml"), "application/xml; charset=utf-8");
    assert_string_equal(cs_text_ctype("a/b.JSON"), "application/json");
    assert_string_equal(cs_text_ctype("x.yaml"), "application/yaml; charset=utf-8");
    assert_string_equal(cs_text_ctype("nginx.conf"), "text/plain; charset=utf-8");
    assert_string_equal(cs_text_ctype("conf.d/noext"), "text/plain; charset=utf-8");
    assert_string_equal(cs_text_ctype("page.html"), "text/plain; charset=utf-8"); /* never rendered */
    assert_false(cs_text_is_binary("h\xc3\xa9llo", 6));
    assert_true(cs_text_is_binary("a\0b", 3));
    assert_true(cs_text_is_binary("caf\xe9", 4));
    assert_true(cs_text_is_binary("\xc0\xae", 2)); /* overlong '.' */
}

/* The URL forms and every traversal vector of this endpoint: refused before any file is
 * looked at. */
static void test_grammar_and_traversal(void **state)
{
    (void)state;
    cs_req_t r;
    char why[256];
    assert_int_equal(cs_http_parse_query("/billing/dev/main/nginx/nginx.conf", NULL, &r, why, sizeof(why)),
                     0);
    assert_true(r.kind == CS_REQ_TEXT && strcmp(r.label, "main") == 0 &&
                strcmp(r.path, "nginx/nginx.conf") == 0);
    assert_int_equal(
        cs_http_parse_query("/billing/dev/nginx/nginx.conf", "useDefaultLabel", &r, why, sizeof(why)), 0);
    assert_true(r.kind == CS_REQ_TEXT && r.label[0] == '\0' && strcmp(r.path, "nginx/nginx.conf") == 0);
    assert_int_equal(
        cs_http_parse_query("/billing/dev/logback.xml", "a=1&useDefaultLabel=", &r, why, sizeof(why)), 0);
    assert_true(r.kind == CS_REQ_TEXT && strcmp(r.path, "logback.xml") == 0);
    /* three segments without the parameter stay the Environment at a label */
    assert_int_equal(cs_http_parse_query("/billing/dev/main", "useDefaultLabelx", &r, why, sizeof(why)), 0);
    assert_int_equal(r.kind, CS_REQ_ENV);
    assert_int_equal(cs_http_parse_query("/billing/dev/release(_)1.0/a%20b.txt", NULL, &r, why, sizeof(why)),
                     0);
    assert_true(strcmp(r.label, "release/1.0") == 0 && strcmp(r.path, "a b.txt") == 0);
    static const char *const bad[] = {
        "/app/dev/main/../../etc/passwd",
        "/app/dev/main/..%2f..%2fetc%2fpasswd",
        "/app/dev/main/..%252f..%252fetc%252fpasswd",
        "/app/dev/main/%2e%2e/%2e%2e/etc/passwd",
        "/app/dev/main/%252e%252e/etc/passwd",
        "/app/dev/main/%25252e%25252e/etc/passwd",
        "/app/dev/main/%2fetc%2fpasswd",
        "/app/dev/main/..%5c..%5cetc%5cpasswd",
        "/app/dev/main/a%5cb.txt",
        "/app/dev/main/x.txt%00.xml",
        "/app/dev/main/x.txt%2500",
        "/app/dev/main/%c0%ae%c0%ae/etc/passwd",
        "/app/dev/main/%c0%af",
        "/app/dev/main/.git/config",
        "/app/dev/main/a/./b.txt",
        "/app/dev/main/a/%2e/b.txt",
        "/app/dev/main/.env",
        "/app/dev/main/a%23b",
        "/app/dev/main/a%3fb",
        "/app/dev/main/a%0ab",
        "/app/dev/main/a%7f",
        "/app/dev/main/a//b.txt",
        "/app/dev/main/a/",
        "/app/dev/..%252f..%252f/x.txt",
        "/app/..%252f/main/x.txt",
        "/..%252f/dev/main/x.txt",
        "/app/dev/(_)etc/passwd",
        "/app/dev/a(_)..(_)b/x.txt",
        "/test/pathtraversal/master/..%252f..%252f..%252f..%252f../etc/passwd", /* CVE-2019-3799 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = cs_http_parse_query(bad[i], NULL, &r, why, sizeof(why));
        if (rc != 400 && rc != 404)
            fail_msg("%s → %d (kind %d, path '%s'), want 400/404", bad[i], rc, r.kind, r.path);
        assert_true(why[0] != '\0');
    }
    assert_int_equal(cs_http_parse_query("/app/dev/../x.txt", "useDefaultLabel", &r, why, sizeof(why)), 400);
    assert_false(cs_http_text_path_ok("a/../b"));
    assert_false(cs_http_text_path_ok("/etc/passwd"));
    assert_false(cs_http_text_path_ok("a\\b"));
    assert_false(cs_http_text_path_ok("caf\xe9"));
    assert_true(cs_http_text_path_ok("conf.d/caf\xc3\xa9 1.txt"));
    char longp[CS_TEXT_PATH_MAX + 2];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    assert_false(cs_http_text_path_ok(longp));
}

/* Spring's order: in each location (the root, then the label's directory) the profile
 * files in the order given, then the plain name. */
static void test_resolution_order(void **state)
{
    fix_t *f = *state;
    cs_http_t *h = &f->h;
    const char *xml = "application/xml; charset=utf-8", *txt = "text/plain; charset=utf-8";
    expect(h, "/billing/default/main/logback.xml", "logback.xml", xml, "<root/>\n");
    expect(h, "/billing/dev/main/logback.xml", "logback-dev.xml", xml, "<dev/>\n");
    expect(h, "/billing/dev,prod/main/logback.xml", "logback-dev.xml", xml, "<dev/>\n");
    expect(h, "/billing/prod,dev/main/logback.xml", "logback-prod.xml", xml, "<prod/>\n");
    expect(h, "/billing/k8s/main/logback.xml", "logback.xml", xml, "<root/>\n");
    expect(h, "/billing/dev/logback.xml?useDefaultLabel", "logback-dev.xml", xml, "<dev/>\n");
    expect(h, "/billing/default/master/logback.xml", "logback.xml", xml, "<root/>\n");
    /* the root before the label's directory (Spring's native locations), then the label's own */
    expect(h, "/billing/default/v2/both.txt", "both.txt", txt, "root\n");
    expect(h, "/billing/default/v2/only.txt", "v2/only.txt", txt, "only in v2: Billing v2\n");
    expect_problem(h, "/billing/default/main/only.txt", 404, "no file only.txt");
    /* a symlink inside the repository is followed; a FIFO or a directory is no file */
    expect(h, "/billing/default/main/inside.txt", "inside.txt", txt, "root\n");
    expect_problem(h, "/billing/default/main/fifo.txt", 404, "fifo.txt");
    expect_problem(h, "/billing/default/main/nginx", 404, "no file nginx");
    /* a missing file names the file and what was tried */
    expect_problem(h, "/billing/dev,prod/main/nope.xml", 404,
                   "(tried nope-dev.xml, nope-prod.xml, nope.xml)");
    expect_problem(h, "/billing/default/nolabel/logback.xml", 404, "nolabel");
    /* --max-file-bytes (1000 here) */
    f->h.max_file_bytes = 10;
    expect_problem(h, "/billing/default/main/big.txt", 503, "big.txt");
    f->h.max_file_bytes = 1000;
}

/* Files that leave the repository are not found, whatever the URL. */
static void test_escapes_on_disk(void **state)
{
    fix_t *f = *state;
    expect_problem(&f->h, "/billing/default/main/passwd.txt", 404, "passwd.txt");
    expect_problem(&f->h, "/billing/default/main/up.txt", 404, "up.txt");
    char why[128];
    char *out = NULL;
    size_t len = 0;
    cs_store_t st = f->h.store;
    cs_lease_t l;
    assert_int_equal(st.ops->acquire(st.ctx, "a", "default", "", &l, why, sizeof(why)), 0);
    /* the store itself refuses what the URL grammar already keeps out */
    static const char *const rels[] = {"../etc/passwd", "/etc/passwd", "nginx/../../x", "passwd.txt",
                                       "up.txt"};
    for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
        int rc = st.ops->read_file(st.ctx, &l, rels[i], 1000, &out, &len, why, sizeof(why));
        if (rc != 404 || out != NULL)
            fail_msg("read_file(%s) → %d", rels[i], rc);
    }
    st.ops->release(st.ctx, &l);
}

static void test_placeholders(void **state)
{
    fix_t *f = *state;
    const char *txt = "text/plain; charset=utf-8";
    /* values from the effective environment of app × profiles × label; a default when
     * missing; an unresolvable one left as it is; \${ literal */
    expect(&f->h, "/billing/default/main/nginx/nginx.conf", "nginx/nginx.conf", txt,
           "server_name example.com;\nport 8080;\nkeep ${no.such.key};\nlit ${nginx.server.name};\n"
           "title Billing\n");
    expect(&f->h, "/billing/dev/main/nginx/nginx.conf", "nginx/nginx.conf", txt,
           "server_name dev.example.com;\nport 8080;\nkeep ${no.such.key};\nlit ${nginx.server.name};\n"
           "title Billing\n");
    expect(&f->h, "/billing/prod/v2/nginx/nginx.conf", "nginx/nginx.conf", txt,
           "server_name example.com;\nport 8080;\nkeep ${no.such.key};\nlit ${nginx.server.name};\n"
           "title Billing (prod)\n");
    expect(&f->h, "/other/default/main/nginx/nginx.conf", "nginx/nginx.conf", txt,
           "server_name example.com;\nport 8080;\nkeep ${no.such.key};\nlit ${nginx.server.name};\n"
           "title ${app.title}\n");
    expect(&f->h, "/billing/default/main/noext", "noext", txt, "plain Billing\n");
    /* ?resolvePlaceholders=false: the file as it is */
    expect(&f->h, "/billing/default/main/noext?resolvePlaceholders=false", "noext", txt,
           "plain ${app.title}\n");
    /* a cycle is the repository's fault: 400 naming it (only when the text uses it) */
    expect_problem(&f->h, "/billing/default/main/cycle.txt", 400, "circular placeholder reference 'loop.");
    expect(&f->h, "/billing/default/main/both.txt", "both.txt", txt, "root\n");
}

/* Binary files (NUL, invalid UTF-8) and Spring's binary endpoint are byte for byte. */
static void test_binary_passthrough(void **state)
{
    fix_t *f = *state;
    cs_text_answer_t a;
    assert_int_equal(get(&f->h, "/billing/default/main/keystore.p12", 0, &a), 200);
    assert_string_equal(a.ctype, "application/octet-stream");
    assert_int_equal(a.len, 17);
    assert_memory_equal(a.body, "\x30\x82\x00${app.title}\xff\xfe", 17);
    cs_text_answer_free(&a);
    assert_int_equal(get(&f->h, "/billing/default/main/latin1.txt", 0, &a), 200);
    assert_string_equal(a.ctype, "application/octet-stream");
    assert_memory_equal(a.body, "caf\xe9 ${app.title}\n", 17);
    cs_text_answer_free(&a);
    /* Accept: application/octet-stream: a text file unchanged, placeholders and all */
    assert_int_equal(get(&f->h, "/billing/default/main/noext", 1, &a), 200);
    assert_string_equal(a.ctype, "application/octet-stream");
    assert_int_equal(a.len, strlen("plain ${app.title}\n"));
    assert_memory_equal(a.body, "plain ${app.title}\n", a.len);
    cs_text_answer_free(&a);
}

/* git: a label is a commit, and the file (and the environment its placeholders come
 * from) is that commit's. */
static void test_git_commit_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/cs-textgit-XXXXXX", c1[64], why[256];
    assert_non_null(mkdtemp(dir));
    csit_sh("cd '%s' && " GIT
            " init -q work && cd work && mkdir conf && printf 'x:\\n  y: one\\n' > application.yml"
            " && printf 'v=${x.y}\\n' > conf/app.txt && ln -s /etc/passwd link.txt && " GIT " add -A && " GIT
            " commit -qm one && printf 'x:\\n  y: two\\n' > application.yml && " GIT
            " commit -qam two && " GIT " tag v2 && cd .. && " GIT " clone -q --bare work remote.git",
            dir);
    csit_sh_out(c1, sizeof(c1), "cd '%s/work' && git rev-parse HEAD~1", dir);
    char uri[128];
    snprintf(uri, sizeof(uri), "file://%s/remote.git", dir);
    cs_gitrepo_t g;
    cs_gitrepo_opts_t o = {.uri = uri};
    git_libgit2_init();
    if (cs_gitrepo_open(&g, &o, why, sizeof(why)) != 0)
        fail_msg("cs_gitrepo_open: %s", why);
    cs_access_t acc;
    assert_int_equal(cs_access_init(&acc, "main"), 0);
    cs_http_t h;
    cs_http_init(&h, cs_gitrepo_store(&g), (cs_srcnames_t){.dir = dir, .uri = uri}, 0, &acc, NULL);
    const char *txt = "text/plain; charset=utf-8";
    expect(&h, "/a/default/main/conf/app.txt", "conf/app.txt", txt, "v=two\n");
    expect(&h, "/a/default/v2/conf/app.txt", "conf/app.txt", txt, "v=two\n");
    expect(&h, "/a/default/conf/app.txt?useDefaultLabel", "conf/app.txt", txt, "v=two\n");
    char url[256];
    snprintf(url, sizeof(url), "/a/default/%s/conf/app.txt", c1);
    expect(&h, url, "conf/app.txt", txt, "v=one\n");
    snprintf(url, sizeof(url), "/a/default/%.7s/conf/app.txt", c1);
    expect(&h, url, "conf/app.txt", txt, "v=one\n");
    expect_problem(&h, "/a/default/main/link.txt", 404, "link.txt"); /* git symlinks: never followed */
    expect_problem(&h, "/a/default/main/conf", 404, "conf");
    expect_problem(&h, "/a/default/nosuch/conf/app.txt", 404, "nosuch");
    cs_gitrepo_close(&g);
    cs_access_free(&acc);
    git_libgit2_shutdown();
    csit_sh("rm -rf '%s'", dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_ctype_and_binary),
        cmocka_unit_test(test_grammar_and_traversal),
        cmocka_unit_test_setup_teardown(test_resolution_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes_on_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_placeholders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_passthrough, setup, teardown),
        cmocka_unit_test(test_git_commit_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
