/* test_keys.c — unit tests of crypto/rsacipher and crypto/keys: values that a real Spring
 * Cloud Config Server 5.0.6 encrypted with the test key store (fixtures/cipher/keys.p12,
 * spring-rsa-vectors.tsv) decrypt here; our own output round-trips with each algorithm;
 * a wrong key, a tampered or truncated text, an unknown alias and a wrong {secret:} fail
 * with a result code; rotation (a new default, old aliases still decrypt); /key's text
 * equals Spring's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"

#define DIR CS_CIPHER_DIR

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1u << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1u << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* A ring from keys.p12 with the given params and default alias. */
static void store_ring(cs_keys_t *k, const char *alg, int strong, const char *salt, const char *alias)
{
    char err[256];
    cs_rsa_params_t p;
    size_t len;
    assert_int_equal(cs_rsa_params_init(&p, alg, salt, strong, err, sizeof(err)), 0);
    cs_keys_init(k, CS_KEYS_STORE, &p);
    char *der = slurp("keys.p12", &len);
    int n = cs_keys_add_pkcs12(k, (const unsigned char *)der, len, "letmein", NULL, err, sizeof(err));
    free(der);
    if (n != 3)
        fail_msg("keys.p12: %d keys (%s)", n, err);
    assert_int_equal(cs_keys_set_default(k, alias, "letmein", err, sizeof(err)), 0);
}

/* Encrypts `text` (with its prefixes) as /encrypt does: the value "{cipher}" + prefixes + cipher. */
static char *encrypt_value(const cs_keys_t *k, const char *text)
{
    cs_keysel_t sel;
    dbuf_t out;
    dbuf_init(&out, 1u << 20);
    assert_int_equal(dbuf_adds(&out, "{cipher}"), 0);
    assert_int_equal(cs_keys_locate(k, text, &sel), CS_CIPHER_OK);
    size_t pl = cs_cipher_prefix_len(text);
    assert_int_equal(cs_cipher_prefix_keys(text, &out), 0);
    assert_int_equal(cs_keys_encrypt(&sel, text + pl, strlen(text + pl), &out), 0);
    cs_keys_release(&sel);
    return dbuf_take(&out, NULL);
}

static cs_cipher_rc_t decrypt_value(const cs_keys_t *k, const char *value, char *plain, size_t size)
{
    dbuf_t out;
    dbuf_init(&out, 1u << 20);
    cs_cipher_rc_t rc = cs_keys_decrypt_value(k, value, &out);
    if (rc == CS_CIPHER_OK)
        snprintf(plain, size, "%s", dbuf_ptr(&out));
    dbuf_free(&out);
    return rc;
}

static void test_spring_vectors(void **state)
{
    (void)state;
    size_t len;
    char *text = slurp("spring-rsa-vectors.tsv", &len);
    int n = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *f[5];
        char *p = line;
        for (int i = 0; i < 5; i++) {
            f[i] = p;
            p = strchr(p, '\t');
            if (i < 4) {
                assert_non_null(p);
                *p++ = '\0';
            }
        }
        cs_keys_t k;
        store_ring(&k, f[0], strcmp(f[1], "true") == 0, f[2],
                   strcmp(f[0], "OAEP") == 0 ? "rotated" : "mytestkey");
        char value[8192], plain[4096];
        snprintf(value, sizeof(value), "{cipher}%s", f[4]);
        assert_int_equal(decrypt_value(&k, value, plain, sizeof(plain)), CS_CIPHER_OK);
        assert_string_equal(plain, f[3] + cs_cipher_prefix_len(f[3]));
        /* the prefix Spring wrote is the one /encrypt writes here */
        assert_memory_equal(f[4], f[3], cs_cipher_prefix_len(f[3]));
        cs_keys_free(&k);
        n++;
    }
    free(text);
    assert_true(n >= 9);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *const params[][3] = {{"DEFAULT", "false", "deadbeef"},
                                            {"OAEP", "false", "deadbeef"},
                                            {"DEFAULT", "true", "cafe"},
                                            {"OAEP", "true", "not hex"}};
    static const char *const texts[] = {
        "", "x", "ünïcödé ✓", "{key:rotated}r", "{key:locked}{secret:k3ysecret}l", "{plain}{a:b}literal"};
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        cs_keys_t k;
        store_ring(&k, params[i][0], strcmp(params[i][1], "true") == 0, params[i][2], "mytestkey");
        for (size_t j = 0; j < sizeof(texts) / sizeof(texts[0]); j++) {
            char *v = encrypt_value(&k, texts[j]);
            char plain[256];
            assert_int_equal(decrypt_value(&k, v, plain, sizeof(plain)), CS_CIPHER_OK);
            assert_string_equal(plain, texts[j] + cs_cipher_prefix_len(texts[j]));
            free(v);
        }
        cs_keys_free(&k);
    }
}

