/* test_searchpath.c — unit tests of the search paths (env/searchpath.c): parsing and
 * refusals (no way out of the repository), Ant-style matching, the locations of a request
 * (root first, placeholders per profile and application, wildcard matches in path order,
 * label folders last, an unknown label), and the precedence of the sources they give
 * (cs_env_collect_in: a later location first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env/environment.h"
#include "env/searchpath.h"
#include "repo/pathsafe.h"
#include "repo/snapshot.h"

static void test_parse(void **state)
{
    (void)state;
    cs_searchpaths_t sp;
    char err[512];
    assert_int_equal(cs_sp_parse(&sp,
                                 " {application} , /teams/*/ ,/, {label}/{application}-{profile},a/**/b?",
                                 err, sizeof(err)),
                     0);
    assert_int_equal(sp.n, 4); /* "/" is the root, searched anyway */
    assert_string_equal(sp.pats[0], "{application}");
    assert_string_equal(sp.pats[1], "teams/*");
    assert_string_equal(sp.pats[2], "{label}/{application}-{profile}");
    assert_string_equal(sp.pats[3], "a/**/b?");
    cs_sp_free(&sp);
    const char *bad[] = {"..",   "a/../b", "../{application}", "a/./b", ".git",   "a/.hidden", "a//b",
                         "a\\b", "{app}",  "{application",     "a b",   "x/${y}", "a%2e%2e",   "[ab]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cs_sp_parse(&sp, bad[i], err, sizeof(err)) == 0)
            fail_msg("search path '%s' was accepted", bad[i]);
        assert_non_null(strstr(err, "not allowed"));
    }
    char longp[400];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(cs_sp_parse(&sp, longp, err, sizeof(err)), -1);
}

static void test_match(void **state)
{
    (void)state;
    assert_true(cs_sp_match("teams/*", "teams/a"));
    assert_false(cs_sp_match("teams/*", "teams/a/b"));
    assert_false(cs_sp_match("teams/*", "teams"));
    assert_true(cs_sp_match("teams/**", "teams"));
    assert_true(cs_sp_match("teams/**", "teams/a/b"));
    assert_true(cs_sp_match("**/cfg", "x/y/cfg"));
    assert_true(cs_sp_match("**/cfg", "cfg"));
    assert_true(cs_sp_match("app-?", "app-1"));
    assert_false(cs_sp_match("app-?", "app-12"));
    assert_false(cs_sp_match("*", ".hidden"));
}

/* A snapshot with these folders, each holding `application.yml` with `x: <folder>`. */
static cs_snap_t *repo(const char *const *dirs, size_t n)
{
    cs_snap_build_t *b = cs_snap_build_new(NULL);
    assert_non_null(b);
    char text[256];
    snprintf(text, sizeof(text), "x: root\n");
    assert_int_equal(cs_snap_build_add(b, "application.yml", text, strlen(text)), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cs_snap_build_label(b, dirs[i]), 0);
        snprintf(text, sizeof(text), "x: %s\n", dirs[i]);
        assert_int_equal(cs_snap_build_add(b, "application.yml", text, strlen(text)), 0);
    }
    char err[256];
    cs_snap_t *s = cs_snap_build_finish(b, NULL, err, sizeof(err));
    assert_non_null(s);
    return s;
}

static void locations(const char *list, const cs_snap_t *s, const char *label, const char *app,
                      const char *profiles, cs_locs_t *out)
{
    cs_searchpaths_t sp;
    char err[256], pb[256], ab[256];
    char *prof[8], *apps[8];
    assert_int_equal(cs_sp_parse(&sp, list, err, sizeof(err)), 0);
    snprintf(pb, sizeof(pb), "%s", profiles);
    snprintf(ab, sizeof(ab), "%s", app);
    size_t np = cs_env_split_profiles(pb, prof, 8), na = cs_env_split_profiles(ab, apps, 8);
    cs_sp_locations(&sp, s, label, apps, na, prof, np, out);
    cs_sp_free(&sp);
}

