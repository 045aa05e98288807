/* test_overrides.c — unit tests of the server-side overrides (env/overrides.c): Java's
 * String hash and HashMap order (vectors printed by OpenJDK 17, the Spring peer's JVM),
 * Spring's unescaping, key=value and YAML input, refused input, the "overrides" source in
 * the JSON Environment (first, v2 origins), the merge (overrides win, lists replaced) and
 * placeholders resolved against them; an application without files served the overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "env/environment.h"
#include "env/overrides.h"
#include "repo/snapshot.h"

static void add(cs_overrides_t *o, const char *arg)
{
    char err[256];
    if (cs_ovr_add_arg(o, arg, err, sizeof(err)) != 0)
        fail_msg("%s: %s", arg, err);
}

static void test_java_hash(void **state)
{
    (void)state;
    /* String.hashCode() on OpenJDK 17 */
    assert_int_equal(cs_ovr_java_hash("server.port"), -803949492);
    assert_int_equal(cs_ovr_java_hash("list[0]"), 181960298);
    assert_int_equal(cs_ovr_java_hash("a.b"), 94741);
    assert_int_equal(cs_ovr_java_hash("billing.name"), -1468996066);
    assert_int_equal(cs_ovr_java_hash("\xc3\xa9"), 233);                     /* é */
    assert_int_equal(cs_ovr_java_hash("key.\xf0\x9f\x98\x80"), -1132950702); /* a surrogate pair */
    assert_int_equal(cs_ovr_java_hash("spring.datasource.password"), 1139587267);
    assert_int_equal(cs_ovr_java_hash(""), 0);
}

static void test_hashmap_order(void **state)
{
    (void)state;
    /* new HashMap<>(linkedHashMapOfTheseKeys).keySet() on OpenJDK 17 */
    const char *given[] = {"server.port",
                           "list[0]",
                           "a.b",
                           "billing.name",
                           "x",
                           "y",
                           "z",
                           "\xc3\xa9",
                           "key.\xf0\x9f\x98\x80",
                           "spring.datasource.password",
                           "logging.level.root",
                           "foo",
                           "bar"};
    const char *java[] = {"foo",
                          "\xc3\xa9",
                          "key.\xf0\x9f\x98\x80",
                          "billing.name",
                          "spring.datasource.password",
                          "list[0]",
                          "bar",
                          "a.b",
                          "server.port",
                          "x",
                          "y",
                          "z",
                          "logging.level.root"};
    cs_overrides_t o;
    cs_ovr_init(&o);
    char err[256];
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
        assert_int_equal(cs_ovr_add(&o, given[i], "v", err, sizeof(err)), 0);
    cs_ovr_finish(&o);
    assert_int_equal(o.n, sizeof(java) / sizeof(java[0]));
    for (size_t i = 0; i < o.n; i++)
        assert_string_equal(o.ents[i].key, java[i]);
    cs_ovr_free(&o);
    /* four keys: a table of 8, here the order given */
    cs_ovr_init(&o);
    add(&o, "server.port=1");
    add(&o, "list[0]=2");
    add(&o, "a.b=3");
    add(&o, "billing.name=4");
    add(&o, "server.port=5"); /* given again: the new value, the old place */
    cs_ovr_finish(&o);
    assert_int_equal(o.n, 4);
    assert_string_equal(o.ents[0].key, "server.port");
    assert_string_equal(o.ents[0].value, "5");
    assert_string_equal(o.ents[3].key, "billing.name");
    cs_ovr_free(&o);
}