static void test_wrong_key_and_tampering(void **state)
{
    (void)state;
    cs_keys_t k, gcm;
    char plain[256], value[4096];
    store_ring(&k, NULL, 0, NULL, "mytestkey");
    store_ring(&gcm, NULL, 1, NULL, "mytestkey");
    char *v = encrypt_value(&k, "secret");
    /* another alias's key cannot unwrap the AES secret */
    snprintf(value, sizeof(value), "{cipher}{key:rotated}%s", v + strlen("{cipher}"));
    assert_int_not_equal(decrypt_value(&k, value, plain, sizeof(plain)), CS_CIPHER_OK);
    /* a flipped character of the AES payload: bad padding (CBC); of the wrapped secret: RSA fails */
    snprintf(value, sizeof(value), "%s", v);
    size_t n = strlen(value);
    value[n - 6] = value[n - 6] == 'A' ? 'B' : 'A';
    assert_int_not_equal(decrypt_value(&k, value, plain, sizeof(plain)), CS_CIPHER_OK);
    snprintf(value, sizeof(value), "%s", v);
    value[20] = value[20] == 'A' ? 'B' : 'A';
    assert_int_not_equal(decrypt_value(&k, value, plain, sizeof(plain)), CS_CIPHER_OK);
    /* truncated, not base64, empty */
    snprintf(value, sizeof(value), "%.*s", (int)(n - 8), v);
    assert_int_not_equal(decrypt_value(&k, value, plain, sizeof(plain)), CS_CIPHER_OK);
    assert_int_equal(decrypt_value(&k, "{cipher}AQ!B", plain, sizeof(plain)), CS_CIPHER_BAD_BASE64);
    assert_int_equal(decrypt_value(&k, "{cipher}A", plain, sizeof(plain)), CS_CIPHER_BAD_BASE64);
    assert_int_equal(decrypt_value(&k, "{cipher}AQ=", plain, sizeof(plain)), CS_CIPHER_BAD_BASE64);
    assert_int_equal(decrypt_value(&k, "{cipher}", plain, sizeof(plain)), CS_CIPHER_TOO_SHORT);
    assert_int_equal(decrypt_value(&k, "{cipher}AQAB", plain, sizeof(plain)), CS_CIPHER_TOO_SHORT);
    /* the CBC value does not open in GCM mode, and a GCM value's tag guards every byte */
    assert_int_not_equal(decrypt_value(&gcm, v, plain, sizeof(plain)), CS_CIPHER_OK);
    free(v);
    v = encrypt_value(&gcm, "secret");
    assert_int_equal(decrypt_value(&gcm, v, plain, sizeof(plain)), CS_CIPHER_OK);
    snprintf(value, sizeof(value), "%s", v);
    n = strlen(value);
    value[n - 4] = value[n - 4] == 'A' ? 'B' : 'A';
    assert_int_equal(decrypt_value(&gcm, value, plain, sizeof(plain)), CS_CIPHER_BAD_CRYPT);
    free(v);
    cs_keys_free(&k);
    cs_keys_free(&gcm);
}

