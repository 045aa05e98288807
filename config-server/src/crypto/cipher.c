/* cipher.c — Spring's symmetric {cipher} scheme with OpenSSL EVP (see cipher.h). */
#include "crypto/cipher.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hexdig.h"
#include "utf8text.h"

#define IV_LEN 16
#define BLOCK 16
#define ITERATIONS 1024
#define MARK "{cipher}"
#define PLAIN_ESCAPE "{plain}"

int cs_cipher_init(cs_cipher_t *c, const char *password, size_t len, const char *salt_hex)
{
    unsigned char salt[64];
    size_t sl = 0;
    memset(c, 0, sizeof(*c));
    if (salt_hex == NULL)
        salt_hex = "deadbeef";
    size_t hl = strlen(salt_hex);
    if (hl % 2 != 0 || hl / 2 > sizeof(salt))
        return -1;
    for (; sl < hl / 2; sl++) {
        int hi = hexdig_value(salt_hex[2 * sl]), lo = hexdig_value(salt_hex[2 * sl + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        salt[sl] = (unsigned char)(hi * 16 + lo);
    }
    if (PKCS5_PBKDF2_HMAC(password, (int)len, salt, (int)sl, ITERATIONS, EVP_sha1(), (int)sizeof(c->key),
                          c->key) != 1)
        return -1;
    return 0;
}

void cs_cipher_wipe(cs_cipher_t *c)
{
    if (c != NULL)
        OPENSSL_cleanse(c->key, sizeof(c->key));
}

static const char hexchars[] = "0123456789abcdef";

static int add_hex(dbuf_t *out, const unsigned char *b, size_t n)
{
    char tmp[128];
    while (n > 0) {
        size_t k = n > sizeof(tmp) / 2 ? sizeof(tmp) / 2 : n;
        for (size_t i = 0; i < k; i++) {
            tmp[2 * i] = hexchars[b[i] >> 4];
            tmp[2 * i + 1] = hexchars[b[i] & 15];
        }
        if (dbuf_add(out, tmp, 2 * k) != 0)
            return -1;
        b += k;
        n -= k;
    }
    return 0;
}

#define TAG_LEN 16

int cs_cipher_seal(const cs_cipher_t *c, int gcm, const unsigned char *plain, size_t len, dbuf_t *out)
{
    int rc = -1, n1 = 0, n2 = 0;
    unsigned char iv[IV_LEN], tag[TAG_LEN];
    unsigned char *ct = NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || len > (1u << 30) || RAND_bytes(iv, sizeof(iv)) != 1)
        goto cleanup;
    ct = malloc(len + BLOCK);
    if (ct == NULL)
        goto cleanup;
    if (gcm) {
        if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) != 1 ||
            EVP_EncryptInit_ex(ctx, NULL, NULL, c->key, iv) != 1)
            goto cleanup;
    } else if (EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, c->key, iv) != 1)
        goto cleanup;
    if (EVP_EncryptUpdate(ctx, ct, &n1, plain, (int)len) != 1 || EVP_EncryptFinal_ex(ctx, ct + n1, &n2) != 1)
        goto cleanup;
    if (gcm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
        goto cleanup;
    if (dbuf_add(out, iv, sizeof(iv)) != 0 || dbuf_add(out, ct, (size_t)n1 + (size_t)n2) != 0 ||
        (gcm && dbuf_add(out, tag, TAG_LEN) != 0))
        goto cleanup;
    rc = 0;
cleanup:
    if (ct != NULL) {
        OPENSSL_cleanse(ct, len + BLOCK);
        free(ct);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

cs_cipher_rc_t cs_cipher_open(const cs_cipher_t *c, int gcm, const unsigned char *raw, size_t n, dbuf_t *out)
{
    cs_cipher_rc_t rc = CS_CIPHER_OOM;
    unsigned char *pt = NULL;
    int n1 = 0, n2 = 0;
    size_t body = 0;
    EVP_CIPHER_CTX *ctx = NULL;
    if (gcm ? n < IV_LEN + TAG_LEN : n < IV_LEN + BLOCK)
        return CS_CIPHER_TOO_SHORT;
    body = n - IV_LEN - (gcm ? TAG_LEN : 0);
    if (!gcm && body % BLOCK != 0)
        return CS_CIPHER_BAD_CRYPT;
    if (body > (1u << 30) || (pt = malloc(body + BLOCK)) == NULL || (ctx = EVP_CIPHER_CTX_new()) == NULL)
        goto cleanup;
    if (gcm) {
        if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) != 1 ||
            EVP_DecryptInit_ex(ctx, NULL, NULL, c->key, raw) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *)(raw + n - TAG_LEN)) != 1)
            goto cleanup;
    } else if (EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, c->key, raw) != 1)
        goto cleanup;
    if (EVP_DecryptUpdate(ctx, pt, &n1, raw + IV_LEN, (int)body) != 1 ||
        EVP_DecryptFinal_ex(ctx, pt + n1, &n2) != 1) {
        rc = CS_CIPHER_BAD_CRYPT;
        goto cleanup;
    }
    rc = dbuf_add(out, pt, (size_t)n1 + (size_t)n2) == 0 ? CS_CIPHER_OK : CS_CIPHER_OOM;
