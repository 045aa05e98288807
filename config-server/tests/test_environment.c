/* test_environment.c — unit tests of precedence (Spring native order), flattening and
 * typing in the JSON Environment, list replacement when merging, placeholders, profile
 * expressions, the rendered forms, and snapshot loading errors — on the fixture repo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env/environment.h"
#include "env/placeholder.h"
#include "env/render.h"
#include "repo/snapshot.h"

static cs_snap_t *load_fixture(void)
{
    char err[512];
    cs_snap_t *s = cs_snap_load(CS_FIXTURE_REPO, NULL, err, sizeof(err));
    if (s == NULL)
        fail_msg("fixture: %s", err);
    return s;
}

/* cs_env_collect for one application, no key. */
static void collect(const cs_snap_t *s, const cs_label_t *l, const char *app, char **prof, size_t np,
                    cs_env_t *e)
{
    char *apps[1] = {(char *)app};
    memset(&e->crypt, 0, sizeof(e->crypt));
    e->ovr = NULL;
    cs_env_collect(s, l, apps, 1, prof, np, e);
}

static const char *src_name(const cs_env_t *e, size_t i, char *buf, size_t size)
{
    snprintf(buf, size, "%s#%zu", e->src[i].file->rel, e->src[i].docidx);
    return buf;
}

static void test_precedence(void **state)
{
    (void)state;
    cs_snap_t *s = load_fixture();
    char pb[] = "dev,prod";
    char *prof[4];
    size_t np = cs_env_split_profiles(pb, prof, 4);
    cs_env_t e;
    collect(s, cs_snap_label(s, NULL), "billing", prof, np, &e);
    /* the order Spring Cloud Config Server 5.0.6 (native) gives for the same repo */
    const char *want[] = {"billing-prod.yml#0",    "billing-dev.yml#1", "billing-dev.yml#0",
                          "application-dev.yml#0", "billing.yml#0",     "application.yml#1",
                          "application.yml#0"};
    char buf[256];
    assert_int_equal(e.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < e.n; i++)
        assert_string_equal(src_name(&e, i, buf, sizeof(buf)), want[i]);

    /* label overlay first, then the root */
    char pd[] = "default";
    np = cs_env_split_profiles(pd, prof, 4);
    collect(s, cs_snap_label(s, "v2"), "billing", prof, np, &e);
    assert_string_equal(src_name(&e, 0, buf, sizeof(buf)), "v2/billing.yml#0");
    assert_string_equal(src_name(&e, 1, buf, sizeof(buf)), "billing.yml#0");
    assert_null(cs_snap_label(s, "nope"));
    assert_true(cs_snap_label(s, "main") == cs_snap_label(s, "master"));
    assert_true(cs_snap_has_app(s, NULL, "billing"));
    assert_true(cs_snap_has_app(s, NULL, "legacy"));
    assert_false(cs_snap_has_app(s, NULL, "bill"));
    cs_snap_free(s);
}

static void test_json_and_typing(void **state)
{
    (void)state;
    cs_snap_t *s = load_fixture();
    char pb[] = "dev";
    char *prof[4];
    size_t np = cs_env_split_profiles(pb, prof, 4);
    cs_env_t e;
    collect(s, cs_snap_label(s, NULL), "billing", prof, np, &e);
    cs_jnum_t jn;
    assert_int_equal(cs_jnum_init(&jn), 0);
    json_t *j = cs_env_json(&e, &jn, "billing", "dev", NULL, s->version, &(cs_srcnames_t){.dir = "/repo"}, 0);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "billing");
    assert_true(json_is_null(json_object_get(j, "label")));
    assert_string_equal(json_string_value(json_object_get(j, "version")), s->version);
    json_t *ps = json_object_get(j, "propertySources");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(ps, 0), "name")),
        "Config resource 'file [/repo/billing-dev.yml]' via location 'file:/repo/' (document #1)");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 3), "name")),
                        "file:/repo/billing.yml");
    json_t *billing = json_object_get(json_array_get(ps, 3), "source");
    assert_true(json_is_integer(json_object_get(billing, "server.port")));
    assert_true(json_is_string(json_object_get(billing, "billing.quoted-number")));
    assert_true(json_is_true(json_object_get(billing, "billing.enabled")));
    const cs_jnum_ent_t *ratio = cs_jnum_get(&jn, json_object_get(billing, "billing.ratio"));
    assert_non_null(ratio); /* a double, written as Java writes it */
    assert_string_equal(ratio->text, "0.75");
    assert_string_equal(json_string_value(json_object_get(billing, "billing.nothing")), "");
    assert_string_equal(json_string_value(json_object_get(billing, "billing.hosts[1]")), "beta");
    /* the JSON form keeps placeholders raw (the client resolves them) */
    assert_non_null(
        strstr(json_string_value(json_object_get(billing, "billing.url")), "${billing.host:localhost}"));
    json_decref(j);
    j = cs_env_json(&e, &jn, "billing", "dev", "master", s->version, &(cs_srcnames_t){.dir = "/repo"}, 1);
    ps = json_object_get(j, "propertySources");
    json_t *v = json_object_get(json_object_get(json_array_get(ps, 1), "source"), "server.port");
    assert_int_equal(json_integer_value(json_object_get(v, "value")), 9090);
    assert_string_equal(json_string_value(json_object_get(v, "origin")), "2:9"); /* Spring's line:column */
    json_decref(j);
    cs_jnum_free(&jn);
    cs_snap_free(s);
}

