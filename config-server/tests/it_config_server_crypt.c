/* it_config_server_crypt.c — integration test of encrypted values: the real binary with
 * the key a Spring Config Server encrypted the fixture vectors with (ENCRYPT_KEY), serving
 * {cipher} values decrypted and invalid.<key> for one that does not decrypt (logged),
 * POST /encrypt and /decrypt round trips, Spring's form handling, NO_KEY, INVALID, 401
 * and 403; RSA keys from a PKCS#12 key store (values the Spring peer encrypted, /key,
 * {key:…} prefixes, rotation, a wrong password). The same against Spring itself:
 * bench/config-server/compat.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
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

/* RSA keys from the test key store (fixtures/cipher/keys.p12): values the Spring peer
 * encrypted (spring-rsa-vectors.tsv) are served decrypted, /key, /encrypt/{app}/{profiles}
 * with a {key:…} prefix round-trips, an unknown alias is Spring's BAD_REQUEST; rotation
 * keeps old aliases; a wrong store password stops the start (78). */
static void test_keystore(void **state)
{
    (void)state;
    csit_srv_t a;
    csit_resp_t r;
    const char *ok = "Authorization: Basic Y2ZnOnMzY3JldA=="; /* cfg:s3cret */
    const char *auth[] = {ok, NULL};
    const char *env[] = {"CONFIG_SERVER_USER=cfg", "CONFIG_SERVER_PASSWORD=s3cret",
                         "ENCRYPT_KEY_STORE_PASSWORD=letmein", NULL};
    const char *args[] = {"--encrypt-key-store", CS_CIPHER_DIR "/keys.p12", "--encrypt-key-alias",
                          "mytestkey", NULL};
    csit_start(&a, env, args);
    const char *crypt =
        "spring: "
        "'{cipher}AQABuk4O/jajlO0xdciysfr0zoOEPzeenirQBZQW1U5/"
        "77eOPR8rq7AZGGifxCMSOmq6r+U+GdeRl2PTECxFQtlfsikAztSjRtrc6K/"
        "mYaIkpbF3BaKJGXbhlCUX2GZVMZdpUoa1iEP2JFN2OuOefAb4Udv+"
        "DUhgTbC8NhCxwQ5jvng591hwylGO9V2oOln0Ov9wifTpbIRxvnS0zbcUF34zB0B6TFrnkm4z4sfE9wa67K+"
        "YtJI0UuWPBBeyfOffyryURQXKAfWVq3xRueKS4pkOuuAqOeJJLKw+cGCQ7bTRoIVGlbPl/"
        "7oBuu5tOyD0kbGG4faQIWRK5yOnSjaEir4yCjgUsIdSZHwRtuXX39Vl/w0vivqXC6pTuVgo4Le7SVU='\n"
        "rotated: "
        "'{cipher}{key:rotated}AQAfRlbTujUaOojOoGkFL2GsH0j0jz68DXAxlICCM6mKraspQckNyR6GYKdDNwKTFQk0jq+"
        "3UAqmreN+RfxargmhjEZeqOuyvnZie+olbwrEpYDi6AWGCR1uOeceoH8kQnm4uRN0O2nSFo0d5UJ+"
        "JUecYh8DfEloKR8YrWJZf1x9zQ65pHRo8URv2iNmCe1G5IAB9twvzYB0oV7W1EioicPDSbn1mxFePX+GiIGuPrhsoiNfJTp+"
        "W1CnbnrsuEZgqZGntVvIzfY3xJbQbUjJ+BRxt+qwPRJZMGx5n553d6GsZ+"
        "5Xz0kg50HuuYrdFNqzTUw5ERk0kPjBs2ZQTz3Fj1c3Byj4b7XKwC7UNGyhp8OWoTS0p5WLNnjXH1wjdexva1s='\n"
        "nosuch: '{cipher}{key:nosuch}AQAB'\n";
    csit_write(&a, "rsa.yml", crypt, strlen(crypt));
    for (long long t0 = ts_now_ms();; ts_sleep_ms(20)) {
        csit_get(&a, "/rsa/default", auth, &r);
        if (strstr(dbuf_ptr(&r.body), "rsa.yml") != NULL || ts_now_ms() - t0 > 10000)
            break;
        csit_resp_free(&r);
    }
    if (strstr(dbuf_ptr(&r.body), "\"spring\":\"hello\",\"rotated\":\"secret2\"") == NULL ||
        strstr(dbuf_ptr(&r.body), "\"invalid.nosuch\":\"<n/a>\"") == NULL)
        fail_msg("GET /rsa/default: %s", dbuf_ptr(&r.body));
    csit_resp_free(&r);
    csit_get(&a, "/key/app/dev", auth, &r);
    assert_int_equal(r.status, 200);
    assert_true(strncmp(dbuf_ptr(&r.body), "ssh-rsa AAAAB3NzaC1yc2E", 23) == 0);
    csit_resp_free(&r);
    csit_post(&a, "/encrypt/app/dev", "text/plain", ok, "{key:mytestkey}kept", &r);
    assert_int_equal(r.status, 200);
    char named[2048];
    snprintf(named, sizeof(named), "%s", dbuf_ptr(&r.body));
    csit_resp_free(&r);
    csit_post(&a, "/decrypt/app/dev", "text/plain", ok, named, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(dbuf_ptr(&r.body), "kept");
    csit_resp_free(&r);
    csit_post(&a, "/decrypt", "text/plain", ok, "{key:nosuch}AQAB", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(dbuf_ptr(&r.body), "Server-side decryption is not supported"));
    csit_resp_free(&r);
    csit_stop(&a);
    /* rotation: "rotated" is the default now; the value naming mytestkey still decrypts */
    const char *args2[] = {"--encrypt-key-store", CS_CIPHER_DIR "/keys.p12", "--encrypt-key-alias", "rotated",
                           NULL};
    csit_start(&a, env, args2);
    csit_post(&a, "/decrypt", "text/plain", ok, named, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(dbuf_ptr(&r.body), "kept");
    csit_resp_free(&r);
    csit_post(&a, "/encrypt", "text/plain", ok, "fresh", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(dbuf_ptr(&r.body)[0], 'A'); /* no prefix: the default key's */
    snprintf(named, sizeof(named), "%s", dbuf_ptr(&r.body));
    csit_resp_free(&r);
    csit_post(&a, "/decrypt", "text/plain", ok, named, &r);
    assert_string_equal(dbuf_ptr(&r.body), "fresh");
    csit_resp_free(&r);
    csit_stop(&a);
    /* Spring's encrypt.key: a PKCS#1 PEM key is one RSA key (/key answers), a PKCS#8 one is a
     * symmetric password as in Spring 5.0.6 (/key: NOT_FOUND) */
    const char *pem_env[] = {"CONFIG_SERVER_USER=cfg", "CONFIG_SERVER_PASSWORD=s3cret",
                             "CONFIG_SERVER_ENCRYPT_KEY_FILE=" CS_CIPHER_DIR "/pkcs1-key.pem", NULL};
    csit_start(&a, pem_env, NULL);
    csit_get(&a, "/key", auth, &r);
    assert_int_equal(r.status, 200);
    csit_resp_free(&r);
    csit_stop(&a);
    pem_env[2] = "CONFIG_SERVER_ENCRYPT_KEY_FILE=" CS_CIPHER_DIR "/pem-key.pem";
    csit_start(&a, pem_env, NULL);
    csit_get(&a, "/key", auth, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(dbuf_ptr(&r.body), "No public key available"));
    csit_resp_free(&r);
    csit_stop(&a);
    /* a wrong store password, an unknown default alias: exit 78 naming the problem */
    char cmd[1200];
    const char *bin = ts_env("CQ_BIN_DIR", CS_DEFAULT_BIN_DIR);
    snprintf(cmd, sizeof(cmd),
             "ENCRYPT_KEY_STORE_PASSWORD=nope timeout 20 '%s/config-server' --repo '%s' --port 1 "
             "--encrypt-key-store '%s/keys.p12' 2>&1 | grep -q 'password is wrong'",
             bin, CS_FIXTURE_REPO, CS_CIPHER_DIR);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "ENCRYPT_KEY_STORE_PASSWORD=letmein timeout 20 '%s/config-server' --repo '%s' --port 1 "
             "--encrypt-key-store '%s/keys.p12' --encrypt-key-alias nosuch >/dev/null 2>&1",
             bin, CS_FIXTURE_REPO, CS_CIPHER_DIR);
    assert_int_equal(WEXITSTATUS(system(cmd)), 78);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_encrypt), cmocka_unit_test(test_keystore)};
    int rc = cmocka_run_group_tests_name("config-server-crypt", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
