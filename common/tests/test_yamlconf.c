/* test_yamlconf.c — unit tests of common/yamlconf: flattening, Spring typing, profile
 * detection per document, merge keys, error positions and the safety limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ts.h"
#include "yamlconf.h"

static const yamlconf_prop_t *get(const yamlconf_doc_t *d, const char *k)
{
    const yamlconf_prop_t *p = yamlconf_doc_find(d, k);
    if (p == NULL)
        fail_msg("missing key %s", k);
    return p;
}

static void test_flatten_and_types(void **state)
{
    (void)state;
    const char *y = "server:\n  port: 8080\n"
                    "a:\n  b:\n    - x\n    - c: 1.5\n      d: yes\n"
                    "q: \"42\"\n"
                    "n: ~\n"
                    "e:\n"
                    "hex: 0x1F\n"
                    "neg: -12\n"
                    "off: OFF\n"
                    "s: hello world\n"
                    "big: 99999999999999999999999\n"
                    "ver: 1.2.3\n"
                    "empty_list: []\n"
                    "empty_map: {}\n"
                    "lit: |\n  line1\n  line2\n"
                    "inf: .inf\n"
                    "'[weird.key]': v\n";
    yamlconf_t c;
    yamlconf_err_t e;
    assert_int_equal(yamlconf_parse(y, strlen(y), NULL, &c, &e), 0);
    assert_int_equal(c.ndocs, 1);
    const yamlconf_doc_t *d = &c.docs[0];
    assert_string_equal(d->props[0].key, "server.port");
    assert_int_equal(get(d, "server.port")->type, YAMLCONF_INT);
    assert_int_equal(get(d, "server.port")->i, 8080);
    assert_string_equal(get(d, "a.b[0]")->text, "x");
    assert_int_equal(get(d, "a.b[1].c")->type, YAMLCONF_FLOAT);
    assert_true(get(d, "a.b[1].d")->type == YAMLCONF_BOOL && get(d, "a.b[1].d")->b == 1);
    assert_int_equal(get(d, "q")->type, YAMLCONF_STR);
    assert_int_equal(get(d, "n")->type, YAMLCONF_NULL);
    assert_int_equal(get(d, "e")->type, YAMLCONF_NULL);
    assert_int_equal(get(d, "hex")->i, 31);
    assert_int_equal(get(d, "neg")->i, -12);
    assert_true(get(d, "off")->type == YAMLCONF_BOOL && get(d, "off")->b == 0);
    assert_int_equal(get(d, "s")->type, YAMLCONF_STR);
    assert_int_equal(get(d, "big")->type, YAMLCONF_BIGINT); /* Java BigInteger, as Spring serves it */
    assert_string_equal(get(d, "big")->text, "99999999999999999999999");
    assert_int_equal(get(d, "ver")->type, YAMLCONF_STR);
    assert_string_equal(get(d, "empty_list")->text, "");
    assert_null(yamlconf_doc_find(d, "empty_map")); /* Spring Boot adds no key for an empty map */
    assert_string_equal(get(d, "lit")->text, "line1\nline2\n");
    assert_int_equal(get(d, "inf")->type, YAMLCONF_FLOAT);
    assert_non_null(yamlconf_doc_find(d, "[weird.key]"));

    json_t *j = yamlconf_prop_json(get(d, "server.port"));
    assert_true(json_is_integer(j));
    json_decref(j);
    j = yamlconf_prop_json(get(d, "q"));
    assert_string_equal(json_string_value(j), "42");
    json_decref(j);
    j = yamlconf_prop_json(get(d, "n"));
    assert_string_equal(json_string_value(j), "");
    json_decref(j);
    j = yamlconf_prop_json(get(d, "inf"));
    assert_true(json_is_string(j));
    json_decref(j);
    yamlconf_free(&c);
}

static void test_documents_and_profiles(void **state)
{
    (void)state;
    const char *y = "a: 1\n---\nspring:\n  config:\n    activate:\n      on-profile: dev\na: 2\n"
                    "---\nspring.profiles: [k8s, prod]\na: 3\n---\n";
    yamlconf_t c;
    yamlconf_err_t e;
    assert_int_equal(yamlconf_parse(y, strlen(y), NULL, &c, &e), 0);
    assert_int_equal(c.ndocs, 4); /* the trailing "---" is an empty document */
    assert_int_equal(c.docs[3].n, 0);
    assert_null(c.docs[0].profiles);
    assert_string_equal(c.docs[1].profiles, "dev");
    assert_string_equal(c.docs[2].profiles, "k8s,prod");
    assert_int_equal(get(&c.docs[2], "a")->i, 3);
    yamlconf_free(&c);
}

static void test_merge_keys(void **state)
{
    (void)state;
    const char *y = "base: &b\n  x: 1\n  y: 2\nderived:\n  <<: *b\n  y: 3\n";
    yamlconf_t c;
    yamlconf_err_t e;
    assert_int_equal(yamlconf_parse(y, strlen(y), NULL, &c, &e), 0);
    assert_int_equal(get(&c.docs[0], "derived.x")->i, 1);
    assert_int_equal(get(&c.docs[0], "derived.y")->i, 3);
    assert_int_equal(c.docs[0].n, 4);
    yamlconf_free(&c);
}

