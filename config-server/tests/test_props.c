/* test_props.c — unit tests of repo/props: .properties read as Spring Boot 4 reads them.
 * The expected keys, values and origins are what a real Spring Cloud Config Server 5.0.6
 * served for the same bytes (bench/config-server/compat.sh runs the side-by-side check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "repo/props.h"

static yamlconf_t parse_ok(const char *text)
{
    yamlconf_t c;
    yamlconf_err_t e;
    if (cs_props_parse(text, strlen(text), &c, &e) != 0)
        fail_msg("parse failed: %d:%d %s", e.line, e.column, e.msg);
    return c;
}

static void expect(const yamlconf_doc_t *d, const char *key, const char *val, const char *origin)
{
    const yamlconf_prop_t *p = yamlconf_doc_find(d, key);
    if (p == NULL)
        fail_msg("missing key '%s'", key);
    if (strcmp(p->text, val) != 0)
        fail_msg("key '%s': got '%s', want '%s'", key, p->text, val);
    assert_int_equal(p->type, YAMLCONF_STR);
    if (origin != NULL) {
        char o[32];
        snprintf(o, sizeof(o), "%d:%d", p->line, p->col);
        if (strcmp(o, origin) != 0)
            fail_msg("key '%s': origin %s, want %s", key, o, origin);
    }
}

/* The probe file served by Spring (values and origins copied from its v2 answer). */
static const char probe[] = "# comment\n"
                            "! bang comment\n"
                            "uni=caf\\u00e9 \\u2603\n"
                            "cont=first \\\n"
                            "     second \\\n"
                            "   third\n"
                            "back=a\\\\b\n"
                            "tabs=x\\ty\\nz\\rw\\fq\n"
                            "colon:value\n"
                            "space value here\n"
                            "key\\ with\\ spaces=v1\n"
                            "key\\:colon=v2\n"
                            "key\\=eq=v3\n"
                            "  leading.ws = trailing   \n"
                            "empty=\n"
                            "justkey\n"
                            "odd=\\q\\!\n"
                            "dup=1\n"
                            "dup=2\n"
                            "list[0]=a\n"
                            "list[1]=b\n"
                            "#---\n"
                            "spring.config.activate.on-profile=dev\n"
                            "devkey=devval\n"
                            "dup=dev\n"
                            "!---\n"
                            "spring.config.activate.on-profile=prod\n"
                            "prodkey=prodval\n";

static void test_spring_probe(void **state)
{
    (void)state;
    yamlconf_t c = parse_ok(probe);
    assert_int_equal(c.ndocs, 3);
    const yamlconf_doc_t *d = &c.docs[0];
    assert_null(d->profiles);
    expect(d, "uni", "caf\xc3\xa9 \xe2\x98\x83", "3:5");
    expect(d, "cont", "first second third", "4:6");
    expect(d, "back", "a\\b", "7:6");
    expect(d, "tabs", "x\ty\nz\rw\fq", "8:6");
    expect(d, "colon", "value", "9:7");
    expect(d, "space", "value here", "10:7");
    expect(d, "key with spaces", "v1", "11:17");
    expect(d, "key:colon", "v2", "12:11");
    expect(d, "key=eq", "v3", "13:8");
    expect(d, "leading.ws", "trailing   ", "14:16");
    expect(d, "empty", "", "16:0");
    expect(d, "justkey", "", "17:0");
    expect(d, "odd", "q!", "17:5");
    expect(d, "dup", "2", "19:5");
    expect(d, "list[0]", "a", "20:9");
    expect(d, "list[1]", "b", "21:9");
    /* order as Spring: first appearance */
    static const char *const order[] = {
        "uni",    "cont",       "back",  "tabs",    "colon", "space", "key with spaces", "key:colon",
        "key=eq", "leading.ws", "empty", "justkey", "odd",   "dup",   "list[0]",         "list[1]"};
    assert_int_equal(d->n, sizeof(order) / sizeof(order[0]));
    for (size_t i = 0; i < d->n; i++)
        assert_string_equal(d->props[i].key, order[i]);
    assert_string_equal(c.docs[1].profiles, "dev");
    expect(&c.docs[1], "spring.config.activate.on-profile", "dev", "23:35");
    expect(&c.docs[1], "devkey", "devval", "24:8");
    expect(&c.docs[1], "dup", "dev", "25:5");
    assert_string_equal(c.docs[2].profiles, "prod");
    expect(&c.docs[2], "prodkey", "prodval", NULL);
    yamlconf_free(&c);
}

