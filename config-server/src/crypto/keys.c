/* keys.c — the {cipher} key ring: a symmetric key, one RSA key, or a PKCS#12 key store
 * with RSA keys by alias, located per value as Spring does (keys.h). */
#include "crypto/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define MARK "{cipher}"

void cs_keys_init(cs_keys_t *k, cs_keys_kind_t kind, const cs_rsa_params_t *p)
{
    memset(k, 0, sizeof(*k));
    k->kind = kind;
    if (p != NULL)
        k->rsa = *p;
}

static void entry_free(cs_key_entry_t *e)
{
    free(e->alias);
    EVP_PKEY_free(e->pub);
    EVP_PKEY_free(e->priv);
    PKCS12_SAFEBAG_free(e->bag);
}

void cs_keys_free(cs_keys_t *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        entry_free(&k->e[i]);
    free(k->e);
    free(k->default_alias);
    if (k->default_secret != NULL) {
        OPENSSL_cleanse(k->default_secret, strlen(k->default_secret));
        free(k->default_secret);
    }
    cs_cipher_wipe(&k->sym);
    memset(k, 0, sizeof(*k));
}

static int is_rsa(EVP_PKEY *p)
{
    return p != NULL && EVP_PKEY_is_a(p, "RSA");
}

static cs_key_entry_t *find(const cs_keys_t *k, const char *alias)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->e[i].from_store ? strcasecmp(k->e[i].alias, alias) == 0 : strcmp(k->e[i].alias, alias) == 0)
            return &k->e[i];
    return NULL;
}

/* Appends an entry (its fields owned by the ring from now on, also on failure). */
static int push(cs_keys_t *k, cs_key_entry_t *ne, char *err, size_t errlen)
{
    if (ne->alias != NULL && find(k, ne->alias) != NULL) {
        snprintf(err, errlen, "the key alias '%s' is given twice", ne->alias);
        entry_free(ne);
        return -1;
    }
    cs_key_entry_t *grown = realloc(k->e, (k->n + 1) * sizeof(*grown));
    if (grown == NULL || (ne->alias == NULL && (ne->alias = strdup("")) == NULL)) {
        snprintf(err, errlen, "out of memory");
        if (grown != NULL)
            k->e = grown;
        entry_free(ne);
        return -1;
    }
    k->e = grown;
    k->e[k->n++] = *ne;
    return 0;
}

int cs_keys_add_pem(cs_keys_t *k, const char *alias, const char *pem, size_t len, char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *priv = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
    BIO_free(bio);
    if (!is_rsa(priv)) {
        snprintf(err, errlen, "%s",
                 priv == NULL ? "not a PEM private key (unencrypted PKCS#1 or PKCS#8)" : "not an RSA key");
        EVP_PKEY_free(priv);
        return -1;
    }
    cs_key_entry_t ne = {.alias = alias != NULL ? strdup(alias) : NULL, .priv = priv};
    EVP_PKEY_up_ref(priv);
    ne.pub = priv;
    if (alias != NULL && ne.alias == NULL) {
        snprintf(err, errlen, "out of memory");
        entry_free(&ne);
        return -1;
    }
    return push(k, &ne, err, errlen);
}

/* One bag of a PKCS#12 safe: keys and certificates, matched on localKeyID (else the
 * friendly name). */
typedef struct p12item {
    PKCS12_SAFEBAG *bag; /* a shrouded key bag (dup), or NULL */
    EVP_PKEY *key;       /* an unshrouded key bag's key, or NULL */
    X509 *cert;
    char *name;
    ASN1_OCTET_STRING *id;
} p12item_t;

static int same_item(const p12item_t *a, const p12item_t *b)
{
    if (a->id != NULL && b->id != NULL)
        return ASN1_OCTET_STRING_cmp(a->id, b->id) == 0;
    return a->name != NULL && b->name != NULL && strcmp(a->name, b->name) == 0;
}

static int collect(const STACK_OF(PKCS12_SAFEBAG) * bags, p12item_t *items, size_t max, size_t *ni)
{
    for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags) && *ni < max; i++) {
        const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
        int nid = PKCS12_SAFEBAG_get_nid(bag);
        p12item_t it = {0};
        if (nid == NID_pkcs8ShroudedKeyBag)
            it.bag = ASN1_item_dup(ASN1_ITEM_rptr(PKCS12_SAFEBAG), bag);
        else if (nid == NID_keyBag)
            it.key = EVP_PKCS82PKEY(PKCS12_SAFEBAG_get0_p8inf(bag));
        else if (nid == NID_certBag && PKCS12_SAFEBAG_get_bag_nid(bag) == NID_x509Certificate)
            it.cert = PKCS12_SAFEBAG_get1_cert(bag);
        else
            continue;
        if (it.bag == NULL && it.key == NULL && it.cert == NULL)
            return -1;
        it.name = PKCS12_get_friendlyname((PKCS12_SAFEBAG *)bag);
        const ASN1_TYPE *id = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
        if (id != NULL && id->type == V_ASN1_OCTET_STRING)
            it.id = ASN1_OCTET_STRING_dup(id->value.octet_string);
        items[(*ni)++] = it;
    }
    return 0;
}

