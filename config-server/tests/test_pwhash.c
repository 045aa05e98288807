/* test_pwhash.c — unit tests of the credentials file's password hashes: our PBKDF2 hashes
 * verify and carry a fresh salt each; passlib's pbkdf2_sha256 and bcrypt ($2a$, $2b$, $2y$)
 * hashes (made by passlib 1.7.4) verify here; wrong passwords, malformed hashes and too few
 * iterations are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "auth/pwhash.h"

static void test_make_verify(void **state)
{
    (void)state;
    char a[256], b[256], why[160];
    assert_int_equal(cs_pwhash_make("s3cret", 6, CS_PWHASH_MIN_ITERATIONS, a, sizeof(a)), 0);
    assert_int_equal(cs_pwhash_make("s3cret", 6, CS_PWHASH_MIN_ITERATIONS, b, sizeof(b)), 0);
    assert_non_null(strstr(a, "$pbkdf2-sha256$10000$"));
    assert_string_not_equal(a, b); /* a salt per hash */
    assert_int_equal(cs_pwhash_check(a, why, sizeof(why)), 0);
    assert_true(cs_pwhash_verify(a, "s3cret", 6));
    assert_true(cs_pwhash_verify(b, "s3cret", 6));
    assert_false(cs_pwhash_verify(a, "s3cret!", 7));
    assert_false(cs_pwhash_verify(a, "s3cre", 5));
    assert_false(cs_pwhash_verify(a, "", 0));
    /* a NUL inside the password is part of it */
    assert_int_equal(cs_pwhash_make("a\0b", 3, CS_PWHASH_MIN_ITERATIONS, a, sizeof(a)), 0);
    assert_true(cs_pwhash_verify(a, "a\0b", 3));
    assert_false(cs_pwhash_verify(a, "a", 1));
    assert_int_equal(cs_pwhash_make("x", 1, 999, a, sizeof(a)), -1);
    assert_int_equal(cs_pwhash_make("x", 1, CS_PWHASH_MIN_ITERATIONS, a, 64), -1);
}

static void test_passlib_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *hash, *pw;
    } v[] = {
        {"$pbkdf2-sha256$29000$m3POmTMmpHTOOQfgnPOeUw$z4owiVyeRjhdQMDqpaMVkisRsbvYTbPD02MradseHS8",
         "correct horse"},
        {"$pbkdf2-sha256$10000$Q0ipde7dG0OIca5Vau0dow$YtWKTcuS96.XWDvZ6m7rbtocwhTk/WTNxPwmpi/HgS0",
         "p@ss:w\xc3\xb6rd"},
        {"$2b$05$Ct18cVoEv2EOCYqF6uQrbev9ee4w7wgp3183Km6SC7TKeCi09s8Ja", "s3cret"},
        {"$2a$05$gkB6SLmBl8pODgMMTK9T9ehYCGB9Q.hrVrXjqsDb.MPCWNZNUgFsi", "s3cret"},
        {"$2y$05$ymvJhIy/7fSfQquaaq7wKe/yJJHwV5nC8nX1S2wasreTjixK/HJnu", "s3cret"},
    };
    char why[160];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(cs_pwhash_check(v[i].hash, why, sizeof(why)), 0);
        assert_true(cs_pwhash_verify(v[i].hash, v[i].pw, strlen(v[i].pw)));
        assert_false(cs_pwhash_verify(v[i].hash, "wrong", 5));
    }
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "s3cret", /* plain text */
        "",
        "$pbkdf2-sha256$",
        "$pbkdf2-sha256$29000$m3POmTMmpHTOOQfgnPOeUw",
        "$pbkdf2-sha256$999$m3POmTMmpHTOOQfgnPOeUw$z4owiVyeRjhdQMDqpaMVkisRsbvYTbPD02MradseHS8", /* too few */
        "$pbkdf2-sha256$x$m3POmTMmpHTOOQfgnPOeUw$z4owiVyeRjhdQMDqpaMVkisRsbvYTbPD02MradseHS8",
        "$pbkdf2-sha256$29000$m3PO!TMmpHTOOQfgnPOeUw$z4owiVyeRjhdQMDqpaMVkisRsbvYTbPD02MradseHS8",
        "$pbkdf2-sha256$29000$m3POmTMmpHTOOQfgnPOeUw$z4owiVyeRjhdQMDqpaMVkisRsbvY", /* short hash */
        "$pbkdf2-sha256$29000$m3POmTMmpHTOOQfgnPOeUw$z4owiVyeRjhdQMDqpaMVkisRsbvYTbPD02MradseHS8$x",
        "$2b$05$Ct18cVoEv2EOCYqF6uQrbe", /* bcrypt, cut short */
        "$1$abc$def",                    /* md5-crypt: not accepted */
        "{SHA}abc",
    };
    char why[160];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cs_pwhash_check(bad[i], why, sizeof(why)) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_true(why[0] != '\0');
        assert_false(cs_pwhash_verify(bad[i], "s3cret", 6));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_verify),
        cmocka_unit_test(test_passlib_vectors),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