static void expect_error(const char *y, size_t len, const yamlconf_limits_t *lim, const char *needle,
                         int line)
{
    yamlconf_t c;
    yamlconf_err_t e;
    assert_int_equal(yamlconf_parse(y, len, lim, &c, &e), -1);
    assert_int_equal(c.ndocs, 0);
    if (strstr(e.msg, needle) == NULL)
        fail_msg("error '%s' lacks '%s'", e.msg, needle);
    if (line > 0)
        assert_int_equal(e.line, line);
}

static void test_errors_and_limits(void **state)
{
    (void)state;
    expect_error("a: 1\nb: [\n", 10, NULL, "", 0);
    expect_error("a:\n\tb: 1\n", 9, NULL, "", 2);
    expect_error("a: 1\na: 2\n", 10, NULL, "duplicate key 'a'", 2);
    expect_error("a: \xff\xfe\n", 6, NULL, "", 1);
    yamlconf_limits_t small = {.max_bytes = 8};
    expect_error("a: 123456789\n", 13, &small, "exceed", 0);
    /* deep nesting */
    char deep[4096] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    for (int i = 0; i < 100; i++)
        strcat(deep, "]");
    char doc[4200];
    snprintf(doc, sizeof(doc), "a: %s\n", deep);
    expect_error(doc, strlen(doc), NULL, "nesting deeper", 1);
    /* billion laughs */
    const char *bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
    expect_error(bomb, strlen(bomb), NULL, "nodes after alias expansion", 0);
    /* a self-referencing alias */
    const char *self = "a: &x\n  b: *x\n";
    yamlconf_t c;
    yamlconf_err_t e;
    int rc = yamlconf_parse(self, strlen(self), NULL, &c, &e);
    if (rc == 0)
        yamlconf_free(&c);
    /* either libyaml rejects it or our depth limit stops it: no hang, no crash */
    expect_error("? [a]\n: 1\n", 10, NULL, "scalar mapping keys", 1);
}

static void test_type_plain(void **state)
{
    (void)state;
    yamlconf_prop_t p;
    const struct {
        const char *t;
        yamlconf_type_t ty;
    } cases[] = {{"0", YAMLCONF_INT},
                 {"010", YAMLCONF_INT},
                 {"1_000", YAMLCONF_INT},
                 {"+5", YAMLCONF_INT},
                 {"1e5", YAMLCONF_FLOAT},
                 {"-.5", YAMLCONF_FLOAT},
                 {"3.", YAMLCONF_FLOAT},
                 {"True", YAMLCONF_BOOL},
                 {"tRue", YAMLCONF_STR},
                 {"y", YAMLCONF_STR},
                 {"NULL", YAMLCONF_NULL},
                 {"0x", YAMLCONF_STR},
                 {"12ab", YAMLCONF_STR},
                 {".", YAMLCONF_STR},
                 {"-", YAMLCONF_STR},
                 /* as Spring Boot 4 served them (bench/config-server/compat.sh) */
                 {"09", YAMLCONF_STR},
                 {".5e3", YAMLCONF_FLOAT},
                 {"+.5", YAMLCONF_FLOAT},
                 {"1:20", YAMLCONF_INT},
                 {"190:20:30.15", YAMLCONF_FLOAT},
                 {"9223372036854775808", YAMLCONF_BIGINT},
                 {"0x", YAMLCONF_STR}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&p, 0, sizeof(p));
        yamlconf_type_plain(cases[i].t, &p);
        if (p.type != cases[i].ty)
            fail_msg("'%s' typed %d, want %d", cases[i].t, p.type, cases[i].ty);
    }
    memset(&p, 0, sizeof(p));
    yamlconf_type_plain("010", &p);
    assert_int_equal(p.i, 8);
}

/* Mutations of a document using most of what the parser handles (nesting, lists, anchors,
 * merge keys, several documents, profiles, quoting): each parse ends in 0 or -1 with a
 * message, and nothing crashes or leaks (the suite runs under ASan/UBSan). */
static void test_fuzz_mutations(void **state)
{
    (void)state;
    static const char doc[] = "base: &b\n  host: h\n  port: 5432\n"
                              "server:\n  <<: *b\n  list: [1, 2.5, true, ~, \"q\\u00e9\"]\n"
                              "  items:\n    - a: 1\n      b: 'x'\n    - c\n"
                              "---\nspring:\n  config:\n    activate:\n      on-profile: prod\n"
                              "x: !!str 12\nlong: |\n  text\n  more\n";
    static const char alphabet[] = ":-[]{},&*!|>'\"#<~ \n\t%@`?\\0aZ9\xc3\xa9\xff";
    char buf[512];
    unsigned int seed = 99;
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        size_t len = sizeof doc - 1;
        memcpy(buf, doc, len);
        len = ts_mutate(buf, len, sizeof buf, alphabet, &seed);
        yamlconf_t c;
        yamlconf_err_t e;
        memset(&e, 0, sizeof e);
        if (yamlconf_parse(buf, len, NULL, &c, &e) == 0) {
            ok++;
            yamlconf_free(&c);
        } else {
            assert_true(e.msg[0] != '\0');
        }
    }
    assert_true(ok > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flatten_and_types), cmocka_unit_test(test_documents_and_profiles),
        cmocka_unit_test(test_merge_keys),        cmocka_unit_test(test_errors_and_limits),
        cmocka_unit_test(test_type_plain),        cmocka_unit_test(test_fuzz_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