/* Opens a shrouded key bag with `secret`; NULL when it does not open. */
static EVP_PKEY *open_bag(const PKCS12_SAFEBAG *bag, const char *secret)
{
    PKCS8_PRIV_KEY_INFO *p8 = PKCS12_decrypt_skey(bag, secret, (int)strlen(secret));
    EVP_PKEY *k = p8 != NULL ? EVP_PKCS82PKEY(p8) : NULL;
    PKCS8_PRIV_KEY_INFO_free(p8);
    return k;
}

int cs_keys_add_pkcs12(cs_keys_t *k, const unsigned char *der, size_t len, const char *password,
                       const char *secret, char *err, size_t errlen)
{
    const unsigned char *p = der;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
    STACK_OF(PKCS7) *safes = NULL;
    p12item_t items[64];
    size_t ni = 0;
    int added = -1;
    if (p12 == NULL) {
        snprintf(err, errlen,
                 "not a PKCS#12 key store (a JKS store converts with keytool -importkeystore "
                 "-deststoretype PKCS12)");
        goto cleanup;
    }
    if (PKCS12_mac_present(p12) && PKCS12_verify_mac(p12, password, -1) != 1) {
        snprintf(err, errlen, "the key store password is wrong (the store's MAC does not verify)");
        goto cleanup;
    }
    if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
        snprintf(err, errlen, "the key store cannot be read");
        goto cleanup;
    }
    for (int i = 0; i < sk_PKCS7_num(safes); i++) {
        PKCS7 *p7 = sk_PKCS7_value(safes, i);
        int nid = OBJ_obj2nid(p7->type);
        STACK_OF(PKCS12_SAFEBAG) *bags = nid == NID_pkcs7_data ? PKCS12_unpack_p7data(p7)
                                         : nid == NID_pkcs7_encrypted
                                             ? PKCS12_unpack_p7encdata(p7, password, -1)
                                             : NULL;
        int rc = bags != NULL ? collect(bags, items, sizeof(items) / sizeof(items[0]), &ni) : -1;
        sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
        if (rc != 0) {
            snprintf(err, errlen,
                     "the key store cannot be read (a part of it does not open with its password)");
            goto cleanup;
        }
    }
    added = 0;
    for (size_t i = 0; i < ni && added >= 0; i++) {
        if (items[i].cert != NULL)
            continue;
        cs_key_entry_t ne = {.from_store = 1};
        X509 *cert = NULL;
        for (size_t j = 0; j < ni && cert == NULL; j++)
            if (items[j].cert != NULL && same_item(&items[i], &items[j]))
                cert = items[j].cert;
        if (items[i].name == NULL) {
            snprintf(err, errlen, "a key of the store has no alias (friendly name)");
            added = -1;
            break;
        }
        ne.alias = strdup(items[i].name);
        ne.priv =
            items[i].key != NULL ? items[i].key : open_bag(items[i].bag, secret != NULL ? secret : password);
        items[i].key = NULL;
        ne.bag = items[i].bag;
        items[i].bag = NULL;
        ne.pub = cert != NULL ? X509_get_pubkey(cert) : NULL;
        if (ne.pub == NULL && ne.priv != NULL) {
            EVP_PKEY_up_ref(ne.priv);
            ne.pub = ne.priv;
        }
        if (ne.alias == NULL || ne.pub == NULL) {
            snprintf(err, errlen,
                     "the key '%s' has neither a certificate nor a key that opens with the secret",
                     items[i].name);
            entry_free(&ne);
            added = -1;
            break;
        }
        if (!is_rsa(ne.pub)) { /* not for {cipher}: skipped, as Spring cannot use it either */
            entry_free(&ne);
            continue;
        }
        if (push(k, &ne, err, errlen) != 0) {
            added = -1;
            break;
        }
        added++;
    }
cleanup:
    for (size_t i = 0; i < ni; i++) {
        PKCS12_SAFEBAG_free(items[i].bag);
        EVP_PKEY_free(items[i].key);
        X509_free(items[i].cert);
        OPENSSL_free(items[i].name);
        ASN1_OCTET_STRING_free(items[i].id);
    }
    sk_PKCS7_pop_free(safes, PKCS7_free);
    PKCS12_free(p12);
    return added;
}

