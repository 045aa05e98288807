/* test_gitmulti.c — unit tests of the several-repositories pieces of the git backend:
 * Spring's pattern expansion and matching (git/gitpattern.c, the cases of Spring's
 * PatternMatchingJGitEnvironmentRepository and PatternMatchUtils), URI placeholders, the
 * LRU of {application} mirrors (git/gitlru.c: order, references, eviction), the webhook
 * URL → repository match (git/gitmulti.c) and the repositories file (git/gitrepos.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "git/gitlru.h"
#include "git/gitmulti.h"
#include "git/gitpattern.h"
#include "git/gitrepos.h"

static void test_simple_match(void **state)
{
    (void)state;
    assert_true(cs_gpat_simple_match("*", ""));
    assert_true(cs_gpat_simple_match("*", "a/b,c"));
    assert_true(cs_gpat_simple_match("abc", "abc"));
    assert_false(cs_gpat_simple_match("abc", "abcd"));
    assert_true(cs_gpat_simple_match("a*", "a/b"));
    assert_true(cs_gpat_simple_match("*b", "a/b"));
    assert_true(cs_gpat_simple_match("a*c*e", "abcde"));
    assert_true(cs_gpat_simple_match("a**e", "ae"));
    assert_false(cs_gpat_simple_match("a*c*e", "abcdf"));
    assert_true(cs_gpat_simple_match("*-service/*", "order-service/dev"));
    assert_false(cs_gpat_simple_match("?", "a")); /* no ? in Spring's simpleMatch */
    assert_true(cs_gpat_simple_match("?", "?"));
    assert_false(cs_gpat_simple_match("Team*", "team-a/dev")); /* case-sensitive */
}

static void test_expand(void **state)
{
    (void)state;
    const char *in[] = {"simple", "local/dev", "x*", "a/b*", "simple"};
    cs_gpat_t p;
    assert_int_equal(cs_gpat_init(&p, in, 5), 0);
    /* Spring's setPattern: p + "/" + star and p for each, then p + "," + star for those
     * not ending with a star; no duplicates */
    const char *want[] = {"simple/*", "simple", "local/dev", "x*/*", "x*", "a/b*", "simple,*", "local/dev,*"};
    assert_int_equal(p.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < p.n; i++)
        assert_string_equal(p.v[i], want[i]);
    cs_gpat_free(&p);
}

static void test_matches(void **state)
{
    (void)state;
    /* as Spring's tests: an application prefix, a profile suffix, one app/profile pair */
    const char *a[] = {"test*"}, *b[] = {"*/staging"}, *c[] = {"local/dev"};
    cs_gpat_t pa, pb, pc;
    assert_int_equal(cs_gpat_init(&pa, a, 1), 0);
    assert_int_equal(cs_gpat_init(&pb, b, 1), 0);
    assert_int_equal(cs_gpat_init(&pc, c, 1), 0);
    assert_true(cs_gpat_matches(&pa, "test1-svc", "default"));
    assert_true(cs_gpat_serves(&pa, "test1-svc", "default"));
    assert_false(cs_gpat_matches(&pa, "bar", "test"));
    assert_true(cs_gpat_matches(&pb, "bar", "staging"));
    assert_true(cs_gpat_matches(&pb, "bar", "dev,staging")); /* any one profile */
    assert_false(cs_gpat_serves(&pb, "bar", "dev,staging")); /* "bar/dev,staging": Spring's findOne: null */
    assert_true(cs_gpat_serves(&pb, "bar", "staging"));
    assert_true(cs_gpat_matches(&pb, "bar", "staging,dev"));
    assert_true(cs_gpat_serves(&pb, "bar", "staging,dev")); /* the expanded star + "/staging," + star */
    assert_true(cs_gpat_matches(&pc, "local", "dev"));
    assert_true(cs_gpat_serves(&pc, "local", "dev,prod")); /* local/dev,* */
    assert_true(cs_gpat_matches(&pc, "local", "prod,dev"));
    assert_false(cs_gpat_serves(&pc, "local", "prod,dev"));
    assert_false(cs_gpat_matches(&pc, "local", "prod"));
    assert_false(cs_gpat_matches(&pc, "locale", "dev"));
    /* several applications: matched as the one string "a,b" */
    assert_true(cs_gpat_matches(&pa, "test-a,other", "dev"));
    cs_gpat_free(&pa);
    cs_gpat_free(&pb);
    cs_gpat_free(&pc);
    cs_gpat_t none = {0};
    assert_false(cs_gpat_matches(&none, "a", "b"));
}

