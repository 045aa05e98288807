/* test_cipher.c — unit tests of crypto/cipher: the fixed vectors that a real Spring Cloud
 * Config Server 5.0.6 produced (fixtures/cipher/spring-vectors.tsv) decrypt here; our
 * own output round-trips; Spring's prefix rules; every malformed input is a result code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"

static cs_cipher_t key_s3cr3t(void)
{
    cs_cipher_t c;
    assert_int_equal(cs_cipher_init(&c, "s3cr3t-k3y", 10, NULL), 0);
    return c;
}

static void test_spring_vectors(void **state)
{
    (void)state;
    FILE *f = fopen(CS_CIPHER_VECTORS, "r");
    assert_non_null(f);
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *key = strtok(line, "\t"), *plain = strtok(NULL, "\t"), *enc = strtok(NULL, "\t");
        assert_non_null(enc);
        cs_cipher_t c;
        assert_int_equal(cs_cipher_init(&c, key, strlen(key), "deadbeef"), 0);
        /* as a served value: {cipher} + Spring's answer */
        char value[1200];
        snprintf(value, sizeof(value), "{cipher}%s", enc);
        dbuf_t out;
        dbuf_init(&out, 4096);
        assert_int_equal(cs_cipher_decrypt_value(&c, value, &out), CS_CIPHER_OK);
        assert_string_equal(dbuf_ptr(&out), plain);
        dbuf_free(&out);
        /* and upper-case hex decodes as well (Spring's Hex.decode accepts it) */
        const char *hex = enc + cs_cipher_prefix_len(enc);
        char upper[1200];
        size_t hl = strlen(hex);
        for (size_t i = 0; i <= hl; i++)
            upper[i] = (char)((hex[i] >= 'a' && hex[i] <= 'f') ? hex[i] - 32 : hex[i]);
        assert_int_equal(cs_cipher_decrypt(&c, upper, hl, &out), CS_CIPHER_OK);
        assert_string_equal(dbuf_ptr(&out), plain);
        dbuf_free(&out);
        cs_cipher_wipe(&c);
        n++;
    }
    fclose(f);
    assert_true(n >= 10);
}

static void test_round_trip(void **state)
{
    (void)state;
    cs_cipher_t c = key_s3cr3t();
    static const char *const texts[] = {"",
                                        "x",
                                        "0123456789abcde",
                                        "0123456789abcdef",
                                        "ünïcode ☃ 😀",
                                        "a much longer text that spans several AES blocks ............"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        dbuf_t enc, dec;
        dbuf_init(&enc, 4096);
        dbuf_init(&dec, 4096);
        assert_int_equal(cs_cipher_encrypt(&c, texts[i], strlen(texts[i]), &enc), 0);
        size_t padded = (strlen(texts[i]) / 16 + 1) * 16;
        assert_int_equal(dbuf_len(&enc), 2 * (16 + padded));
        for (const char *p = dbuf_ptr(&enc); *p; p++)
            assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
        assert_int_equal(cs_cipher_decrypt(&c, dbuf_ptr(&enc), dbuf_len(&enc), &dec), CS_CIPHER_OK);
        assert_string_equal(dbuf_ptr(&dec), texts[i]);
        /* a fresh IV every time */
        dbuf_t again;
        dbuf_init(&again, 4096);
        assert_int_equal(cs_cipher_encrypt(&c, texts[i], strlen(texts[i]), &again), 0);
        assert_string_not_equal(dbuf_ptr(&again), dbuf_ptr(&enc));
        dbuf_free(&again);
        dbuf_free(&enc);
        dbuf_free(&dec);
    }
    cs_cipher_wipe(&c);
}