int cs_keys_set_default(cs_keys_t *k, const char *alias, const char *secret, char *err, size_t errlen)
{
    const cs_key_entry_t *e = alias != NULL ? find(k, alias) : NULL;
    if (e == NULL) {
        snprintf(err, errlen, "no key by the default alias '%s' (the store has %zu key%s)",
                 alias != NULL ? alias : "(none given)", k->n, k->n == 1 ? "" : "s");
        return -1;
    }
    free(k->default_alias);
    free(k->default_secret);
    k->default_alias = strdup(alias);
    k->default_secret = strdup(secret != NULL ? secret : "");
    if (k->default_alias == NULL || k->default_secret == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (e->priv == NULL) {
        snprintf(err, errlen, "the default key '%s' does not open with the secret (encrypt.key-store.secret)",
                 alias);
        return -1;
    }
    return 0;
}

cs_cipher_rc_t cs_keys_locate(const cs_keys_t *k, const char *text, cs_keysel_t *sel)
{
    memset(sel, 0, sizeof(*sel));
    sel->k = k;
    if (k->kind != CS_KEYS_STORE) { /* one key for every value, prefixes ignored */
        if (k->kind == CS_KEYS_RSA_SINGLE && k->n > 0) {
            sel->pub = k->e[0].pub;
            sel->priv = k->e[0].priv;
        }
        return CS_CIPHER_OK;
    }
    int has_alias = 0, has_secret = 0;
    cs_cipher_rc_t rc = CS_CIPHER_NO_KEY;
    char *alias = cs_cipher_prefix_get(text, "key", &has_alias);
    char *secret = cs_cipher_prefix_get(text, "secret", &has_secret);
    if ((has_alias && alias == NULL) || (has_secret && secret == NULL)) {
        rc = CS_CIPHER_OOM;
        goto cleanup;
    }
    const char *a = has_alias ? alias : k->default_alias;
    const char *s = has_secret ? secret : k->default_secret;
    const cs_key_entry_t *e = a != NULL ? find(k, a) : NULL;
    if (e == NULL) {
        rc = CS_CIPHER_NO_ALIAS;
        goto cleanup;
    }
    sel->pub = e->pub;
    if (e->bag == NULL || (s != NULL && k->default_secret != NULL && strcmp(s, k->default_secret) == 0))
        sel->priv = e->priv; /* opened at start with the default secret (or a PEM key) */
    else if (s != NULL && (sel->owned = open_bag(e->bag, s)) != NULL)
        sel->priv = sel->owned;
    else
        goto cleanup;
    if (sel->priv == NULL)
        goto cleanup;
    rc = CS_CIPHER_OK;
cleanup:
    free(alias);
    if (secret != NULL) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
    return rc;
}

void cs_keys_release(cs_keysel_t *sel)
{
    EVP_PKEY_free(sel->owned);
    memset(sel, 0, sizeof(*sel));
}

cs_cipher_rc_t cs_keys_decrypt(const cs_keysel_t *sel, const char *body, size_t len, dbuf_t *out)
{
    if (sel->k->kind == CS_KEYS_SYMMETRIC)
        return cs_cipher_decrypt(&sel->k->sym, body, len, out);
    if (sel->priv == NULL)
        return CS_CIPHER_NO_KEY;
    return cs_rsa_decrypt(&sel->k->rsa, sel->priv, body, len, out);
}

int cs_keys_encrypt(const cs_keysel_t *sel, const char *plain, size_t len, dbuf_t *out)
{
    if (sel->k->kind == CS_KEYS_SYMMETRIC)
        return cs_cipher_encrypt(&sel->k->sym, plain, len, out);
    if (sel->pub == NULL)
        return -1;
    return cs_rsa_encrypt(&sel->k->rsa, sel->pub, plain, len, out);
}

int cs_keys_public(const cs_keysel_t *sel, dbuf_t *out)
{
    if (sel->k->kind == CS_KEYS_SYMMETRIC || sel->pub == NULL)
        return -1;
    return cs_rsa_public_text(sel->pub, out);
}

cs_cipher_rc_t cs_keys_decrypt_value(const cs_keys_t *k, const char *value, dbuf_t *out)
{
    if (strncmp(value, MARK, strlen(MARK)) != 0)
        return CS_CIPHER_BAD_HEX;
    const char *text = value + strlen(MARK);
    cs_keysel_t sel;
    cs_cipher_rc_t rc = cs_keys_locate(k, text, &sel);
    if (rc == CS_CIPHER_OK) {
        const char *body = text + cs_cipher_prefix_len(text);
        rc = cs_keys_decrypt(&sel, body, strlen(body), out);
    }
    cs_keys_release(&sel);
    return rc;
}
