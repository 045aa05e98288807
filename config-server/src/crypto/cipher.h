/* cipher.h — Spring Cloud Config's symmetric `{cipher}` scheme (encrypt.key), so a value
 * encrypted by a Spring Config Server decrypts here and back.
 *
 * The scheme is spring-security-crypto's Encryptors.text(key, salt) as Spring Cloud's
 * EncryptorFactory builds it (salt "deadbeef" unless encrypt.salt is set):
 *   AES key = PBKDF2-HMAC-SHA1(UTF-8 key, hex-decoded salt, 1024 iterations, 32 bytes);
 *   cipher  = AES-256-CBC with PKCS#5 padding and a random 16-byte IV;
 *   text    = lowercase hex of IV || ciphertext (decoding accepts either case).
 * Plain text is UTF-8; a decryption whose bytes are not valid UTF-8 fails, as Spring's
 * Utf8.decode does.
 *
 * Spring's text prefixes (EnvironmentPrefixHelper) are handled too: an input may start
 * with `{name:value}` pairs (e.g. `{key:alias}`), which select a key in Spring and are
 * stripped before decrypting; `/encrypt` copies them in front of its output; `{plain}`
 * ends the prefix. One symmetric key serves every name, as Spring's
 * SingleTextEncryptorLocator does.
 */
#ifndef CS_CIPHER_H
#define CS_CIPHER_H

#include <stddef.h>

#include "dbuf.h"

typedef struct cs_cipher {
    unsigned char key[32]; /* the derived AES-256 key */
} cs_cipher_t;

typedef enum {
    CS_CIPHER_OK = 0,
    CS_CIPHER_BAD_HEX,   /* odd length or a character that is not a hex digit */
    CS_CIPHER_TOO_SHORT, /* fewer than IV + one block */
    CS_CIPHER_BAD_CRYPT, /* wrong key or corrupted text (padding) */
    CS_CIPHER_BAD_UTF8,  /* decrypted bytes are not UTF-8, or contain NUL */
    CS_CIPHER_OOM,
    CS_CIPHER_BAD_BASE64, /* an RSA text that is not base64 */
    CS_CIPHER_BAD_RSA,    /* the RSA-wrapped secret does not decrypt with the key */
    CS_CIPHER_NO_KEY,     /* the value's {secret:} (or the default secret) does not open its key */
    CS_CIPHER_NO_ALIAS    /* no key by the value's {key:} alias */
} cs_cipher_rc_t;

/* Derives the key from `password` (`len` bytes, UTF-8) and the hex `salt_hex` (NULL →
 * "deadbeef"). Returns 0, or -1 when the salt is not even-length hex or OpenSSL fails. */
int cs_cipher_init(cs_cipher_t *c, const char *password, size_t len, const char *salt_hex);
/* Wipes the key. NULL-safe. */
void cs_cipher_wipe(cs_cipher_t *c);

/* Encrypts `len` bytes into `out` as lowercase hex (appended). 0 or -1. */
int cs_cipher_encrypt(const cs_cipher_t *c, const char *plain, size_t len, dbuf_t *out);
/* Decrypts the hex text `hex` (`len` bytes, no prefix) into `out` (appended, NUL-free
 * UTF-8). */
cs_cipher_rc_t cs_cipher_decrypt(const cs_cipher_t *c, const char *hex, size_t len, dbuf_t *out);
/* The raw forms (the AES payload of crypto/rsacipher.h): seal appends IV || ciphertext
 * (|| the 16-byte tag when `gcm`: AES-256-GCM, 16-byte IV; else AES-256-CBC, PKCS#5) to
 * `out`; open appends the plain bytes (no UTF-8 check). 0 / -1, resp. a result code. */
int cs_cipher_seal(const cs_cipher_t *c, int gcm, const unsigned char *plain, size_t len, dbuf_t *out);
cs_cipher_rc_t cs_cipher_open(const cs_cipher_t *c, int gcm, const unsigned char *raw, size_t n, dbuf_t *out);
/* cs_cipher_open for a text: appends the plain bytes to `out` only when they are NUL-free
 * UTF-8 (else CS_CIPHER_BAD_UTF8); the intermediate copy is wiped. */
cs_cipher_rc_t cs_cipher_open_text(const cs_cipher_t *c, int gcm, const unsigned char *raw, size_t n,
                                   dbuf_t *out);
/* 1 when the `len` bytes at `s` are NUL-free UTF-8 (a decrypted text must be). */
int cs_cipher_text_ok(const unsigned char *s, size_t len);
/* A short English reason for a result code ("not hex", …). */
const char *cs_cipher_reason(cs_cipher_rc_t rc);

/* Spring's stripPrefix: the offset in `text` where the cipher (or the plain text to
 * encrypt) begins after the `{name:value}` pairs / `{plain}` escape. */
size_t cs_cipher_prefix_len(const char *text);
/* Spring's /encrypt prefix: the `{name:value}` pairs of `text` as `{k:v}…` (name and
 * profiles dropped), appended to `out`. 0 or -1. */
int cs_cipher_prefix_keys(const char *text, dbuf_t *out);
/* The value of the prefix pair `name` of `text` (Spring's getEncryptorKeys: the last one
 * wins), malloc'ed; NULL with *found = 0 when there is none (NULL with *found = 1: out of
 * memory). */
char *cs_cipher_prefix_get(const char *text, const char *name, int *found);

/* A served value `{cipher}[prefix]hex` → the plain text (appended to `out`). A value
 * without the `{cipher}` mark is not this function's business (CS_CIPHER_BAD_HEX). */
cs_cipher_rc_t cs_cipher_decrypt_value(const cs_cipher_t *c, const char *value, dbuf_t *out);

/* 1 when `value` starts with "{cipher}" (case-sensitive, as Spring). */
int cs_cipher_is_marked(const char *value);

#endif