static void test_uri(void **state)
{
    (void)state;
    assert_true(cs_gpat_templated("https://h/{application}.git"));
    assert_true(cs_gpat_templated("https://h/{profile}/x"));
    assert_false(cs_gpat_templated("https://h/{app}.git"));
    char *s =
        cs_gpat_expand("https://h/{application}-{profile}/{application}@{label}", "billing", "dev", "v2");
    assert_string_equal(s, "https://h/billing-dev/billing@v2");
    free(s);
    s = cs_gpat_expand("file:///r/{application}", "a,b", NULL, NULL);
    assert_string_equal(s, "file:///r/a,b");
    free(s);
    s = cs_gpat_expand("x/{label}", "a", "p", NULL);
    assert_string_equal(s, "x/{label}");
    free(s);
}

typedef struct item {
    cs_glru_node_t node;
    char key[16];
} item_t;

static void test_lru(void **state)
{
    (void)state;
    cs_glru_t l;
    item_t it[4];
    cs_glru_init(&l, 2);
    for (int i = 0; i < 4; i++) {
        memset(&it[i], 0, sizeof(it[i]));
        snprintf(it[i].key, sizeof(it[i].key), "k%d", i);
        it[i].node.key = it[i].key;
    }
    assert_null(cs_glru_get(&l, "k0"));
    cs_glru_put(&l, &it[0].node);
    cs_glru_put(&l, &it[1].node);
    assert_null(cs_glru_evict(&l, 0)); /* 2 of 2 */
    cs_glru_put(&l, &it[3].node);
    assert_null(cs_glru_evict(&l, 1)); /* one being opened: not counted */
    cs_glru_remove(&l, &it[3].node);
    assert_ptr_equal(cs_glru_get(&l, "k0"), &it[0].node); /* k0 used: k1 is the oldest now */
    assert_int_equal(it[0].node.refs, 1);
    cs_glru_unref(&l, &it[0].node);
    cs_glru_put(&l, &it[2].node);
    assert_ptr_equal(cs_glru_evict(&l, 0), &it[1].node);
    assert_null(cs_glru_evict(&l, 0));
    assert_int_equal(l.n, 2);
    assert_null(cs_glru_get(&l, "k1"));
    /* in use: never evicted, the bound is exceeded until released */
    assert_non_null(cs_glru_get(&l, "k0"));
    assert_non_null(cs_glru_get(&l, "k2"));
    cs_glru_put(&l, &it[3].node);
    it[3].node.refs = 1;
    assert_null(cs_glru_evict(&l, 0));
    assert_int_equal(l.n, 3);
    cs_glru_unref(&l, &it[0].node); /* k0 is now the least recently used unused one */
    assert_ptr_equal(cs_glru_evict(&l, 0), &it[0].node);
    assert_null(cs_glru_evict(&l, 0));
    cs_glru_unref(&l, &it[2].node);
    cs_glru_unref(&l, &it[2].node); /* never below 0 */
    assert_int_equal(it[2].node.refs, 0);
    cs_glru_remove(&l, &it[3].node);
    assert_int_equal(l.n, 1);
    assert_ptr_equal(l.head, &it[2].node);
    assert_ptr_equal(l.tail, &it[2].node);
}

