/* rsacipher.c — Spring's RSA {cipher} scheme with OpenSSL 3 EVP (see rsacipher.h). */
#include "crypto/rsacipher.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "hexdig.h"

#define SECRET_LEN 16
#define MAX_TEXT (64u << 20)

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int cs_rsa_params_init(cs_rsa_params_t *p, const char *alg, const char *salt, int strong, char *err,
                       size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->strong = strong != 0;
    if (alg == NULL || strcasecmp(alg, "DEFAULT") == 0)
        p->alg = CS_RSA_DEFAULT;
    else if (strcasecmp(alg, "OAEP") == 0)
        p->alg = CS_RSA_OAEP;
    else {
        snprintf(err, errlen, "unknown RSA algorithm '%s' (DEFAULT or OAEP)", alg);
        return -1;
    }
    if (salt == NULL)
        salt = "deadbeef";
    size_t n = strlen(salt);
    if (hexdig_even(salt, strlen(salt))) {
        if (n == 0 || n >= sizeof(p->salt_hex)) {
            snprintf(err, errlen, "the RSA salt must be 1..64 bytes");
            return -1;
        }
        memcpy(p->salt_hex, salt, n + 1);
        return 0;
    }
    if (2 * n >= sizeof(p->salt_hex)) {
        snprintf(err, errlen, "the RSA salt must be 1..64 bytes");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)salt[i];
        p->salt_hex[2 * i] = "0123456789abcdef"[c >> 4];
        p->salt_hex[2 * i + 1] = "0123456789abcdef"[c & 15];
    }
    return 0;
}

/* A context for RSA encryption or decryption with the algorithm's padding, or NULL. */
static EVP_PKEY_CTX *rsa_ctx(const cs_rsa_params_t *p, EVP_PKEY *key, int decrypt)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    if (ctx == NULL)
        return NULL;
    int ok = decrypt ? EVP_PKEY_decrypt_init(ctx) : EVP_PKEY_encrypt_init(ctx);
    if (ok == 1 && p->alg == CS_RSA_OAEP)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) == 1;
    else if (ok == 1)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    if (ok != 1) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* The AES encryptor keyed by the hex of `secret` and the salt. 0 or -1. */
static int aes_for(const cs_rsa_params_t *p, const unsigned char *secret, size_t n, cs_cipher_t *c)
{
    char pw[2 * 512 + 1];
    if (n > 512)
        return -1;
    for (size_t i = 0; i < n; i++) {
        pw[2 * i] = "0123456789abcdef"[secret[i] >> 4];
        pw[2 * i + 1] = "0123456789abcdef"[secret[i] & 15];
    }
    int rc = cs_cipher_init(c, pw, 2 * n, p->salt_hex);
    OPENSSL_cleanse(pw, sizeof(pw));
    return rc;
}

static int add_base64(dbuf_t *out, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)b[i] << 16;
        size_t k = n - i >= 3 ? 3 : n - i;
        if (k > 1)
            v |= (unsigned)b[i + 1] << 8;
        if (k > 2)
            v |= b[i + 2];
        char q[4] = {b64chars[(v >> 18) & 63], b64chars[(v >> 12) & 63],
                     k > 1 ? b64chars[(v >> 6) & 63] : '=', k > 2 ? b64chars[v & 63] : '='};
        if (dbuf_add(out, q, 4) != 0)
            return -1;
    }
    return 0;
}

/* java.util.Base64's basic decoder: the alphabet only, padding optional but right when
 * present, no line breaks. The bytes into a malloc'ed *raw (length *n). 0, -1 not base64,
 * -2 out of memory. */
static int base64_decode(const char *s, size_t len, unsigned char **raw, size_t *n)
{
    size_t pad = 0;
    while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
        pad++;
    size_t body = len - pad, rem = body % 4;
    if (rem == 1 || (pad > 0 && (rem == 0 || pad != 4 - rem)))
        return -1;
    unsigned char *o = malloc(body / 4 * 3 + 3);
    if (o == NULL)
        return -2;
    size_t k = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < body; i++) {
        const char *q = s[i] != '\0' ? strchr(b64chars, s[i]) : NULL;
        if (q == NULL) {
            free(o);
            return -1;
        }
        acc = (acc << 6) | (unsigned)(q - b64chars);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *raw = o;
    *n = k;
    return 0;
}

