/* test_pathsafe.c — unit tests of the URL grammar and the name hardening: every vector
 * of CVE-2019-3799, CVE-2020-5405, CVE-2020-5410 and CVE-2026-22739 must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "http/routes.h"
#include "repo/pathsafe.h"

static int parse(const char *path, cs_req_t *r)
{
    char why[256];
    return cs_http_parse(path, r, why, sizeof(why));
}

static void test_decode(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(cs_path_decode("a%2e%2e", 7, out, sizeof(out)), 0);
    assert_string_equal(out, "a..");
    assert_int_equal(cs_path_decode("%252e%252e", 10, out, sizeof(out)), 0);
    assert_string_equal(out, "..");
    assert_int_equal(cs_path_decode("%25252e", 7, out, sizeof(out)), 0);
    assert_string_equal(out, ".");
    assert_int_equal(cs_path_decode("a(_)b", 5, out, sizeof(out)), 0);
    assert_string_equal(out, "a(_)b"); /* "(_)" is the label's business (cs_path_label) */
    assert_int_equal(cs_path_decode("%00", 3, out, sizeof(out)), -1);
    assert_int_equal(cs_path_decode("%2500", 5, out, sizeof(out)), -1);
    assert_int_equal(cs_path_decode("%zz", 3, out, sizeof(out)), -1);
    assert_int_equal(cs_path_decode("%", 1, out, sizeof(out)), -1);
    assert_int_equal(cs_path_decode("%252525252525252e", 17, out, sizeof(out)), -1); /* never-ending */
}

static void test_names(void **state)
{
    (void)state;
    assert_true(cs_path_name_ok("customer-service"));
    assert_true(cs_path_name_ok("a.b_c+d@e1"));
    assert_false(cs_path_name_ok(""));
    assert_false(cs_path_name_ok(".."));
    assert_false(cs_path_name_ok("a..b"));
    assert_false(cs_path_name_ok("-a"));
    assert_false(cs_path_name_ok("a/b"));
    assert_false(cs_path_name_ok("a\\b"));
    assert_false(cs_path_name_ok("a#b"));
    assert_false(cs_path_name_ok("a b"));
    assert_false(cs_path_name_ok("a,b"));
    /* other scripts, as Spring serves them; nothing invisible, broken or overlong */
    assert_true(cs_path_name_ok("caf\xc3\xa9"));              /* café */
    assert_true(cs_path_name_ok("\xe9\xa1\xa7\xe5\xae\xa2")); /* 顧客 */
    assert_true(cs_path_name_ok("\xc3\xa9"
                                "t\xc3\xa9"));            /* été: starts and ends non-ASCII */
    assert_true(cs_path_name_ok("\xf0\x9f\x9a\x80-app")); /* a 4-byte character */
    assert_false(cs_path_name_ok("caf\xc3"));             /* truncated */
    assert_false(cs_path_name_ok("a\xc3\x28z"));          /* broken continuation */
    assert_false(cs_path_name_ok("a\xc0\xaez"));          /* overlong '.' */
    assert_false(cs_path_name_ok("a\xc0\xafz"));          /* overlong '/' */
    assert_false(cs_path_name_ok("a\xed\xa0\x80z"));      /* a surrogate */
    assert_false(cs_path_name_ok("a\xc2\x85z"));          /* C1 control NEL */
    assert_false(cs_path_name_ok("a\xc2\xa0z"));          /* no-break space */
    assert_false(cs_path_name_ok("a\xe2\x80\x8bz"));      /* zero-width space */
    assert_false(cs_path_name_ok("a\xe2\x80\xaez"));      /* right-to-left override */
    assert_false(cs_path_name_ok("a\xef\xbb\xbfz"));      /* BOM */
    assert_false(cs_path_name_ok("a\xef\xbf\xbfz"));      /* noncharacter U+FFFF */
    assert_true(cs_path_profiles_ok("dev,prod"));
    assert_false(cs_path_profiles_ok("dev,"));
    assert_false(cs_path_profiles_ok(",dev"));
    assert_false(cs_path_profiles_ok("dev,,prod"));
    assert_false(cs_path_profiles_ok("dev,../x"));
    /* several applications, as Spring's /a,b/{profiles} */
    assert_true(cs_path_apps_ok("a"));
    assert_true(cs_path_apps_ok("alpha,beta,application"));
    assert_false(cs_path_apps_ok("alpha,"));
    assert_false(cs_path_apps_ok(",alpha"));
    assert_false(cs_path_apps_ok("a,,b"));
    assert_false(cs_path_apps_ok("a,../b"));
    assert_false(cs_path_apps_ok("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q")); /* 17 > CS_PATH_MAX_APPS */
}

