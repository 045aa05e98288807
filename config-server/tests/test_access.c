/* test_access.c — unit tests of the access table: the YAML credentials file (defaults,
 * every error named with its line), the legacy user:password line, Basic logins (right and
 * wrong password, unknown user, the remembered success that spares the hash, the limit on
 * failures), certificate identities, and the read rules (own application, the shared
 * application*, several applications at once, profiles, labels, admins, open tables), and
 * that every comparison of a secret in the code is CRYPTO_memcmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "auth/access.h"
#include "auth/pwhash.h"

static char g_hash[256]; /* "s3cret", the minimum iterations */

static void load_ok(cs_access_t *a, const char *yaml)
{
    char err[512];
    int legacy = -1;
    assert_int_equal(cs_access_init(a, "main"), 0);
    if (cs_access_load(a, yaml, strlen(yaml), &legacy, err, sizeof(err)) != 0)
        fail_msg("load: %s\n%s", err, yaml);
    assert_int_equal(legacy, 0);
    assert_false(a->open);
}

static void three_clients(cs_access_t *a)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "# comment\n"
             "clients:\n"
             "  - name: customer-service\n"
             "    password: \"%s\"\n"
             "  - name: order-service\n"
             "    certificate: true\n"
             "    profiles: [default, k8s, \"test*\"]\n"
             "    labels: [main, \"release-*\"]\n"
             "  - name: ops\n"
             "    password: '%s'\n"
             "    admin: true\n",
             g_hash, g_hash);
    load_ok(a, yaml);
}

static void test_load_and_rules(void **state)
{
    (void)state;
    cs_access_t a;
    three_clients(&a);
    assert_int_equal(a.n, 3);
    const cs_client_t *cs = &a.clients[0], *os = &a.clients[1], *ops = &a.clients[2];
    assert_int_equal(cs->napps, 2); /* the default: its own and application* */
    assert_string_equal(cs->apps[0], "customer-service");
    assert_string_equal(cs->apps[1], "application*");
    assert_true(cs_access_may_read(&a, cs, "customer-service", "default", ""));
    assert_true(cs_access_may_read(&a, cs, "customer-service", "k8s,prod", "anything"));
    assert_true(cs_access_may_read(&a, cs, "application", "k8s", ""));
    assert_false(cs_access_may_read(&a, cs, "order-service", "default", ""));
    assert_false(cs_access_may_read(&a, cs, "customer-service,order-service", "default", ""));
    assert_false(cs_access_may_read(&a, cs, "order-service,customer-service", "default", ""));
    assert_false(cs_access_may_read(&a, cs, "customer-service2", "default", ""));
    assert_false(cs_access_may_read(&a, NULL, "customer-service", "default", ""));
    /* profiles and labels */
    assert_true(cs_access_may_read(&a, os, "order-service", "default,k8s", "main"));
    assert_true(cs_access_may_read(&a, os, "order-service", "test-eu", "release-1.0"));
    assert_true(cs_access_may_read(&a, os, "order-service", "k8s", "")); /* "" is the default label, main */
    assert_false(cs_access_may_read(&a, os, "order-service", "k8s,prod", "main"));
    assert_false(cs_access_may_read(&a, os, "order-service", "k8s", "hotfix"));
    /* admins read everything */
    assert_true(cs_access_may_read(&a, ops, "order-service,customer-service", "prod", "hotfix"));
    /* certificates: only for clients that allow them */
    assert_ptr_equal(cs_access_cert(&a, "order-service"), os);
    assert_null(cs_access_cert(&a, "customer-service"));
    assert_null(cs_access_cert(&a, "nobody"));
    cs_access_free(&a);
    /* an open table reads everything */
    assert_int_equal(cs_access_init(&a, NULL), 0);
    assert_true(a.open);
    assert_true(cs_access_may_read(&a, NULL, "order-service", "prod", "x"));
    cs_access_free(&a);
}

static void test_basic_logins(void **state)
{
    (void)state;
    cs_access_t a;
    three_clients(&a);
    /* no hashing budget here (test_ratelimit has it): a loaded machine must not turn a check into 429 */
    cs_ratelimit_destroy(&a.rl);
    cs_ratelimit_init(&a.rl, 0, 0, 0, 1000000);
    const cs_client_t *who = NULL;
    const char *reason = NULL;
    int retry = -1;
    const unsigned char addr[4] = {127, 0, 0, 1}, other[4] = {127, 0, 0, 2};
    assert_int_equal(cs_access_basic(&a, "customer-service", "s3cret", 6, addr, 4, &who, &reason, &retry), 0);
    assert_string_equal(who->name, "customer-service");
    assert_int_equal(cs_access_basic(&a, "customer-service", "s3cre", 5, addr, 4, &who, &reason, &retry),
                     401);
    assert_null(who);
    assert_string_equal(reason, "wrong password");
    assert_int_equal(cs_access_basic(&a, "nobody", "s3cret", 6, addr, 4, &who, &reason, &retry), 401);
    assert_string_equal(reason, "unknown user");
    assert_int_equal(cs_access_basic(&a, "order-service", "", 0, addr, 4, &who, &reason, &retry), 401);
    /* the remembered results: 50 logins within a second compute the hash once each */
    for (int i = 0; i < 50; i++)
        assert_int_equal(cs_access_basic(&a, "ops", "s3cret", 6, other, 4, &who, &reason, &retry), 0);
    /* failures per address: the 10th within a minute refuses the address, unchecked */
    const unsigned char bad[4] = {10, 9, 9, 9};
    int st = 0;
    for (int i = 0; i < 10; i++)
        st = cs_access_basic(&a, "nobody", "x", 1, bad, 4, &who, &reason, &retry);
    assert_int_equal(st, 401);
    assert_int_equal(retry, 60);
    assert_int_equal(cs_access_basic(&a, "ops", "s3cret", 6, bad, 4, &who, &reason, &retry), 429);
    assert_true(retry > 0 && retry <= 60);
    assert_int_equal(cs_access_basic(&a, "ops", "s3cret", 6, addr, 4, &who, &reason, &retry), 0);
    cs_access_free(&a);
}