static void test_same_repo(void **state)
{
    (void)state;
    const char *uri = "https://git.example.com/team-a/config.git";
    assert_true(cs_gitmulti_same_repo("https://git.example.com/team-a/config.git", uri));
    assert_true(cs_gitmulti_same_repo("https://git.example.com/team-a/config", uri));
    assert_true(cs_gitmulti_same_repo("git@git.example.com:team-a/config.git", uri));
    assert_true(cs_gitmulti_same_repo("ssh://git@GIT.example.com:22/team-a/config.git", uri));
    assert_true(cs_gitmulti_same_repo("https://git.example.com/team-a/config/", uri));
    assert_true(cs_gitmulti_same_repo("https://git.example.com/team-a/config",
                                      "https://u:***@git.example.com/team-a/config"));
    assert_false(cs_gitmulti_same_repo("https://git.example.com/team-b/config.git", uri));
    assert_false(
        cs_gitmulti_same_repo("https://git.example.com/team-a/Config.git", uri)); /* paths keep case */
    assert_false(cs_gitmulti_same_repo("", uri));
    assert_true(cs_gitmulti_same_repo("file:///srv/a.git", "file:///srv/a.git"));
}

static void test_repos_file(void **state)
{
    (void)state;
    cs_grepos_conf_t c;
    char err[512];
    const char *spring = "server:\n  port: 8888\n"
                         "spring:\n  cloud:\n    config:\n      server:\n        git:\n"
                         "          uri: https://ignored\n"
                         "          repos:\n"
                         "            team-b:\n              pattern: team-b-*, b/dev\n"
                         "              uri: file:///b\n              searchPaths: '{application}'\n"
                         "              search-paths[1]: common\n              username: u\n"
                         "              password: p\n              clone-on-start: true\n"
                         "              refresh-rate: 5\n              default_label: v2\n"
                         "            simple: {uri: 'file:///s'}\n"
                         "            team-a:\n              pattern: [x, y]\n              uri: file:///a\n";
    assert_int_equal(cs_grepos_parse(spring, strlen(spring), &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0].name, "team-b");
    assert_int_equal(c.v[0].npattern, 2);
    assert_string_equal(c.v[0].pattern[0], "team-b-*");
    assert_string_equal(c.v[0].pattern[1], "b/dev");
    assert_string_equal(c.v[0].search_paths, "{application},common");
    assert_string_equal(c.v[0].username, "u");
    assert_string_equal(c.v[0].password, "p");
    assert_int_equal(c.v[0].refresh_s, 5);
    assert_int_equal(c.v[0].timeout_s, -1);
    assert_string_equal(c.v[0].default_label, "v2");
    assert_string_equal(c.v[1].name, "simple");
    assert_int_equal(c.v[1].npattern, 1); /* Spring: the name */
    assert_string_equal(c.v[1].pattern[0], "simple");
    assert_string_equal(c.v[2].pattern[1], "y");
    cs_grepos_free(&c);

    const char *own = "repos:\n  one:\n    pattern: '*'\n    uri: file:///one\n";
    assert_int_equal(cs_grepos_parse(own, strlen(own), &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 1);
    cs_grepos_free(&c);

    const char *bad[][2] = {
        {"repos:\n  one:\n    pattern: x\n", "has no uri"},
        {"repos:\n  one:\n    uri: x\n    passwd: y\n", "unknown key 'passwd'"},
        {"repos:\n  one:\n    uri: x\n    timeout: soon\n", "line 4"},
        {"other: 1\n", "is not under repos"},
        {"repos: {}\n", "no repository"},
        {"repos:\n  one:\n    uri: x\n    password: a\n    password-file: /f\n", "both password"},
        {"repos:\n  one: [\n", "line"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(cs_grepos_parse(bad[i][0], strlen(bad[i][0]), &c, err, sizeof(err)), -1);
        if (strstr(err, bad[i][1]) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i][1]);
        assert_int_equal(c.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_match), cmocka_unit_test(test_expand), cmocka_unit_test(test_matches),
        cmocka_unit_test(test_uri),          cmocka_unit_test(test_lru),    cmocka_unit_test(test_same_repo),
        cmocka_unit_test(test_repos_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