static void test_labels(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(cs_path_label("release(_)1.0", out, sizeof(out)), 0);
    assert_string_equal(out, "release/1.0");
    assert_int_equal(cs_path_label("feature(_)JIRA-12(_)x", out, sizeof(out)), 0);
    assert_string_equal(out, "feature/JIRA-12/x");
    assert_int_equal(cs_path_label("main", out, sizeof(out)), 0);
    assert_string_equal(out, "main");
    static const char *const bad[] = {"(_)etc",     "x(_)",     "a(_)(_)b", "a(_)..(_)b", "a(_).x", "..",
                                      "a/b",        "a\\b",     "(_)",      "a(_)-x",     "",       "a(_)b#",
                                      "a(_)%2e%2e", "HEAD@{1}", "a b",      "a,b",        "-x",     "x(_"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cs_path_label(bad[i], out, sizeof(out)) == 0)
            fail_msg("label '%s' accepted as '%s'", bad[i], out);
    char longl[400];
    memset(longl, 'a', sizeof(longl) - 1);
    longl[sizeof(longl) - 1] = '\0';
    assert_int_equal(cs_path_label(longl, out, sizeof(out)), -1);
}

static void test_url_forms(void **state)
{
    (void)state;
    cs_req_t r;
    assert_int_equal(parse("/billing/dev", &r), 0);
    assert_true(r.kind == CS_REQ_ENV && strcmp(r.app, "billing") == 0 && strcmp(r.profiles, "dev") == 0 &&
                !r.label[0]);
    assert_int_equal(parse("/billing/dev,prod/v2", &r), 0);
    assert_string_equal(r.label, "v2");
    assert_int_equal(parse("/customer-service-local.yml", &r), 0);
    assert_true(r.kind == CS_REQ_FLAT && r.fmt == CS_FMT_YAML);
    assert_string_equal(r.app, "customer-service");
    assert_string_equal(r.profiles, "local");
    assert_int_equal(parse("/a-b,c.properties", &r), 0);
    assert_true(r.fmt == CS_FMT_PROPERTIES && strcmp(r.profiles, "b,c") == 0);
    assert_int_equal(parse("/a-b.yaml", &r), 0);
    assert_int_equal(parse("/a-b.json", &r), 0);
    assert_int_equal(r.fmt, CS_FMT_JSON);
    assert_int_equal(parse("/v2/a-b.json", &r), 0);
    assert_string_equal(r.label, "v2");
    assert_int_equal(parse("/actuator/health", &r), 0);
    assert_int_equal(r.kind, CS_REQ_HEALTH);
    assert_int_equal(parse("/health", &r), 0);
    assert_int_equal(parse("/billing", &r), 404);
    assert_int_equal(parse("/", &r), 404);
    assert_int_equal(parse("//dev", &r), 404);
    assert_int_equal(parse("/billing/dev/", &r), 404); /* a trailing slash: Spring's 404 */
    assert_int_equal(parse("/billing/", &r), 404);
    assert_int_equal(parse("/billing-dev.yml/", &r), 404);
    assert_int_equal(parse("/a//b", &r), 404);
    assert_int_equal(parse("/alpha,beta/dev", &r), 0);
    assert_string_equal(r.app, "alpha,beta");
    assert_int_equal(parse("/alpha,beta-dev,prod.yml", &r), 0);
    assert_true(strcmp(r.app, "alpha,beta") == 0 && strcmp(r.profiles, "dev,prod") == 0);
    assert_int_equal(parse("/billing/dev/release(_)1.0", &r), 0);
    assert_string_equal(r.label, "release/1.0");
    assert_int_equal(parse("/billing/dev/release%28_%291.0", &r), 0);
    assert_string_equal(r.label, "release/1.0");
    assert_int_equal(parse("/release(_)1.0/billing-dev.yml", &r), 0);
    assert_string_equal(r.label, "release/1.0");
    assert_int_equal(parse("/billing/dev/release%2F1.0", &r), 400); /* only (_) spells a slash */
    assert_int_equal(parse("/a(_)b/dev", &r), 400);                 /* not in application names */
    assert_int_equal(parse("/encrypt/status", &r), 0);
    assert_int_equal(r.kind, CS_REQ_ENCRYPT_STATUS);
    assert_int_equal(parse("/key", &r), 0);
    assert_int_equal(r.kind, CS_REQ_KEY);
    assert_int_equal(parse("/key/app/dev", &r), 0);
    assert_int_equal(r.kind, CS_REQ_KEY);
    assert_int_equal(parse("/encrypt/dev", &r), 0); /* the application "encrypt", as Spring */
    assert_int_equal(r.kind, CS_REQ_ENV);
    assert_int_equal(parse("/a/b/c/d", &r), 0); /* plain text: file d at label c */
    assert_int_equal(r.kind, CS_REQ_TEXT);
}