static void test_unescape_and_refusals(void **state)
{
    (void)state;
    cs_overrides_t o;
    cs_ovr_init(&o);
    add(&o, "a=\\${app.foo:bar}");
    add(&o, "b=x\\{y\\}");
    add(&o, "c=\\${p}\\{q}"); /* both: Spring keeps the \${ replacement */
    add(&o, "d=");
    add(&o, "e=k=v");
    add(&o, "f={cipher}abc");
    assert_string_equal(o.ents[0].value, "${app.foo:bar}");
    assert_string_equal(o.ents[1].value, "x{y\\}");
    assert_string_equal(o.ents[2].value, "${p}\\{q}");
    assert_string_equal(o.ents[3].value, "");
    assert_string_equal(o.ents[4].value, "k=v");
    assert_string_equal(o.ents[5].value, "{cipher}abc");
    char err[256];
    assert_int_equal(cs_ovr_add_arg(&o, "novalue", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "key=value"));
    assert_int_equal(cs_ovr_add_arg(&o, "=v", err, sizeof(err)), -1);
    assert_int_equal(cs_ovr_add(&o, "a\nb", "v", err, sizeof(err)), -1);
    assert_int_equal(cs_ovr_add(&o, "k", "\xc0\xae", err, sizeof(err)), -1);
    assert_int_equal(cs_ovr_add(&o, "k", "bell\a", err, sizeof(err)), -1);
    assert_int_equal(cs_ovr_add(&o, "k", "two\nlines", err, sizeof(err)), 0);
    cs_ovr_free(&o);
}