static void test_merge_lists_placeholders(void **state)
{
    (void)state;
    cs_snap_t *s = load_fixture();
    char pb[] = "dev";
    char *prof[4];
    size_t np = cs_env_split_profiles(pb, prof, 4);
    cs_env_t e;
    collect(s, cs_snap_label(s, NULL), "billing", prof, np, &e);
    cs_jnum_t jn;
    assert_int_equal(cs_jnum_init(&jn), 0);
    int bad = 0;
    char err[256];
    json_t *flat = cs_env_merge(&e, &jn, 1, &bad, err, sizeof(err));
    assert_string_equal(json_string_value(json_object_get(flat, "billing.hosts[0]")), "gamma");
    assert_null(json_object_get(flat, "billing.hosts[1]")); /* list replaced, not merged */
    assert_string_equal(json_string_value(json_object_get(flat, "shared.list[0]")), "dev-only");
    assert_null(json_object_get(flat, "shared.list[1]"));
    assert_int_equal(json_integer_value(json_object_get(flat, "server.port")), 9090);
    assert_string_equal(json_string_value(json_object_get(flat, "billing.url")),
                        "http://dev.example:9090/api");
    assert_string_equal(json_string_value(json_object_get(flat, "billing.escaped")), "${not.resolved}");
    assert_string_equal(json_string_value(json_object_get(flat, "billing.unresolved")), "${no.such.key}");
    assert_string_equal(json_string_value(json_object_get(flat, "app-name")), "billing");
    assert_string_equal(json_string_value(json_object_get(flat, "shared.greeting")),
                        "hello from application dev document");
    assert_null(json_object_get(flat, "spring.profiles"));
    assert_non_null(json_object_get(flat, "spring.config.activate.on-profile")); /* Spring keeps it */

    dbuf_t out;
    dbuf_init(&out, 1 << 20);
    assert_int_equal(cs_render_yaml(&jn, flat, &out), 0);
    assert_non_null(strstr(dbuf_ptr(&out), "quoted-number: '42'"));
    assert_non_null(strstr(dbuf_ptr(&out), "  port: 9090\n"));
    assert_non_null(strstr(dbuf_ptr(&out), "  - gamma\n"));
    dbuf_reset(&out);
    assert_int_equal(cs_render_properties(&jn, flat, &out), 0);
    assert_non_null(strstr(dbuf_ptr(&out), "\nbilling.hosts[0]: gamma"));
    dbuf_free(&out);
    json_t *nested = cs_render_nest(flat);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_object_get(nested, "billing"), "hosts"), 0)),
        "gamma");
    json_decref(nested);
    json_decref(flat);

    flat = cs_env_merge(&e, &jn, 0, &bad, err, sizeof(err));
    assert_non_null(strstr(json_string_value(json_object_get(flat, "billing.url")), "${"));
    json_decref(flat);
    cs_jnum_free(&jn);
    cs_snap_free(s);
}

static void test_placeholder_edges(void **state)
{
    (void)state;
    cs_jnum_t jn;
    assert_int_equal(cs_jnum_init(&jn), 0);
    json_t *flat = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s}", "a", "${b}", "b", "${a}", "x", "X", "n", 5,
                             "nest", "${missing:${x}}", "self", "${self}", "twice", "${x}${x}");
    char *r = NULL, key[64];
    assert_int_equal(cs_ph_resolve(flat, &jn,
                                   "[${x}] ${n} ${missing:def} ${missing} ${nest} ${twice} ${unterminated",
                                   &r, key, sizeof(key)),
                     CS_PH_OK);
    assert_string_equal(r, "[X] 5 def ${missing} X XX ${unterminated");
    free(r);
    assert_int_equal(cs_ph_resolve(flat, &jn, "\\${x} ${x:}", &r, key, sizeof(key)), CS_PH_OK);
    assert_string_equal(r, "${x} X");
    free(r);
    /* cycles are errors, as Spring's "Circular placeholder reference" */
    assert_int_equal(cs_ph_resolve(flat, &jn, "${a}", &r, key, sizeof(key)), CS_PH_CYCLE);
    assert_null(r);
    assert_true(strcmp(key, "a") == 0 || strcmp(key, "b") == 0);
    assert_int_equal(cs_ph_resolve(flat, &jn, "x ${self}", &r, key, sizeof(key)), CS_PH_CYCLE);
    assert_string_equal(key, "self");
    assert_int_equal(cs_ph_resolve(flat, &jn, "${nope:${self}}", &r, key, sizeof(key)), CS_PH_CYCLE);
    json_decref(flat);
    /* exponential expansion stops at the cap instead of eating memory */
    flat = json_object();
    char k[16], v[48];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "${k%d}${k%d}", i + 1, i + 1);
        json_object_set_new(flat, k, json_string(i == 39 ? "xxxxxxxx" : v));
    }
    assert_int_equal(cs_ph_resolve(flat, &jn, "${k0}", &r, key, sizeof(key)), CS_PH_TOO_BIG);
    json_decref(flat);
    cs_jnum_free(&jn);
}