static void test_legacy(void **state)
{
    (void)state;
    cs_access_t a;
    char err[256];
    int legacy = 0;
    assert_int_equal(cs_access_init(&a, "main"), 0);
    const char *line = "cfg:pa:ss\n";
    assert_int_equal(cs_access_load(&a, line, strlen(line), &legacy, err, sizeof(err)), 0);
    assert_true(legacy);
    assert_false(a.open);
    assert_true(a.clients[0].admin);
    const cs_client_t *who = NULL;
    const char *reason = NULL;
    int retry = 0;
    const unsigned char addr[4] = {1, 2, 3, 4};
    assert_int_equal(cs_access_basic(&a, "cfg", "pa:ss", 5, addr, 4, &who, &reason, &retry), 0);
    assert_int_equal(cs_access_basic(&a, "cfg", "pa:s", 4, addr, 4, &who, &reason, &retry), 401);
    assert_true(cs_access_may_read(&a, &a.clients[0], "x,y", "p", "l"));
    cs_access_free(&a);
    assert_int_equal(cs_access_init(&a, "main"), 0);
    assert_int_equal(cs_access_load(&a, "nocolon\n", 8, &legacy, err, sizeof(err)), -1);
    cs_access_free(&a);
}

static void test_errors(void **state)
{
    (void)state;
    char plain[256];
    snprintf(plain, sizeof(plain), "clients:\n  - name: a\n    password: s3cret\n");
    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"clients:\n  - name: a\n    pasword: x\n", "line 3"},
        {"clients:\n  - name: a\n    password: s3cret\n", "not a password hash"},
        {"clients:\n  - name: a\n    certificate: yes-ish\n", "true or false"},
        {"clients:\n  - name: a\n", "can never log in"},
        {"clients:\n  - name: a\n    certificate: true\n  - name: a\n    certificate: true\n", "twice"},
        {"clients:\n  - certificate: true\n", "no name"},
        {"clients: []\n", "no clients"},
        {"clients:\n  - name: a\n    certificate: true\n    applications: []\n", "empty list"},
        {"clients:\n  - name: a\n    certificate: true\n    applications: x\n", "a list"},
        {"clients:\n  - name: \"a:b\"\n    certificate: true\n", "without ':'"},
        {"clients:\n  - name: a\n    certificate: true\nextra: 1\n", "unknown key"},
        {"clients:\n  - name: a\n  certificate: [\n", "line"},
        {"clients:\n  - name: a\n    certificate: true\n---\nclients: []\n", "one YAML document"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cs_access_t a;
        char err[512] = "";
        int legacy = 0;
        assert_int_equal(cs_access_init(&a, "main"), 0);
        int rc = cs_access_load(&a, bad[i].yaml, strlen(bad[i].yaml), &legacy, err, sizeof(err));
        if (rc != -1 || strstr(err, bad[i].want) == NULL)
            fail_msg("case %zu: rc %d, error '%s' lacks '%s'", i, rc, err, bad[i].want);
        cs_access_free(&a);
    }
}

/* 1 when the C line `line` (string literals removed) names a secret: a password, a hash, a
 * MAC, a remembered result, a token. */
static int names_secret(const char *line)
{
    char code[1024];
    size_t n = 0;
    for (int in = 0; *line && n + 1 < sizeof(code); line++) {
        if (*line == '"')
            in = !in;
        else if (!in)
            code[n++] = *line;
    }
    code[n] = '\0';
    static const char *const words[] = {"pw",     "mac",    "memo", "bad",   "hash", "password",
                                        "stored", "secret", "got",  "token", "h"};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
        for (const char *p = strstr(code, words[w]); p != NULL; p = strstr(p + 1, words[w])) {
            size_t wl = strlen(words[w]);
            int before = p > code && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
            int after = isalnum((unsigned char)p[wl]) || p[wl] == '_';
            if (!before && !after)
                return 1;
        }
    return 0;
}

/* Every comparison of a secret in the code that checks them is CRYPTO_memcmp (constant
 * time); no memcmp/strcmp/strncmp touches one. */
static void test_constant_time_compare(void **state)
{
    (void)state;
    static const char *const files[] = {"auth/pwhash.c", "auth/access.c", "http/guard.c", "http/monitor.c"};
    int crypto = 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[512], line[1024];
        snprintf(path, sizeof(path), "%s/%s", CS_SRC_DIR, files[i]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        for (int no = 1; fgets(line, sizeof(line), f) != NULL; no++) {
            if (strstr(line, "CRYPTO_memcmp(") != NULL) {
                crypto++;
                continue;
            }
            /* a comparison with a literal checks a public format ("sha256=", "$2b$"), not a secret */
            if ((strstr(line, "memcmp(") != NULL || strstr(line, "strcmp(") != NULL ||
                 strstr(line, "strncmp(") != NULL) &&
                strchr(line, '"') == NULL && names_secret(line))
                fail_msg("%s:%d compares a secret without CRYPTO_memcmp: %s", files[i], no, line);
        }
        fclose(f);
    }
    assert_true(crypto >= 6);
}

static int setup(void **state)
{
    (void)state;
    return cs_pwhash_make("s3cret", 6, CS_PWHASH_MIN_ITERATIONS, g_hash, sizeof(g_hash));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_rules),
        cmocka_unit_test(test_basic_logins),
        cmocka_unit_test(test_legacy),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_constant_time_compare),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