static void test_bad_input(void **state)
{
    (void)state;
    cs_cipher_t c = key_s3cr3t(), other;
    assert_int_equal(cs_cipher_init(&other, "another-key", 11, NULL), 0);
    dbuf_t out;
    dbuf_init(&out, 4096);
    const char *good = "450abec725832b71452192f3fff5c900ee2e06446440a8739eefb8fbbb806590";
    assert_int_equal(cs_cipher_decrypt(&c, "abc", 3, &out), CS_CIPHER_BAD_HEX);
    assert_int_equal(cs_cipher_decrypt(&c, "zz", 2, &out), CS_CIPHER_BAD_HEX);
    assert_int_equal(cs_cipher_decrypt(&c, "abcd", 4, &out), CS_CIPHER_TOO_SHORT);
    assert_int_equal(cs_cipher_decrypt(&c, "", 0, &out), CS_CIPHER_TOO_SHORT);
    assert_int_equal(cs_cipher_decrypt(&c, good, 40, &out), CS_CIPHER_TOO_SHORT); /* IV only */
    assert_int_equal(cs_cipher_decrypt(&c, good, 62, &out), CS_CIPHER_TOO_SHORT);
    char odd[80];
    snprintf(odd, sizeof(odd), "%s0000", good);
    assert_int_equal(cs_cipher_decrypt(&c, odd, 68, &out), CS_CIPHER_BAD_CRYPT); /* not whole blocks */
    char flipped[80];
    snprintf(flipped, sizeof(flipped), "%s", good);
    flipped[63] = flipped[63] == '0' ? '1' : '0'; /* last byte of the padding block */
    assert_int_not_equal(cs_cipher_decrypt(&c, flipped, 64, &out), CS_CIPHER_OK);
    assert_int_not_equal(cs_cipher_decrypt(&other, good, 64, &out), CS_CIPHER_OK);
    assert_int_equal(dbuf_len(&out), 0);
    assert_int_equal(cs_cipher_decrypt_value(&c, good, &out), CS_CIPHER_BAD_HEX); /* no {cipher} */
    assert_int_equal(cs_cipher_init(&other, "k", 1, "abc"), -1);                  /* odd salt */
    assert_int_equal(cs_cipher_init(&other, "k", 1, "zz"), -1);
    /* a NUL or invalid UTF-8 plain text is refused after decryption */
    dbuf_t enc;
    dbuf_init(&enc, 4096);
    assert_int_equal(cs_cipher_encrypt(&c, "a\0b", 3, &enc), 0);
    assert_int_equal(cs_cipher_decrypt(&c, dbuf_ptr(&enc), dbuf_len(&enc), &out), CS_CIPHER_BAD_UTF8);
    dbuf_reset(&enc);
    assert_int_equal(cs_cipher_encrypt(&c, "\xc3\x28", 2, &enc), 0);
    assert_int_equal(cs_cipher_decrypt(&c, dbuf_ptr(&enc), dbuf_len(&enc), &out), CS_CIPHER_BAD_UTF8);
    dbuf_free(&enc);
    for (int rc = CS_CIPHER_OK; rc <= CS_CIPHER_OOM; rc++)
        assert_non_null(cs_cipher_reason((cs_cipher_rc_t)rc));
    cs_cipher_wipe(&c);
    cs_cipher_wipe(&other);
}

static void test_salt(void **state)
{
    (void)state;
    cs_cipher_t a, b, d;
    assert_int_equal(cs_cipher_init(&a, "k", 1, NULL), 0);
    assert_int_equal(cs_cipher_init(&b, "k", 1, "DEADBEEF"), 0);
    assert_int_equal(cs_cipher_init(&d, "k", 1, "0102"), 0);
    assert_memory_equal(a.key, b.key, 32);
    assert_memory_not_equal(a.key, d.key, 32);
    /* PBKDF2-HMAC-SHA1("s3cr3t-k3y", de ad be ef, 1024, 32): Python hashlib's answer */
    cs_cipher_t c = key_s3cr3t();
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", c.key[i]);
    assert_string_equal(hex, CS_CIPHER_PBKDF2_S3CR3T);
}

static void test_prefix(void **state)
{
    (void)state;
    /* Spring's stripPrefix: ^(\{.*?:.*?\})+ unless {plain}; nothing without a '}' */
    assert_int_equal(cs_cipher_prefix_len("abcdef"), 0);
    assert_int_equal(cs_cipher_prefix_len("{key:foo}abc"), 9);
    assert_int_equal(cs_cipher_prefix_len("{key:foo}{secret:x}abc"), 19);
    assert_int_equal(cs_cipher_prefix_len("{cipher}abc"), 0); /* no ':' inside: not a pair */
    assert_int_equal(cs_cipher_prefix_len("{a}{b:c}xyz"), 8); /* lazy .*? runs over the first '}' */
    assert_int_equal(cs_cipher_prefix_len("{plain}{a:b}x"), 7);
    assert_int_equal(cs_cipher_prefix_len("{k:\nv}x"), 0);
    assert_int_equal(cs_cipher_prefix_len("x{k:v}"), 0);
    /* /encrypt's prefix: the {k:v} pairs in order, name/profiles dropped, a bare {k} → {k:} */
    static const char *const cases[][2] = {
        {"{key:foo}pfx", "{key:foo}"},
        {"{cipher}x", "{cipher:}"},
        {"{\"a\":1}", "{\"a\":1}"},
        {"plain", ""},
        {"{name:app}{key:k}x", ""}, /* Spring's greedy {name:.*} swallows the rest */
        {"{key:a}{profiles:p}{key:b}", "{key:a}"},
        {"{key:a}{other:z}{key:b}", "{key:b}{other:z}"},
        {"{plain}{a:b}literal", ""},
        {"{a:b}{plain}x", "{a:b}"},
        {"  {k:v} x}", "{k:v}"},
        {"{k:}x", "{k::}"}, /* ends with ':' → key "k:" and an empty value */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dbuf_t out;
        dbuf_init(&out, 4096);
        assert_int_equal(cs_cipher_prefix_keys(cases[i][0], &out), 0);
        if (strcmp(dbuf_ptr(&out), cases[i][1]) != 0)
            fail_msg("prefix of '%s': got '%s', want '%s'", cases[i][0], dbuf_ptr(&out), cases[i][1]);
        dbuf_free(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spring_vectors), cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_input),      cmocka_unit_test(test_salt),
        cmocka_unit_test(test_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
