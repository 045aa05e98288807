/* keys.h — the keys of {cipher} values and /encrypt, /decrypt, /key, chosen per value as
 * Spring Cloud Config chooses them:
 *   - one symmetric key (encrypt.key; crypto/cipher.h) or one RSA key (encrypt.key holding
 *     a PEM private key): every value uses it, its {key:…}/{secret:…} prefixes are ignored
 *     (Spring's SingleTextEncryptorLocator);
 *   - a key store (encrypt.key-store.*: a PKCS#12 file, plus RSA PEM files by alias here):
 *     Spring's KeyStoreTextEncryptorLocator. A value's `{key:alias}` prefix picks the key
 *     (else the default alias), its `{secret:…}` prefix is the password of that key's entry
 *     (else the default secret: encrypt.key-store.secret, or the store password). The
 *     application and profiles do not choose the key. Rotation: a new default alias
 *     encrypts, values that name an old alias still decrypt.
 * Aliases of a PKCS#12 store match case-insensitively, as Java's PKCS12 key store does.
 * A loaded cs_keys_t is read-only, so request threads share it.
 */
#ifndef CS_KEYS_H
#define CS_KEYS_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>

#include "crypto/cipher.h"
#include "crypto/rsacipher.h"
#include "dbuf.h"

typedef enum { CS_KEYS_SYMMETRIC = 1, CS_KEYS_RSA_SINGLE, CS_KEYS_STORE } cs_keys_kind_t;

typedef struct cs_key_entry {
    char *alias;
    EVP_PKEY *pub;       /* from the certificate, else the private key; never NULL */
    EVP_PKEY *priv;      /* opened with the default secret (or a PEM key); NULL when it did not open */
    PKCS12_SAFEBAG *bag; /* the shrouded key bag, for other {secret:…} values; NULL for PEM keys */
    int from_store;      /* a PKCS#12 entry (alias case-insensitive) */
} cs_key_entry_t;

typedef struct cs_keys {
    cs_keys_kind_t kind;
    cs_cipher_t sym;     /* CS_KEYS_SYMMETRIC */
    cs_rsa_params_t rsa; /* the RSA kinds */
    cs_key_entry_t *e;   /* owned; RSA_SINGLE: one */
    size_t n;
    char *default_alias;  /* CS_KEYS_STORE */
    char *default_secret; /* CS_KEYS_STORE; wiped at free */
} cs_keys_t;

/* A key chosen for one text (cs_keys_locate); release with cs_keys_release. */
typedef struct cs_keysel {
    const cs_keys_t *k;
    EVP_PKEY *pub, *priv; /* borrowed from the entry, or priv == owned */
    EVP_PKEY *owned;      /* a key opened with the value's own {secret:…} */
} cs_keysel_t;

/* Starts a ring of `kind` (RSA kinds with the encrypt.rsa.* params `p`). */
void cs_keys_init(cs_keys_t *k, cs_keys_kind_t kind, const cs_rsa_params_t *p);
void cs_keys_free(cs_keys_t *k);

/* Adds the RSA private key in PEM (PKCS#1 or PKCS#8, unencrypted) as `alias` (NULL for
 * RSA_SINGLE). 0, or -1 with a reason in err. */
int cs_keys_add_pem(cs_keys_t *k, const char *alias, const char *pem, size_t len, char *err, size_t errlen);
/* Adds every RSA key entry of the PKCS#12 file `der` (store password `password`), its
 * alias the friendly name; each key is opened with `secret` (NULL: the store password) now,
 * or later with a value's {secret:…}. Returns the number of keys added, or -1 with a reason. */
int cs_keys_add_pkcs12(cs_keys_t *k, const unsigned char *der, size_t len, const char *password,
                       const char *secret, char *err, size_t errlen);
/* The store's default alias and secret (NULL: the password given to add_pkcs12, or "").
 * Checks that the default key exists and opens. 0, or -1 with a reason. */
int cs_keys_set_default(cs_keys_t *k, const char *alias, const char *secret, char *err, size_t errlen);

/* Picks the key for `text` (its {name:value} prefixes, Spring's getEncryptorKeys). */
cs_cipher_rc_t cs_keys_locate(const cs_keys_t *k, const char *text, cs_keysel_t *sel);
void cs_keys_release(cs_keysel_t *sel);
/* Decrypts `body` (the text after its prefixes) with the chosen key, appending to out. */
cs_cipher_rc_t cs_keys_decrypt(const cs_keysel_t *sel, const char *body, size_t len, dbuf_t *out);
/* Encrypts `len` bytes with the chosen key (hex for the symmetric key, base64 for RSA). */
int cs_keys_encrypt(const cs_keysel_t *sel, const char *plain, size_t len, dbuf_t *out);
/* Appends the chosen key's public form (Spring's /key). 0; -1 when it has none (a
 * symmetric key) or on failure. */
int cs_keys_public(const cs_keysel_t *sel, dbuf_t *out);

/* A served value `{cipher}[prefix]text` → the plain text (appended to `out`). */
cs_cipher_rc_t cs_keys_decrypt_value(const cs_keys_t *k, const char *value, dbuf_t *out);

#endif