static void test_cve_vectors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        /* CVE-2019-3799: plain-text endpoint with double-encoded ../ */
        "/test/pathtraversal/master/..%252f..%252f..%252f..%252f../etc/passwd",
        "/test/pathtraversal/master/..%252F..%252F..%252F..%252F..%252Fetc%252Fpasswd",
        /* CVE-2020-5405: encoded traversal in {label} */
        "/a/b/%252f..%252f..%252f..%252fetc%252fpasswd",
        "/a/b/..%252F..%252F..%252Fetc%252Fpasswd",
        "/a/b/..%2F..%2F..%2Fetc%2Fpasswd",
        /* CVE-2020-5410: {application} with %23 truncating the suffix */
        "/..%252F..%252F..%252F..%252F..%252F..%252Fetc%252Fpasswd%23foo/development",
        "/..%2F..%2F..%2Fetc%2Fpasswd%23foo/development",
        "/..%5C..%5Cetc%5Cpasswd/development",
        "/(_)etc(_)passwd/development",
        "/a(_)..(_)..(_)etc/dev",
        /* CVE-2026-22739: {profile} never validated */
        "/app/..%252F..%252Fetc%252Fpasswd",
        "/app/dev,..%2F..%2Fetc%2Fpasswd",
        "/app/%2e%2e",
        "/app/dev%00",
        "/app/dev%2500.yml",
        "/app-..%252f..%252fetc%252fpasswd.yml",
        "/..%252f..%252fetc-passwd.properties",
        "/%2e%2e/app-dev.yml",
        "/app/dev/..",
        "/app/dev/%2e%2e%2f",
        "/app/dev#x",
        "/app/de%23v",
        "/app/%5c",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cs_req_t r;
        int rc = parse(bad[i], &r);
        if (rc != 400 && rc != 404)
            fail_msg("%s → %d, want 400/404", bad[i], rc);
    }
}

/* 1 when a decoded name could point outside its directory. */
static int escapes(const char *s)
{
    return strchr(s, '/') != NULL || strchr(s, '\\') != NULL || strstr(s, "..") != NULL ||
           strchr(s, '\0') != s + strlen(s) || s[0] == '.';
}

