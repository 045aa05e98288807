/* rsacipher.h — Spring's RSA `{cipher}` scheme (spring-security's RsaSecretEncryptor, as
 * Spring Cloud Config's KeyStoreTextEncryptorLocator builds it from encrypt.rsa.*), so a
 * value encrypted by a Spring Config Server with the same key decrypts here and back.
 *
 * Encrypting a text (UTF-8 bytes):
 *   secret  = 16 random bytes; password = their lowercase hex (32 characters);
 *   wrapped = RSA-encrypt(public key, secret): PKCS#1 v1.5 padding (algorithm DEFAULT) or
 *             OAEP with SHA-1 and MGF1-SHA-1 (algorithm OAEP);
 *   payload = Spring's symmetric encryptor with that password and the salt (crypto/cipher.h:
 *             PBKDF2-HMAC-SHA1, 1024 rounds, AES-256; CBC = IV || ciphertext, or with
 *             strong = true GCM = IV || ciphertext || tag, 16-byte IV and tag);
 *   bytes   = 2-byte big-endian length of wrapped || wrapped || payload;
 *   text    = standard base64 of bytes (with padding).
 * The salt is encrypt.rsa.salt: used as hex when it is even-length hex, else the hex of its
 * UTF-8 bytes (default "deadbeef").
 * A key's public form (GET /key) is Spring's: "ssh-rsa <base64 of the SSH wire encoding of e
 * and n> application".
 */
#ifndef CS_RSACIPHER_H
#define CS_RSACIPHER_H

#include <stddef.h>

#include <openssl/evp.h>

#include "crypto/cipher.h"
#include "dbuf.h"

typedef enum { CS_RSA_DEFAULT = 0, CS_RSA_OAEP } cs_rsa_alg_t;

typedef struct cs_rsa_params {
    cs_rsa_alg_t alg;
    int strong;         /* AES-GCM payload instead of AES-CBC */
    char salt_hex[130]; /* the salt as hex (see above) */
} cs_rsa_params_t;

/* Spring's encrypt.rsa.* settings: `alg` "DEFAULT" or "OAEP" (case-insensitive; NULL =
 * DEFAULT), `salt` (NULL = deadbeef, at most 64 bytes), `strong`. 0, or -1 with a reason
 * in err. */
int cs_rsa_params_init(cs_rsa_params_t *p, const char *alg, const char *salt, int strong, char *err,
                       size_t errlen);

/* Encrypts `len` bytes with the public half of `key`, appending the base64 text to out.
 * 0 or -1. */
int cs_rsa_encrypt(const cs_rsa_params_t *p, EVP_PKEY *key, const char *plain, size_t len, dbuf_t *out);
/* Decrypts the base64 text `b64` (`len` bytes) with the private `key`, appending the plain
 * text (NUL-free UTF-8) to out. */
cs_cipher_rc_t cs_rsa_decrypt(const cs_rsa_params_t *p, EVP_PKEY *key, const char *b64, size_t len,
                              dbuf_t *out);
/* Appends Spring's public form of `key` ("ssh-rsa … application"). 0 or -1. */
int cs_rsa_public_text(EVP_PKEY *key, dbuf_t *out);

#endif
