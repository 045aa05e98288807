/* pwhash.c — PBKDF2-SHA256 (passlib format) and bcrypt password hashes (pwhash.h). */
#include "auth/pwhash.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define PREFIX "$pbkdf2-sha256$"
#define SALT_LEN 16
#define HASH_LEN 32

/* passlib's adapted base64 of n bytes into out (no padding). */
static void ab64_encode(const unsigned char *in, size_t n, char *out, size_t size)
{
    unsigned char tmp[4 * ((64 + 2) / 3) + 1];
    if (n > 64 || size < 4 * ((n + 2) / 3) + 1) {
        out[0] = '\0';
        return;
    }
    int got = EVP_EncodeBlock(tmp, in, (int)n);
    size_t len = got > 0 && (size_t)got < size && (size_t)got < sizeof(tmp) ? (size_t)got : 0;
    while (len > 0 && tmp[len - 1] == '=')
        len--;
    for (size_t i = 0; i < len; i++)
        out[i] = tmp[i] == '+' ? '.' : (char)tmp[i];
    out[len] = '\0';
}

/* The bytes of passlib's adapted base64 `in` (len chars) into out; their count, or -1. */
static int ab64_decode(const char *in, size_t len, unsigned char *out, size_t size)
{
    char tmp[128];
    unsigned char raw[96];
    if (len == 0 || len % 4 == 1 || len + 3 >= sizeof(tmp))
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '/'))
            return -1;
        tmp[n++] = c == '.' ? '+' : c;
    }
    size_t pad = (4 - n % 4) % 4;
    for (size_t i = 0; i < pad; i++)
        tmp[n++] = '=';
    int got = EVP_DecodeBlock(raw, (const unsigned char *)tmp, (int)n);
    if (got < 0)
        return -1;
    got -= (int)pad;
    if (got <= 0 || (size_t)got > size)
        return -1;
    memcpy(out, raw, (size_t)got);
    return got;
}

int cs_pwhash_make(const char *pw, size_t len, unsigned iterations, char *out, size_t size)
{
    unsigned char salt[SALT_LEN], hash[HASH_LEN];
    char s64[32], h64[64];
    if (iterations < CS_PWHASH_MIN_ITERATIONS || iterations > 100000000u || size < 128)
        return -1;
    if (RAND_bytes(salt, sizeof(salt)) != 1 ||
        PKCS5_PBKDF2_HMAC(pw, (int)len, salt, sizeof(salt), (int)iterations, EVP_sha256(), sizeof(hash),
                          hash) != 1)
        return -1;
    ab64_encode(salt, sizeof(salt), s64, sizeof(s64));
    ab64_encode(hash, sizeof(hash), h64, sizeof(h64));
    OPENSSL_cleanse(hash, sizeof(hash));
    snprintf(out, size, PREFIX "%u$%s$%s", iterations, s64, h64);
    return 0;
}

typedef struct parsed {
    unsigned long iterations;
    unsigned char salt[64];
    int salt_len;
    unsigned char hash[64];
    int hash_len;
} parsed_t;

static int parse_pbkdf2(const char *s, parsed_t *p, char *why, size_t whylen)
{
    const char *it = s + strlen(PREFIX);
    char *end = NULL;
    p->iterations = strtoul(it, &end, 10);
    if (end == it || *end != '$') {
        snprintf(why, whylen, "expected $pbkdf2-sha256$<iterations>$<salt>$<hash>");
        return -1;
    }
    if (p->iterations < CS_PWHASH_MIN_ITERATIONS || p->iterations > 100000000ul) {
        snprintf(why, whylen, "%lu PBKDF2 iterations: at least %d", p->iterations, CS_PWHASH_MIN_ITERATIONS);
        return -1;
    }
    const char *salt = end + 1, *dollar = strchr(salt, '$');
    if (dollar == NULL || strchr(dollar + 1, '$') != NULL) {
        snprintf(why, whylen, "expected $pbkdf2-sha256$<iterations>$<salt>$<hash>");
        return -1;
    }
    p->salt_len = ab64_decode(salt, (size_t)(dollar - salt), p->salt, sizeof(p->salt));
    p->hash_len = ab64_decode(dollar + 1, strlen(dollar + 1), p->hash, sizeof(p->hash));
    if (p->salt_len < 8 || p->hash_len != HASH_LEN) {
        snprintf(why, whylen, "the salt (8 bytes or more) or the hash (32 bytes) is not adapted base64");
        return -1;
    }
    return 0;
}

static int is_pbkdf2(const char *s)
{
    return strncmp(s, "$pbkdf2-sha256$", 15) == 0;
}

static int is_bcrypt(const char *s)
{
    return strncmp(s, "$2a$", 4) == 0 || strncmp(s, "$2b$", 4) == 0 || strncmp(s, "$2y$", 4) == 0;
}

int cs_pwhash_check(const char *stored, char *why, size_t whylen)
{
    if (is_pbkdf2(stored)) {
        parsed_t p;
        return parse_pbkdf2(stored, &p, why, whylen);
    }
    if (is_bcrypt(stored)) {
        if (strlen(stored) != 60) {
            snprintf(why, whylen, "a bcrypt hash has 60 characters");
            return -1;
        }
        return 0;
    }
    snprintf(why, whylen,
             "not a password hash ($pbkdf2-sha256$… from `config-server hash-password`, or bcrypt $2b$…)");
    return -1;
}

int cs_pwhash_verify(const char *stored, const char *pw, size_t len)
{
    char why[128];
    if (is_pbkdf2(stored)) {
        parsed_t p;
        unsigned char got[HASH_LEN];
        if (parse_pbkdf2(stored, &p, why, sizeof(why)) != 0 ||
            PKCS5_PBKDF2_HMAC(pw, (int)len, p.salt, p.salt_len, (int)p.iterations, EVP_sha256(), HASH_LEN,
                              got) != 1)
            return 0;
        int ok = CRYPTO_memcmp(got, p.hash, HASH_LEN) == 0;
        OPENSSL_cleanse(got, sizeof(got));
        return ok;
    }
    if (is_bcrypt(stored) && strlen(stored) == 60 && memchr(pw, '\0', len) == NULL && len < 1024) {
        char buf[1024];
        memcpy(buf, pw, len);
        buf[len] = '\0';
        struct crypt_data *cd = calloc(1, sizeof(*cd));
        int ok = 0;
        if (cd != NULL) {
            const char *h = crypt_rn(buf, stored, cd, (int)sizeof(*cd));
            ok = h != NULL && strlen(h) == 60 && CRYPTO_memcmp(h, stored, 60) == 0;
            OPENSSL_cleanse(cd, sizeof(*cd));
            free(cd);
        }
        OPENSSL_cleanse(buf, sizeof(buf));
        return ok;
    }
    return 0;
}