/* 1 when a label is "" or "/"-separated names, none of which could leave a directory. */
static int label_safe(const char *l)
{
    char buf[CS_PATH_NAME_MAX + 1];
    snprintf(buf, sizeof(buf), "%s", l);
    if (buf[0] == '\0')
        return 1;
    for (char *save = NULL, *p = strtok_r(buf, "/", &save); p != NULL; p = strtok_r(NULL, "/", &save))
        if (escapes(p) || !cs_path_name_ok(p))
            return 0;
    return l[0] != '/' && l[strlen(l) - 1] != '/' && strstr(l, "//") == NULL;
}

/* Random paths from the URL grammar's and the attacks' own pieces (encoded dots and slashes,
 * double encoding, Spring's "(_)", NUL, overlong UTF-8, backslashes): whatever is accepted
 * names only allow-listed, non-escaping segments (also a plain-text file's path), and
 * every refusal says why. */
static void test_fuzz_paths(void **state)
{
    (void)state;
    static const char *const pieces[] = {"/",     "/",     "/",           "app",         "customer-service",
                                         "-",     "dev",   ",",           "local",       "master",
                                         ".yml",  ".json", ".properties", ".",           "..",
                                         "%2e",   "%2E",   "%2f",         "%2F",         "%252e",
                                         "%252f", "%25",   "(_)",         "%00",         "%c0%ae",
                                         "%5c",   "\\",    "a",           "9",           "_",
                                         "%20",   "~",     "application", "actuator",    "health",
                                         "%",     "%zz",   ".git",        "logback.xml", "%c0%af",
                                         "?"};
    unsigned int seed = 2026;
    int accepted = 0, texts = 0;
    for (int i = 0; i < 100000; i++) {
        char path[256] = "/";
        size_t len = 1;
        for (int k = (int)(rand_r(&seed) % 10); k >= 0; k--) {
            const char *p = pieces[rand_r(&seed) % (sizeof pieces / sizeof pieces[0])];
            size_t pl = strlen(p);
            if (len + pl >= sizeof path)
                break;
            memcpy(path + len, p, pl + 1);
            len += pl;
        }
        cs_req_t r;
        char why[256] = "";
        memset(&r, 0, sizeof r);
        int rc = cs_http_parse(path, &r, why, sizeof why);
        if (rc != 0) {
            assert_true(rc == 400 || rc == 404);
            assert_true(why[0] != '\0');
            continue;
        }
        accepted++;
        if (r.kind == CS_REQ_HEALTH)
            continue;
        if (r.kind == CS_REQ_ENCRYPT_STATUS || r.kind == CS_REQ_KEY)
            continue;
        if (r.kind == CS_REQ_TEXT) { /* a plain-text path: no component may leave its directory */
            texts++;
            char buf[CS_TEXT_PATH_MAX + 1];
            snprintf(buf, sizeof(buf), "%s", r.path);
            if (buf[0] == '\0' || buf[0] == '/' || strstr(buf, "//") != NULL || !cs_http_text_path_ok(buf))
                fail_msg("%s accepted as the file '%s'", path, r.path);
            for (char *save = NULL, *p = strtok_r(buf, "/", &save); p != NULL; p = strtok_r(NULL, "/", &save))
                if (escapes(p))
                    fail_msg("%s accepted as the file '%s'", path, r.path);
        }
        if (escapes(r.app) || escapes(r.profiles) || !cs_path_apps_ok(r.app) || !label_safe(r.label) ||
            !cs_path_profiles_ok(r.profiles))
            fail_msg("%s accepted as app '%s' profiles '%s' label '%s'", path, r.app, r.profiles, r.label);
    }
    assert_true(accepted > 0);
    assert_true(texts > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),      cmocka_unit_test(test_names),
        cmocka_unit_test(test_labels),      cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_cve_vectors), cmocka_unit_test(test_fuzz_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