static void test_profile_expressions(void **state)
{
    (void)state;
    char *p[] = {"dev", "cloud"};
    assert_true(cs_env_profile_match("dev", p, 2));
    assert_true(cs_env_profile_match("prod,dev", p, 2));
    assert_false(cs_env_profile_match("prod", p, 2));
    assert_true(cs_env_profile_match("!prod", p, 2));
    assert_false(cs_env_profile_match("!dev", p, 2));
    assert_true(cs_env_profile_match("dev & cloud", p, 2));
    assert_false(cs_env_profile_match("dev & prod", p, 2));
    assert_true(cs_env_profile_match("prod | cloud", p, 2));
    assert_true(cs_env_profile_match("(dev & !prod)", p, 2));
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/cs-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char err[512];
    write_file(dir, "good.yml", "a: 1\n");
    cs_snap_t *s = cs_snap_load(dir, NULL, err, sizeof(err));
    assert_non_null(s);
    char v1[41];
    memcpy(v1, s->version, sizeof(v1));
    cs_snap_free(s);
    /* a broken file does not fail the snapshot: it is kept, marked, with the reason */
    write_file(dir, "bad.yml", "a: 1\nb: [unclosed\n");
    s = cs_snap_load(dir, NULL, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(s->nbroken, 1);
    const cs_file_t *bf = cs_snap_find(cs_snap_label(s, NULL), "bad", 1);
    assert_non_null(bf);
    assert_non_null(strstr(bf->broken, "bad.yml:"));
    assert_int_equal(bf->conf.ndocs, 0);
    char *bad_app[] = {"bad"}, *good_app[] = {"good"}, *prof[] = {"default"};
    assert_true(cs_snap_broken_for(s, cs_snap_label(s, NULL), bad_app, 1, prof, 1) == bf);
    assert_null(cs_snap_broken_for(s, cs_snap_label(s, NULL), good_app, 1, prof, 1));
    assert_non_null(cs_snap_find(cs_snap_label(s, NULL), "good", 1));
    cs_snap_free(s);
    write_file(dir, "bad.yml", "a: \xff\xfe\n");
    s = cs_snap_load(dir, NULL, err, sizeof(err));
    assert_non_null(s);
    assert_non_null(strstr(cs_snap_find(cs_snap_label(s, NULL), "bad", 1)->broken, "bad.yml:1:"));
    cs_snap_free(s);
    write_file(dir, "bad.yml", "a: 2\n");
    s = cs_snap_load(dir, NULL, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(s->nbroken, 0);
    assert_string_not_equal(s->version, v1);
    cs_snap_free(s);
    /* a symlink leaving the repository is never followed: that file is broken */
    char link[512];
    snprintf(link, sizeof(link), "%s/evil.yml", dir);
    assert_int_equal(symlink("/etc/hostname", link), 0);
    s = cs_snap_load(dir, NULL, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(s->nbroken, 1);
    assert_non_null(strstr(cs_snap_find(cs_snap_label(s, NULL), "evil", 1)->broken, "evil.yml"));
    cs_snap_free(s);
    unlink(link);
    /* a symlink inside the repository (ConfigMap style) is fine */
    assert_int_equal(symlink("good.yml", link), 0);
    s = cs_snap_load(dir, NULL, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(s->nbroken, 0);
    cs_snap_free(s);
    unlink(link);
    /* a huge file is refused with a clear message */
    cs_snap_limits_t lim = {.max_file_bytes = 1024};
    char big[4096];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = 'k', big[1] = ':', big[2] = ' ';
    write_file(dir, "bad.yml", big);
    s = cs_snap_load(dir, &lim, err, sizeof(err));
    assert_non_null(s);
    assert_non_null(strstr(cs_snap_find(cs_snap_label(s, NULL), "bad", 1)->broken, "limit"));
    cs_snap_free(s);
    /* a missing repository is the one fatal error */
    assert_null(cs_snap_load("/nonexistent-cs-dir", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent-cs-dir"));
    char path[512];
    snprintf(path, sizeof(path), "%s/bad.yml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/good.yml", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_json_and_typing),
        cmocka_unit_test(test_merge_lists_placeholders),
        cmocka_unit_test(test_placeholder_edges),
        cmocka_unit_test(test_profile_expressions),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