static void test_yaml(void **state)
{
    (void)state;
    cs_overrides_t o;
    cs_ovr_init(&o);
    char err[256];
    const char *plain = "logging:\n  level: {root: WARN}\nport: 0x10\nratio: 1.50\non: yes\nnone:\n"
                        "hosts: [a, b]\nq: '42'\n";
    assert_int_equal(cs_ovr_add_yaml(&o, plain, strlen(plain), err, sizeof(err)), 0);
    const char *want[][2] = {{"logging.level.root", "WARN"},
                             {"port", "16"},
                             {"ratio", "1.5"},
                             {"on", "true"},
                             {"none", ""},
                             {"hosts[0]", "a"},
                             {"hosts[1]", "b"},
                             {"q", "42"}};
    assert_int_equal(o.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < o.n; i++) {
        assert_string_equal(o.ents[i].key, want[i][0]);
        assert_string_equal(o.ents[i].value, want[i][1]);
    }
    cs_ovr_free(&o);
    /* a Spring server's application.yml: only its overrides */
    const char *spring =
        "server:\n  port: 8888\nspring:\n  cloud:\n    config:\n      server:\n"
        "        overrides:\n          foo: bar\n          a: {b: c}\n---\n"
        "spring.config.activate.on-profile: prod\nspring.cloud.config.server.overrides.p: 1\n";
    cs_ovr_init(&o);
    assert_int_equal(cs_ovr_add_yaml(&o, spring, strlen(spring), err, sizeof(err)), 0);
    assert_int_equal(o.n, 2);
    assert_string_equal(o.ents[0].key, "foo");
    assert_string_equal(o.ents[1].key, "a.b");
    assert_string_equal(o.ents[1].value, "c");
    assert_int_equal(cs_ovr_add_yaml(&o, "a: [", 4, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line"));
    cs_ovr_free(&o);
}

static cs_snap_t *one_file_repo(const char *yaml)
{
    char err[256];
    cs_snap_build_t *b = cs_snap_build_new(NULL);
    assert_non_null(b);
    assert_int_equal(cs_snap_build_add(b, "billing.yml", yaml, strlen(yaml)), 0);
    cs_snap_t *s = cs_snap_build_finish(b, NULL, err, sizeof(err));
    assert_non_null(s);
    return s;
}

static void collect(const cs_snap_t *s, const char *app, const cs_overrides_t *o, cs_env_t *e)
{
    char *apps[1] = {(char *)app}, *prof[1] = {"default"};
    memset(&e->crypt, 0, sizeof(e->crypt));
    e->ovr = o;
    cs_env_collect(s, cs_snap_label(s, NULL), apps, 1, prof, 1, e);
}

static char *dump(const json_t *j, cs_jnum_t *jn)
{
    dbuf_t d;
    dbuf_init(&d, 1u << 20);
    assert_int_equal(cs_jnum_dump(jn, j, &d), 0);
    char *out = strdup(dbuf_ptr(&d));
    dbuf_free(&d);
    return out;
}

static void test_environment(void **state)
{
    (void)state;
    cs_snap_t *s =
        one_file_repo("server:\n  port: 8080\nhosts: [a, b, c]\nurl: http://${host}:${server.port}\n"
                      "host: files\n");
    cs_overrides_t o;
    cs_ovr_init(&o);
    add(&o, "server.port=9999");
    add(&o, "hosts[0]=z");
    add(&o, "host=over");
    add(&o, "only=${server.port}");
    cs_ovr_finish(&o);
    cs_env_t *e = malloc(sizeof(*e));
    assert_non_null(e);
    collect(s, "billing", &o, e);
    assert_int_equal(e->n, 1);
    assert_true(cs_env_has_overrides(e));
    cs_jnum_t jn;
    assert_int_equal(cs_jnum_init(&jn), 0);
    cs_srcnames_t names = {.dir = "/r"};
    json_t *j = cs_env_json(e, &jn, "billing", "default", NULL, "v", &names, 0);
    char *text = dump(j, &jn);
    assert_non_null(strstr(text, "\"propertySources\":[{\"name\":\"overrides\",\"source\":{"));
    assert_non_null(strstr(text, "\"server.port\":\"9999\""));
    assert_non_null(strstr(text, "},{\"name\":\"file:/r/billing.yml\""));
    free(text);
    json_decref(j);
    j = cs_env_json(e, &jn, "billing", "default", NULL, "v", &names, 1);
    text = dump(j, &jn);
    assert_non_null(
        strstr(text, "\"server.port\":{\"value\":\"9999\",\"origin\":\"Config server overrides\"}"));
    free(text);
    json_decref(j);

    int bad = 0;
    char err[256];
    json_t *flat = cs_env_merge(e, &jn, 1, &bad, err, sizeof(err));
    assert_non_null(flat);
    assert_string_equal(json_string_value(json_object_get(flat, "server.port")), "9999");
    assert_string_equal(json_string_value(json_object_get(flat, "url")), "http://over:9999");
    assert_string_equal(json_string_value(json_object_get(flat, "only")), "9999");
    /* the override's list replaces the file's whole list */
    assert_string_equal(json_string_value(json_object_get(flat, "hosts[0]")), "z");
    assert_null(json_object_get(flat, "hosts[1]"));
    json_decref(flat);

    /* an application without files: the overrides alone */
    cs_snap_t *none = one_file_repo("x: 1\n");
    collect(none, "nosuchapp", &o, e);
    assert_int_equal(e->n, 0);
    j = cs_env_json(e, &jn, "nosuchapp", "default", NULL, "v", &names, 0);
    text = dump(j, &jn);
    assert_non_null(strstr(text, "\"propertySources\":[{\"name\":\"overrides\""));
    free(text);
    json_decref(j);
    /* no overrides: no such source */
    collect(s, "billing", NULL, e);
    assert_false(cs_env_has_overrides(e));
    j = cs_env_json(e, &jn, "billing", "default", NULL, "v", &names, 0);
    text = dump(j, &jn);
    assert_null(strstr(text, "\"overrides\""));
    free(text);
    json_decref(j);
    cs_jnum_free(&jn);
    free(e);
    cs_ovr_free(&o);
    cs_snap_free(s);
    cs_snap_free(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_java_hash),
        cmocka_unit_test(test_hashmap_order),
        cmocka_unit_test(test_unescape_and_refusals),
        cmocka_unit_test(test_yaml),
        cmocka_unit_test(test_environment),
    };
    return cmocka_run_group_tests_name("config-server overrides", tests, NULL, NULL);
}