static void expect(const cs_locs_t *l, const char *const *want, size_t n)
{
    for (size_t i = 0; i < l->n && i < n; i++)
        assert_string_equal(l->l[i]->name, want[i]);
    assert_int_equal(l->n, n);
}

static void test_locations(void **state)
{
    (void)state;
    const char *dirs[] = {"billing", "billing/v2", "dev", "orders", "teams", "teams/b",
                          "teams/a", "teams/a-b",  "v2",  "x",      "x/v2",  "prod"};
    cs_snap_t *s = repo(dirs, sizeof(dirs) / sizeof(dirs[0]));
    cs_locs_t l;
    /* root first; per profile then per application; the matches in path order */
    locations("{application},teams/*", s, "", "billing,orders", "default", &l);
    const char *w1[] = {"", "billing", "orders", "teams/a", "teams/a-b", "teams/b"};
    expect(&l, w1, 6);
    assert_true(l.label_found);
    locations("{profile}", s, "", "billing", "dev,prod,nosuch", &l);
    const char *w2[] = {"", "dev", "prod"};
    expect(&l, w2, 3);
    /* a label: {label} replaced; then the label's folders below the root and the plain paths */
    locations("x,{application},{label}", s, "v2", "billing", "default", &l);
    const char *w3[] = {"", "x", "billing", "v2", "x/v2"};
    expect(&l, w3, 5);
    assert_true(l.label_found);
    locations("{application}/{label}", s, "v2", "billing", "default", &l);
    const char *w4[] = {"", "billing/v2", "v2"};
    expect(&l, w4, 3);
    /* no label: {label} is master (no such folder here) */
    locations("{label}", s, "", "billing", "default", &l);
    const char *w5[] = {""};
    expect(&l, w5, 1);
    /* an unknown label */
    locations("{application}", s, "nolabel", "billing", "default", &l);
    assert_false(l.label_found);
    /* master / main are the root */
    locations("{application}", s, "main", "billing", "default", &l);
    assert_true(l.label_found);
    const char *w6[] = {"", "billing"};
    expect(&l, w6, 2);
    /* a folder found twice keeps its first place */
    locations("teams/b,teams/*", s, "", "billing", "default", &l);
    const char *w7[] = {"", "teams/b", "teams/a", "teams/a-b"};
    expect(&l, w7, 4);
    /* names that would leave the repository never get here (the URL's allow-list), and if
     * they did, only the snapshot's folders are looked up */
    assert_false(cs_path_apps_ok("../x"));
    assert_false(cs_path_apps_ok(".."));
    locations("{application}", s, "", "../billing", "default", &l);
    expect(&l, w5, 1);
    cs_snap_free(s);
}

static void test_precedence(void **state)
{
    (void)state;
    const char *dirs[] = {"billing", "teams/a", "teams/b", "v2"};
    cs_snap_t *s = repo(dirs, 4);
    cs_locs_t l;
    locations("{application},teams/*", s, "v2", "billing", "default", &l);
    cs_env_t *e = malloc(sizeof(*e));
    assert_non_null(e);
    memset(e, 0, sizeof(*e));
    char *apps[1] = {"billing"}, *prof[1] = {"default"};
    cs_env_collect_in(l.l, l.n, apps, 1, prof, 1, e);
    /* a later location first: the label folder, the search paths last to first, the root */
    const char *want[] = {"v2/application.yml", "teams/b/application.yml", "teams/a/application.yml",
                          "billing/application.yml", "application.yml"};
    assert_int_equal(e->n, 5);
    for (size_t i = 0; i < e->n; i++)
        assert_string_equal(e->src[i].file->rel, want[i]);
    free(e);
    cs_snap_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_precedence),
    };
    return cmocka_run_group_tests_name("config-server search paths", tests, NULL, NULL);
}