cleanup:
    if (pt != NULL) {
        OPENSSL_cleanse(pt, body + BLOCK);
        free(pt);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int cs_cipher_text_ok(const unsigned char *s, size_t len)
{
    return memchr(s, '\0', len) == NULL && utf8text_chars((const char *)s, len) >= 0;
}

int cs_cipher_encrypt(const cs_cipher_t *c, const char *plain, size_t len, dbuf_t *out)
{
    dbuf_t raw;
    dbuf_init(&raw, (1u << 30) + 64);
    int rc = cs_cipher_seal(c, 0, (const unsigned char *)plain, len, &raw);
    if (rc == 0)
        rc = add_hex(out, (const unsigned char *)dbuf_ptr(&raw), dbuf_len(&raw));
    dbuf_free(&raw); /* IV and ciphertext: nothing secret */
    return rc;
}

cs_cipher_rc_t cs_cipher_decrypt(const cs_cipher_t *c, const char *hex, size_t len, dbuf_t *out)
{
    cs_cipher_rc_t rc = CS_CIPHER_OOM;
    unsigned char *raw = NULL;
    size_t n = len / 2;
    if (len % 2 != 0)
        return CS_CIPHER_BAD_HEX;
    raw = malloc(n + 1);
    if (raw == NULL)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        int hi = hexdig_value(hex[2 * i]), lo = hexdig_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            rc = CS_CIPHER_BAD_HEX;
            goto cleanup;
        }
        raw[i] = (unsigned char)(hi * 16 + lo);
    }
    rc = cs_cipher_open_text(c, 0, raw, n, out);
cleanup:
    free(raw);
    return rc;
}

cs_cipher_rc_t cs_cipher_open_text(const cs_cipher_t *c, int gcm, const unsigned char *raw, size_t n,
                                   dbuf_t *out)
{
    dbuf_t pt;
    dbuf_init(&pt, 1u << 30);
    cs_cipher_rc_t rc = cs_cipher_open(c, gcm, raw, n, &pt);
    if (rc == CS_CIPHER_OK && !cs_cipher_text_ok((const unsigned char *)dbuf_ptr(&pt), dbuf_len(&pt)))
        rc = CS_CIPHER_BAD_UTF8;
    if (rc == CS_CIPHER_OK)
        rc = dbuf_add(out, dbuf_ptr(&pt), dbuf_len(&pt)) == 0 ? CS_CIPHER_OK : CS_CIPHER_OOM;
    if (pt.ptr != NULL)
        OPENSSL_cleanse(pt.ptr, pt.size);
    dbuf_free(&pt);
    return rc;
}

const char *cs_cipher_reason(cs_cipher_rc_t rc)
{
    switch (rc) {
    case CS_CIPHER_OK:
        return "ok";
    case CS_CIPHER_BAD_HEX:
        return "not an even number of hex digits";
    case CS_CIPHER_TOO_SHORT:
        return "too short for an IV and one cipher block";
    case CS_CIPHER_BAD_CRYPT:
        return "bad padding: encrypted with another key, or corrupted";
    case CS_CIPHER_BAD_UTF8:
        return "the decrypted bytes are not UTF-8 text";
    case CS_CIPHER_BAD_BASE64:
        return "not base64 (an RSA-encrypted value is)";
    case CS_CIPHER_BAD_RSA:
        return "the RSA-wrapped secret does not decrypt: encrypted with another key, or corrupted";
    case CS_CIPHER_NO_KEY:
        return "the key's secret ({secret:…} or the default) does not open it";
    case CS_CIPHER_NO_ALIAS:
        return "no key by that {key:…} alias";
    default:
        return "out of memory";
    }
}

/* ---------------------------------------------------------------- prefixes */

/* Length of a Java line terminator at s (\n, \r, U+0085, U+2028, U+2029), else 0: Java
 * regex '.' does not match them. */
static size_t line_term(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] == '\n' || u[0] == '\r')
        return 1;
    if (u[0] == 0xC2 && u[1] == 0x85)
        return 2;
    if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9))
        return 3;
    return 0;
}

/* One `\{.*?:.*?\}` at s (lazy, no line terminators): its length, or 0. */
static size_t pair_len(const char *s)
{
    if (*s != '{')
        return 0;
    const char *p = s + 1;
    while (*p != '\0' && *p != ':' && line_term(p) == 0)
        p++;
    if (*p != ':')
        return 0;
    p++;
    while (*p != '\0' && *p != '}' && line_term(p) == 0)
        p++;
    return *p == '}' ? (size_t)(p - s + 1) : 0;
}

