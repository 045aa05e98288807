/* it_config_server_crypt.c — integration test of encrypted values: the real binary with
 * the key a Spring Config Server encrypted the fixture vectors with (ENCRYPT_KEY), serving
 * {cipher} values decrypted and invalid.<key> for one that does not decrypt (logged),
 * POST /encrypt and /decrypt round trips, Spring's form handling, NO_KEY, INVALID, 401
 * and 403. The same against Spring itself: bench/config-server/compat.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cs_it.h"
#include "ts.h"

/* {cipher} values, POST /encrypt and /decrypt: with the key Spring encrypted these with
 * (fixtures/cipher/spring-vectors.tsv), auth required, Spring's error bodies; the
 * side-by-side run against Spring itself is bench/config-server/compat.sh. */
static void test_encrypt(void **state)
{
    (void)state;
    csit_srv_t a;
    const char *ok = "Authorization: Basic Y2ZnOnMzY3JldA=="; /* cfg:s3cret */
    const char *env[] = {"CONFIG_SERVER_USER=cfg", "CONFIG_SERVER_PASSWORD=s3cret", "ENCRYPT_KEY=s3cr3t-k3y",
                         NULL};
    csit_start(&a, env, NULL);
    const char *crypt =
        "plain: x\n"
        "db:\n"
        "  password: '{cipher}ced8f183bcdfbde9deb1c5d0167db4fdb04820db067714a91dd92ef11d65c7f4'\n"
        "  bad: '{cipher}deadbeef00'\n"
        "last: y\n";
    csit_write(&a, "crypt.yml", crypt, strlen(crypt));
    const char *auth[] = {ok, NULL};
    long long t0 = ts_now_ms();
    csit_resp_t r;
    for (;;) {
        csit_get(&a, "/crypt/default", auth, &r);
        if (strstr(dbuf_ptr(&r.body), "crypt.yml") != NULL || ts_now_ms() - t0 > 10000)
            break;
        csit_resp_free(&r);
        ts_sleep_ms(20);
    }
    if (strstr(dbuf_ptr(&r.body), "\"plain\":\"x\",\"last\":\"y\",\"db.password\":\"db-secret\","
                                  "\"invalid.db.bad\":\"<n/a>\"") == NULL)
        fail_msg("GET /crypt/default after %lld ms: %s", ts_now_ms() - t0, dbuf_ptr(&r.body));
    csit_resp_free(&r);
    /* the flat forms see the decrypted value; the failure is logged, the server lives on */
    csit_get(&a, "/crypt-default.properties", auth, &r);
    assert_non_null(strstr(dbuf_ptr(&r.body), "db.password: db-secret"));
    csit_resp_free(&r);
    assert_true(csit_log_has(&a, "\"level\":\"warn\"", "invalid.db.bad"));
    /* round trip through our own endpoints; a prefix is kept in front */
    csit_post(&a, "/encrypt", "text/plain", ok, "{key:k1}s3cr3t value", &r);
    assert_int_equal(r.status, 200);
    assert_true(strncmp(dbuf_ptr(&r.body), "{key:k1}", 8) == 0);
    char enc[512];
    snprintf(enc, sizeof(enc), "%s", dbuf_ptr(&r.body));
    csit_resp_free(&r);
    csit_post(&a, "/decrypt", "text/plain", ok, enc, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(dbuf_ptr(&r.body), "s3cr3t value");
    csit_resp_free(&r);
    /* curl -d (a form body) works as against Spring */
    csit_post(&a, "/decrypt/app/dev", "application/x-www-form-urlencoded", ok,
              "ced8f183bcdfbde9deb1c5d0167db4fdb04820db067714a91dd92ef11d65c7f4", &r);
    assert_string_equal(dbuf_ptr(&r.body), "db-secret");
    csit_resp_free(&r);
    csit_post(&a, "/decrypt", "text/plain", ok, "0011", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"status\":\"INVALID\""));
    csit_resp_free(&r);
    csit_post(&a, "/encrypt", "text/plain", NULL, "x", &r);
    assert_int_equal(r.status, 401);
    csit_resp_free(&r);
    csit_get(&a, "/encrypt/status", auth, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(dbuf_ptr(&r.body), "{\"status\":\"OK\"}");
    csit_resp_free(&r);
    csit_stop(&a);
    /* no key: NO_KEY (404); no credentials configured: /encrypt is refused (403) */
    const char *nokey[] = {"CONFIG_SERVER_USER=cfg", "CONFIG_SERVER_PASSWORD=s3cret", NULL};
    csit_start(&a, nokey, NULL);
    csit_get(&a, "/encrypt/status", auth, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(dbuf_ptr(&r.body), "\"NO_KEY\""));
    csit_resp_free(&r);
    csit_post(&a, "/encrypt", "text/plain", ok, "x", &r);
    assert_int_equal(r.status, 404);
    csit_resp_free(&r);
    csit_stop(&a);
    const char *open_env[] = {"ENCRYPT_KEY=s3cr3t-k3y", NULL};
    csit_start(&a, open_env, NULL);
    csit_post(&a, "/decrypt", "text/plain", NULL,
              "ced8f183bcdfbde9deb1c5d0167db4fdb04820db067714a91dd92ef11d65c7f4", &r);
    assert_int_equal(r.status, 403);
    csit_resp_free(&r);
    csit_stop(&a);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_encrypt)};
    int rc = cmocka_run_group_tests_name("config-server-crypt", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