static void test_line_ends_and_latin1(void **state)
{
    (void)state;
    yamlconf_t c = parse_ok("crlf=a\r\ncont2=x\\\r\n  y\r\nlast=z");
    assert_int_equal(c.ndocs, 1);
    expect(&c.docs[0], "crlf", "a", "1:6");
    expect(&c.docs[0], "cont2", "xy", "2:7");
    expect(&c.docs[0], "last", "z", "4:6");
    yamlconf_free(&c);
    c = parse_ok("cr=1\rnext=2\r");
    expect(&c.docs[0], "next", "2", "2:6");
    yamlconf_free(&c);
    /* ISO-8859-1: a raw UTF-8 é is two characters (Spring served "cafÃ©"); a Latin-1 é is one */
    c = parse_ok("raw=caf\xc3\xa9\nlatin=caf\xe9\n");
    expect(&c.docs[0], "raw", "caf\xc3\x83\xc2\xa9", NULL);
    expect(&c.docs[0], "latin", "caf\xc3\xa9", NULL);
    yamlconf_free(&c);
    /* surrogate pairs join, lone surrogates become U+FFFD */
    c = parse_ok("smile=\\ud83d\\ude00\nlone=\\ud83dx\n");
    expect(&c.docs[0], "smile", "\xf0\x9f\x98\x80", NULL);
    expect(&c.docs[0], "lone", "\xef\xbf\xbdx", NULL);
    yamlconf_free(&c);
}

static void test_documents(void **state)
{
    (void)state;
    /* a comment line right after a separator takes the separator back (Boot) */
    yamlconf_t c = parse_ok("a=1\n#---\n# note\nb=2\n");
    assert_int_equal(c.ndocs, 1);
    expect(&c.docs[0], "b", "2", NULL);
    yamlconf_free(&c);
    /* not separators: indented, more hyphens, trailing text, right after a '#' comment */
    c = parse_ok("a=1\n  #---\nb=2\n#----\nc=3\n#--- x\nd=4\n# c\n#---\ne=5\n");
    assert_int_equal(c.ndocs, 1);
    yamlconf_free(&c);
    /* trailing blanks after the separator are fine; a blank line resets "previous comment" */
    c = parse_ok("a=1\n# c\n\n#---   \nb=2\n!---\n!---\nc=3\n");
    assert_int_equal(c.ndocs, 3);
    expect(&c.docs[1], "b", "2", NULL);
    expect(&c.docs[2], "c", "3", NULL);
    yamlconf_free(&c);
    /* empty documents vanish; profiles from the activation key */
    c = parse_ok("#---\n#---\nspring.config.activate.on-profile=a | b\nk=v\n");
    assert_int_equal(c.ndocs, 1);
    assert_string_equal(c.docs[0].profiles, "a | b");
    yamlconf_free(&c);
    c = parse_ok("");
    assert_int_equal(c.ndocs, 0);
    yamlconf_free(&c);
}

static void test_lists_and_keys(void **state)
{
    (void)state;
    yamlconf_t c = parse_ok("l[]=a, b,c\\,d\nm[]=\nn[]=x,\n  k1  =  v  \nk2:=v\nk3 v3\n\\#notcomment=1\n"
                            "k\\\n  4=v4\n=noval\n");
    const yamlconf_doc_t *d = &c.docs[0];
    expect(d, "l[0]", "a", "1:5");
    expect(d, "l[1]", "b", "1:8");
    expect(d, "l[2]", "c,d", "1:10");
    expect(d, "m[0]", "", NULL);
    expect(d, "n[0]", "x", NULL);
    assert_null(yamlconf_doc_find(d, "n[1]"));
    expect(d, "k1", "v  ", NULL);
    expect(d, "k2", "=v", NULL);
    expect(d, "k3", "v3", NULL);
    expect(d, "k4", "v4", NULL);
    assert_null(yamlconf_doc_find(d, "#notcomment")); /* an escaped # still starts a comment (Boot) */
    assert_null(yamlconf_doc_find(d, ""));            /* an empty key is dropped */
    yamlconf_free(&c);
}

static void test_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"a=\\u12g4\n", "a=\\u12", "a=b\\u0000\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        yamlconf_t c;
        yamlconf_err_t e;
        assert_int_equal(cs_props_parse(bad[i], strlen(bad[i]), &c, &e), -1);
        assert_true(e.msg[0] != '\0' && e.line >= 1);
        assert_int_equal(c.ndocs, 0);
    }
    yamlconf_t c;
    yamlconf_err_t e;
    assert_int_equal(cs_props_parse("k=a\0b", 5, &c, &e), -1);
    /* a million continuation lines: no recursion, no crash */
    static char big[3 << 20];
    size_t n = 0;
    memcpy(big, "k=", 2);
    n = 2;
    while (n + 3 < sizeof(big)) {
        memcpy(big + n, "x\\\n", 3);
        n += 3;
    }
    assert_int_equal(cs_props_parse(big, n, &c, &e), 0);
    assert_int_equal(strlen(c.docs[0].props[0].text), (n - 2) / 3);
    yamlconf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spring_probe), cmocka_unit_test(test_line_ends_and_latin1),
        cmocka_unit_test(test_documents),    cmocka_unit_test(test_lists_and_keys),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