static void test_aliases_and_secrets(void **state)
{
    (void)state;
    cs_keys_t k;
    char plain[256];
    store_ring(&k, NULL, 0, NULL, "mytestkey");
    /* "locked" has its own password: without {secret:…}, or with a wrong one, it does not open */
    char *v = encrypt_value(&k, "{key:locked}{secret:k3ysecret}L");
    assert_int_equal(decrypt_value(&k, v, plain, sizeof(plain)), CS_CIPHER_OK);
    assert_string_equal(plain, "L");
    char value[4096];
    const char *body = strstr(v, "}AQ") + 1;
    snprintf(value, sizeof(value), "{cipher}{key:locked}%s", body);
    assert_int_equal(decrypt_value(&k, value, plain, sizeof(plain)), CS_CIPHER_NO_KEY);
    snprintf(value, sizeof(value), "{cipher}{key:locked}{secret:nope}%s", body);
    assert_int_equal(decrypt_value(&k, value, plain, sizeof(plain)), CS_CIPHER_NO_KEY);
    /* an alias the store does not have */
    snprintf(value, sizeof(value), "{cipher}{key:nosuch}%s", body);
    assert_int_equal(decrypt_value(&k, value, plain, sizeof(plain)), CS_CIPHER_NO_ALIAS);
    free(v);
    /* PKCS#12 aliases match case-insensitively (Java's PKCS12 store) */
    v = encrypt_value(&k, "{key:ROTATED}R");
    assert_int_equal(decrypt_value(&k, v, plain, sizeof(plain)), CS_CIPHER_OK);
    free(v);
    /* a default that does not exist, or does not open with the default secret, is refused */
    char err[256];
    assert_int_equal(cs_keys_set_default(&k, "nosuch", "letmein", err, sizeof(err)), -1);
    cs_keys_free(&k);
    /* a wrong store password is refused with a reason */
    cs_keys_init(&k, CS_KEYS_STORE, NULL);
    size_t len;
    char *der = slurp("keys.p12", &len);
    assert_int_equal(cs_keys_add_pkcs12(&k, (const unsigned char *)der, len, "wrong", NULL, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "password"));
    assert_int_equal(cs_keys_add_pkcs12(&k, (const unsigned char *)"junk", 4, "x", NULL, err, sizeof(err)),
                     -1);
    free(der);
    cs_keys_free(&k);
}

static void test_rotation(void **state)
{
    (void)state;
    cs_keys_t before, after;
    char plain[256];
    store_ring(&before, NULL, 0, NULL, "mytestkey");
    store_ring(&after, NULL, 0, NULL, "rotated");
    char *old_named = encrypt_value(&before, "{key:mytestkey}old");
    char *fresh = encrypt_value(&after, "new");
    /* after the rotation the old alias still decrypts, the new default encrypts */
    assert_int_equal(decrypt_value(&after, old_named, plain, sizeof(plain)), CS_CIPHER_OK);
    assert_string_equal(plain, "old");
    assert_int_equal(decrypt_value(&after, fresh, plain, sizeof(plain)), CS_CIPHER_OK);
    assert_string_equal(plain, "new");
    /* a value without {key:…} is the default key's: the old default does not open a new one */
    assert_int_not_equal(decrypt_value(&before, fresh, plain, sizeof(plain)), CS_CIPHER_OK);
    free(old_named);
    free(fresh);
    cs_keys_free(&before);
    cs_keys_free(&after);
}

static void test_public_key_and_pem(void **state)
{
    (void)state;
    cs_keys_t k;
    cs_keysel_t sel;
    dbuf_t out;
    size_t len;
    char err[256], plain[256];
    store_ring(&k, NULL, 0, NULL, "rotated");
    dbuf_init(&out, 1u << 16);
    assert_int_equal(cs_keys_locate(&k, "", &sel), CS_CIPHER_OK);
    assert_int_equal(cs_keys_public(&sel, &out), 0);
    char *want = slurp("spring-key-rotated.txt", &len);
    assert_string_equal(dbuf_ptr(&out), want);
    free(want);
    dbuf_free(&out);
    cs_keys_release(&sel);
    cs_keys_free(&k);
    /* one PEM key (Spring's encrypt.key as RSA): every prefix is ignored */
    char *pem = slurp("pem-key.pem", &len);
    cs_keys_init(&k, CS_KEYS_RSA_SINGLE, NULL);
    assert_int_equal(cs_keys_add_pem(&k, NULL, pem, len, err, sizeof(err)), 0);
    char *v = encrypt_value(&k, "{key:whatever}p");
    assert_int_equal(decrypt_value(&k, v, plain, sizeof(plain)), CS_CIPHER_OK);
    assert_string_equal(plain, "p");
    free(v);
    cs_keys_free(&k);
    cs_keys_init(&k, CS_KEYS_RSA_SINGLE, NULL);
    assert_int_equal(cs_keys_add_pem(&k, NULL,
                                     "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 60,
                                     err, sizeof(err)),
                     -1);
    cs_keys_free(&k);
    /* a symmetric key has no public form */
    cs_keys_init(&k, CS_KEYS_SYMMETRIC, NULL);
    assert_int_equal(cs_cipher_init(&k.sym, "k", 1, NULL), 0);
    dbuf_init(&out, 1u << 16);
    assert_int_equal(cs_keys_locate(&k, "{key:x}", &sel), CS_CIPHER_OK);
    assert_int_equal(cs_keys_public(&sel, &out), -1);
    dbuf_free(&out);
    cs_keys_release(&sel);
    cs_keys_free(&k);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spring_vectors),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wrong_key_and_tampering),
        cmocka_unit_test(test_aliases_and_secrets),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_public_key_and_pem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