size_t cs_cipher_prefix_len(const char *text)
{
    if (strchr(text, '}') == NULL)
        return 0;
    const char *esc = strstr(text, PLAIN_ESCAPE);
    if (esc != NULL)
        return (size_t)(esc - text) + strlen(PLAIN_ESCAPE);
    size_t off = 0, n;
    while ((n = pair_len(text + off)) > 0) /* ^(\{.*?:.*?\})+ */
        off += n;
    return off;
}

/* Spring's removeEnvironmentPrefix: the first `{tag.*}` (greedy, one line) cut out. */
static void cut_greedy(char *s, const char *tag)
{
    char *start = strstr(s, tag);
    if (start == NULL)
        return;
    char *last = NULL;
    for (char *p = start + strlen(tag); *p != '\0' && line_term(p) == 0; p++)
        if (*p == '}')
            last = p;
    if (last != NULL)
        memmove(start, last + 1, strlen(last + 1) + 1);
}

typedef struct pfx_pair {
    const char *k, *v;
    size_t kl, vl;
} pfx_pair_t;

static int trim_char(char c)
{
    return (unsigned char)c <= ' ';
}

/* Spring's getEncryptorKeys on `t` (modified in place; the pairs point into it), name and
 * profiles left out. */
static void parse_pairs(char *t, pfx_pair_t *pairs, size_t max, size_t *np)
{
    *np = 0;
    cut_greedy(t, "{name:");
    cut_greedy(t, "{profiles:");
    char *esc = strstr(t, PLAIN_ESCAPE);
    if (esc != NULL)
        *esc = '\0';
    /* StringUtils.split(text, "}") until no "}" is left; tokens trimmed as String.trim */
    for (char *p = t, *close; *p != '\0' && (close = strchr(p, '}')) != NULL; p = close + 1) {
        char *a = p, *b = close;
        while (a < b && trim_char(*a))
            a++;
        while (b > a && trim_char(b[-1]))
            b--;
        if (a == b || *a != '{')
            continue;
        char *colon = memchr(a, ':', (size_t)(b - a));
        pfx_pair_t pr = {.k = a + 1, .kl = (size_t)(b - a - 1), .v = "", .vl = 0};
        if (colon != NULL && colon + 1 < b) {
            pr.kl = (size_t)(colon - a - 1);
            pr.v = colon + 1;
            pr.vl = (size_t)(b - colon - 1);
        }
        if ((pr.kl == 4 && memcmp(pr.k, "name", 4) == 0) || (pr.kl == 8 && memcmp(pr.k, "profiles", 8) == 0))
            continue;
        size_t i = 0;
        while (i < *np && !(pairs[i].kl == pr.kl && memcmp(pairs[i].k, pr.k, pr.kl) == 0))
            i++;
        if (i < *np)
            pairs[i] = pr; /* LinkedHashMap.put: the value changes, the place stays */
        else if (*np < max)
            pairs[(*np)++] = pr;
    }
}

int cs_cipher_prefix_keys(const char *text, dbuf_t *out)
{
    char *t = strdup(text);
    pfx_pair_t pairs[32];
    size_t np = 0;
    int rc = -1;
    if (t == NULL)
        return -1;
    parse_pairs(t, pairs, sizeof(pairs) / sizeof(pairs[0]), &np);
    for (size_t i = 0; i < np; i++)
        if (dbuf_add(out, "{", 1) != 0 || dbuf_add(out, pairs[i].k, pairs[i].kl) != 0 ||
            dbuf_add(out, ":", 1) != 0 || dbuf_add(out, pairs[i].v, pairs[i].vl) != 0 ||
            dbuf_add(out, "}", 1) != 0)
            goto cleanup;
    rc = 0;
cleanup:
    free(t);
    return rc;
}

char *cs_cipher_prefix_get(const char *text, const char *name, int *found)
{
    char *t = strdup(text), *v = NULL;
    pfx_pair_t pairs[32];
    size_t np = 0, nl = strlen(name);
    *found = 0;
    if (t == NULL)
        return NULL;
    parse_pairs(t, pairs, sizeof(pairs) / sizeof(pairs[0]), &np);
    for (size_t i = 0; i < np; i++)
        if (pairs[i].kl == nl && memcmp(pairs[i].k, name, nl) == 0) {
            *found = 1;
            v = strndup(pairs[i].v, pairs[i].vl);
        }
    OPENSSL_cleanse(t, strlen(text));
    free(t);
    return v;
}

int cs_cipher_is_marked(const char *value)
{
    return strncmp(value, MARK, strlen(MARK)) == 0;
}

cs_cipher_rc_t cs_cipher_decrypt_value(const cs_cipher_t *c, const char *value, dbuf_t *out)
{
    if (!cs_cipher_is_marked(value))
        return CS_CIPHER_BAD_HEX;
    const char *body = value + strlen(MARK);
    body += cs_cipher_prefix_len(body);
    return cs_cipher_decrypt(c, body, strlen(body), out);
}
