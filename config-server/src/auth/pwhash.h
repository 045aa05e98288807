/* pwhash.h — password hashes of config-server's credentials file.
 *
 * Made by `config-server hash-password` (cs_pwhash_make): salted PBKDF2-HMAC-SHA256 (OpenSSL)
 * in passlib's self-describing form
 *
 *     $pbkdf2-sha256$<iterations>$<salt>$<hash>
 *
 * with a random 16-byte salt per entry, a 32-byte hash, both in passlib's "adapted base64"
 * (standard base64 with '.' for '+', no padding), so passlib and this server read each
 * other's hashes. bcrypt hashes ($2a$, $2b$, $2y$: Helm's htpasswd, Apache's htpasswd -B)
 * are accepted too (libxcrypt's crypt_rn). A candidate is compared with the stored hash in
 * constant time (CRYPTO_memcmp).
 */
#ifndef CS_PWHASH_H
#define CS_PWHASH_H

#include <stddef.h>

#define CS_PWHASH_DEFAULT_ITERATIONS 600000 /* OWASP's figure for PBKDF2-HMAC-SHA256 */
#define CS_PWHASH_MIN_ITERATIONS 10000

/* A new PBKDF2 hash of `pw` (len bytes) into out (>= 128 bytes). 0, or -1 (no randomness,
 * iterations out of range, out too small). */
int cs_pwhash_make(const char *pw, size_t len, unsigned iterations, char *out, size_t size);

/* Checks that `stored` is a hash this module verifies (format, iterations at least the
 * minimum, salt and hash lengths). 0, or -1 with `why`. */
int cs_pwhash_check(const char *stored, char *why, size_t whylen);

/* 1 when `pw` (len bytes) matches `stored`; 0 when not (or `stored` is malformed). */
int cs_pwhash_verify(const char *stored, const char *pw, size_t len);

#endif