int cs_rsa_encrypt(const cs_rsa_params_t *p, EVP_PKEY *key, const char *plain, size_t len, dbuf_t *out)
{
    int rc = -1;
    unsigned char secret[SECRET_LEN];
    unsigned char *wrapped = NULL;
    size_t wl = 0;
    cs_cipher_t aes;
    dbuf_t bytes;
    dbuf_init(&bytes, MAX_TEXT * 2);
    memset(&aes, 0, sizeof(aes));
    EVP_PKEY_CTX *ctx = rsa_ctx(p, key, 0);
    if (ctx == NULL || len > MAX_TEXT || RAND_bytes(secret, sizeof(secret)) != 1 ||
        EVP_PKEY_encrypt(ctx, NULL, &wl, secret, sizeof(secret)) != 1 || wl > 0xffff ||
        (wrapped = malloc(wl)) == NULL || EVP_PKEY_encrypt(ctx, wrapped, &wl, secret, sizeof(secret)) != 1 ||
        aes_for(p, secret, sizeof(secret), &aes) != 0)
        goto cleanup;
    unsigned char lenb[2] = {(unsigned char)(wl >> 8), (unsigned char)(wl & 0xff)};
    if (dbuf_add(&bytes, lenb, 2) != 0 || dbuf_add(&bytes, wrapped, wl) != 0 ||
        cs_cipher_seal(&aes, p->strong, (const unsigned char *)plain, len, &bytes) != 0 ||
        add_base64(out, (const unsigned char *)dbuf_ptr(&bytes), dbuf_len(&bytes)) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    OPENSSL_cleanse(secret, sizeof(secret));
    cs_cipher_wipe(&aes);
    free(wrapped);
    dbuf_free(&bytes);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

cs_cipher_rc_t cs_rsa_decrypt(const cs_rsa_params_t *p, EVP_PKEY *key, const char *b64, size_t len,
                              dbuf_t *out)
{
    cs_cipher_rc_t rc = CS_CIPHER_OOM;
    unsigned char *raw = NULL, *secret = NULL;
    size_t n = 0, sl = 0;
    cs_cipher_t aes;
    memset(&aes, 0, sizeof(aes));
    EVP_PKEY_CTX *ctx = NULL;
    int d = base64_decode(b64, len, &raw, &n);
    if (d != 0) {
        rc = d == -1 ? CS_CIPHER_BAD_BASE64 : CS_CIPHER_OOM;
        goto cleanup;
    }
    size_t wl = n >= 2 ? ((size_t)raw[0] << 8) | raw[1] : 0;
    if (n < 2 || wl == 0 || n - 2 < wl) {
        rc = CS_CIPHER_TOO_SHORT;
        goto cleanup;
    }
    if ((ctx = rsa_ctx(p, key, 1)) == NULL || EVP_PKEY_decrypt(ctx, NULL, &sl, raw + 2, wl) != 1 ||
        (secret = malloc(sl)) == NULL)
        goto cleanup;
    if (EVP_PKEY_decrypt(ctx, secret, &sl, raw + 2, wl) != 1 || sl == 0) {
        rc = CS_CIPHER_BAD_RSA;
        goto cleanup;
    }
    if (aes_for(p, secret, sl, &aes) != 0) {
        rc = CS_CIPHER_BAD_RSA;
        goto cleanup;
    }
    rc = cs_cipher_open_text(&aes, p->strong, raw + 2 + wl, n - 2 - wl, out);
cleanup:
    if (secret != NULL) {
        OPENSSL_cleanse(secret, sl);
        free(secret);
    }
    cs_cipher_wipe(&aes);
    free(raw);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* An SSH mpint-like field as Java's BigInteger.toByteArray writes it: 4-byte length, then
 * the minimal two's-complement bytes (a leading 0 when the top bit is set). */
static int add_bigint(dbuf_t *b, const BIGNUM *bn)
{
    int nb = BN_num_bytes(bn);
    unsigned char *v = malloc((size_t)nb + 1);
    if (v == NULL)
        return -1;
    v[0] = 0;
    BN_bn2bin(bn, v + 1);
    int lead = nb > 0 && (v[1] & 0x80) ? 1 : 0;
    size_t len = (size_t)nb + (size_t)lead;
    unsigned char l4[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                           (unsigned char)len};
    int rc = dbuf_add(b, l4, 4) == 0 && dbuf_add(b, v + 1 - lead, len) == 0 ? 0 : -1;
    free(v);
    return rc;
}

int cs_rsa_public_text(EVP_PKEY *key, dbuf_t *out)
{
    static const unsigned char prefix[] = {0, 0, 0, 7, 's', 's', 'h', '-', 'r', 's', 'a'};
    BIGNUM *n = NULL, *e = NULL;
    dbuf_t wire;
    int rc = -1;
    dbuf_init(&wire, 1u << 16);
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
        goto cleanup;
    if (dbuf_add(&wire, prefix, sizeof(prefix)) != 0 || add_bigint(&wire, e) != 0 ||
        add_bigint(&wire, n) != 0)
        goto cleanup;
    if (dbuf_adds(out, "ssh-rsa ") != 0 ||
        add_base64(out, (const unsigned char *)dbuf_ptr(&wire), dbuf_len(&wire)) != 0 ||
        dbuf_adds(out, " application") != 0)
        goto cleanup;
    rc = 0;
cleanup:
    BN_free(n);
    BN_free(e);
    dbuf_free(&wire);
    return rc;
}
