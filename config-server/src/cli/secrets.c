/* secrets.c — reading config-server's secrets: files (never inside the served repository,
 * wiped after use) and environment variables (secrets.h). */
#include "cli/secrets.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

/* Reads the first `size` - 1 bytes of the secret file `path` into buf (NUL-terminated),
 * refusing a file inside the served repository `repo_real`; `what` names it in the log.
 * Returns the length, or -1. */
long cs_read_secret_file(const char *path, const char *repo_real, const char *what, char *buf, size_t size,
                         const clog_t *log)
{
    char real[PATH_MAX];
    if (realpath(path, real) == NULL) {
        clog_error(log, "cannot read %s file %s: %s", what, path, strerror(errno));
        return -1;
    }
    size_t rl = strlen(repo_real);
    if (strncmp(real, repo_real, rl) == 0 && (real[rl] == '/' || real[rl] == '\0')) {
        clog_error(log, "%s file %s lies inside the served repository; refusing", what, path);
        return -1;
    }
    FILE *f = fopen(real, "r");
    if (f == NULL) {
        clog_error(log, "cannot read %s file %s: %s", what, path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, size - 1, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        clog_error(log, "cannot read %s file %s", what, path);
        return -1;
    }
    buf[n] = '\0';
    return (long)n;
}

char *cs_read_secret_text(const char *path, const char *repo_real, const char *what, size_t max, size_t *len,
                          const clog_t *log)
{
    char *buf = malloc(max + 2);
    if (buf == NULL)
        return NULL;
    long n = cs_read_secret_file(path, repo_real, what, buf, max + 2, log);
    if (n < 0 || (size_t)n > max) {
        if (n > 0)
            clog_error(log, "%s file %s is larger than %zu bytes", what, path, max);
        OPENSSL_cleanse(buf, max + 2);
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

void cs_secret_free(char *s, size_t size)
{
    if (s != NULL)
        OPENSSL_cleanse(s, size);
    free(s);
}

/* encrypt.rsa.* from the environment into p. 0 or -1 (logged). */
static int rsa_params(cs_rsa_params_t *p, const clog_t *log)
{
    char err[256];
    const char *strong = cs_env_or("ENCRYPT_RSA_STRONG", "false");
    if (strcmp(strong, "true") != 0 && strcmp(strong, "false") != 0) {
        clog_error(log, "ENCRYPT_RSA_STRONG '%s' is neither true nor false", strong);
        return -1;
    }
    if (cs_rsa_params_init(p, cs_env_or("ENCRYPT_RSA_ALGORITHM", NULL), cs_env_or("ENCRYPT_RSA_SALT", NULL),
                           strcmp(strong, "true") == 0, err, sizeof(err)) != 0) {
        clog_error(log, "ENCRYPT_RSA_*: %s", err);
        return -1;
    }
    return 0;
}

/* The key store and PEM keys by alias into k (initialised here). 0 or -1 (logged). */
static int load_store(const cs_opts_t *o, const char *repo_real, cs_keys_t *k, const clog_t *log)
{
    char err[512];
    int bad = 0, rc = -1;
    cs_rsa_params_t p;
    char *password = NULL, *secret = NULL;
    if (rsa_params(&p, log) != 0)
        return -1;
    cs_keys_init(k, CS_KEYS_STORE, &p);
    const char *type = cs_env_or("ENCRYPT_KEY_STORE_TYPE", "pkcs12");
    if (strcasecmp(type, "pkcs12") != 0 && strcasecmp(type, "p12") != 0) {
        clog_error(log,
                   "ENCRYPT_KEY_STORE_TYPE '%s': only PKCS#12 key stores are read (convert a JKS store "
                   "with keytool -importkeystore -deststoretype PKCS12)",
                   type);
        return -1;
    }
    password = cs_env_secret("ENCRYPT_KEY_STORE_PASSWORD", repo_real, log, &bad);
    secret = cs_env_secret("ENCRYPT_KEY_STORE_SECRET", repo_real, log, &bad);
    if (bad)
        goto cleanup;
    if (o->encrypt_key_store != NULL) {
        size_t len = 0, max = 4u << 20;
        char *der = cs_read_secret_text(o->encrypt_key_store, repo_real, "key store", max, &len, log);
        if (der == NULL)
            goto cleanup;
        int n = cs_keys_add_pkcs12(k, (const unsigned char *)der, len, password != NULL ? password : "",
                                   secret, err, sizeof(err));
        cs_secret_free(der, max + 2);
        if (n < 0) {
            clog_error(log, "key store %s: %s", o->encrypt_key_store, err);
            goto cleanup;
        }
    }
    for (int i = 0; i < o->nkey_pem; i++) {
        const char *eq = strchr(o->encrypt_key_pem[i], '=');
        char alias[256];
        size_t len = 0, max = 64u << 10;
        snprintf(alias, sizeof(alias), "%.*s", (int)(eq - o->encrypt_key_pem[i]), o->encrypt_key_pem[i]);
        char *pem = cs_read_secret_text(eq + 1, repo_real, "RSA key", max, &len, log);
        if (pem == NULL)
            goto cleanup;
        int r = cs_keys_add_pem(k, alias, pem, len, err, sizeof(err));
        cs_secret_free(pem, max + 2);
        if (r != 0) {
            clog_error(log, "--encrypt-key-pem %s: %s", o->encrypt_key_pem[i], err);
            goto cleanup;
        }
    }
    const char *alias = o->encrypt_key_alias;
    if (alias == NULL && k->n == 1)
        alias = k->e[0].alias;
    if (alias == NULL) {
        clog_error(log, "%zu RSA keys and no default: give --encrypt-key-alias (ENCRYPT_KEY_STORE_ALIAS)",
                   k->n);
        goto cleanup;
    }
    if (cs_keys_set_default(k, alias,
                            secret != NULL     ? secret
                            : password != NULL ? password
                                               : "",
                            err, sizeof(err)) != 0) {
        clog_error(log, "encryption keys: %s", err);
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (password != NULL)
        cs_secret_free(password, strlen(password));
    if (secret != NULL)
        cs_secret_free(secret, strlen(secret));
    return rc;
}

int cs_load_keys(const cs_opts_t *o, const char *repo_real, cs_keys_t *k, const char **source,
                 const clog_t *log)
{
    char key[8192];
    char err[256];
    long n = 0;
    int rc = -1;
    *source = "none";
    memset(k, 0, sizeof(*k));
    if (o->encrypt_key_store != NULL || o->nkey_pem > 0) {
        *source = "key-store";
        if (getenv("ENCRYPT_KEY") != NULL && getenv("ENCRYPT_KEY")[0] != '\0')
            clog_warn(log,
                      "ENCRYPT_KEY is ignored: the key store's RSA keys serve {cipher} values (as Spring)");
        if (load_store(o, repo_real, k, log) != 0)
            goto cleanup;
        clog_info(log, "encryption: %zu RSA key%s, default '%s'", k->n, k->n == 1 ? "" : "s",
                  k->default_alias);
        rc = 1;
        goto cleanup;
    }
    if (o->encrypt_key_file != NULL) {
        n = cs_read_secret_file(o->encrypt_key_file, repo_real, "encryption key", key, sizeof(key), log);
        if (n < 0)
            goto cleanup;
        if (n > 0 && key[n - 1] == '\n')
            key[--n] = '\0';
        if (n > 0 && key[n - 1] == '\r')
            key[--n] = '\0';
        *source = "file";
    } else if (getenv("ENCRYPT_KEY") != NULL && getenv("ENCRYPT_KEY")[0] != '\0') {
        n = (long)snprintf(key, sizeof(key), "%s", getenv("ENCRYPT_KEY"));
        if ((size_t)n >= sizeof(key)) {
            clog_error(log, "ENCRYPT_KEY is longer than %zu bytes", sizeof(key) - 1);
            goto cleanup;
        }
        *source = "ENCRYPT_KEY";
    } else {
        rc = 0;
        goto cleanup;
    }
    if (n == 0 || memchr(key, '\0', (size_t)n) != NULL) {
        clog_error(log, "the encryption key (%s) is empty or contains a NUL byte", *source);
        goto cleanup;
    }
    if (strncmp(key, "-----BEGIN RSA PRIVATE KEY", 26) ==
        0) { /* Spring's encrypt.key as an RSA key: PKCS#1 */
        cs_rsa_params_t p;
        if (rsa_params(&p, log) != 0)
            goto cleanup;
        cs_keys_init(k, CS_KEYS_RSA_SINGLE, &p);
        if (cs_keys_add_pem(k, NULL, key, (size_t)n, err, sizeof(err)) != 0) {
            clog_error(log, "the encryption key (%s): %s", *source, err);
            goto cleanup;
        }
        rc = 1;
        goto cleanup;
    }
    if (strncmp(key, "ssh-rsa", 7) == 0) {
        clog_error(log,
                   "the encryption key (%s) is an RSA public key: it cannot decrypt; give the private key",
                   *source);
        goto cleanup;
    }
    if (strncmp(key, "-----BEGIN", 10) == 0)
        clog_warn(
            log,
            "the encryption key (%s) is PEM but not an RSA private key in PKCS#1 form (BEGIN RSA "
            "PRIVATE KEY): it is used as a symmetric password, as Spring uses it; for an RSA key convert it "
            "(openssl rsa -traditional) or give it with --encrypt-key-pem",
            *source);
    const char *salt = cs_env_or("ENCRYPT_SALT", "deadbeef");
    cs_keys_init(k, CS_KEYS_SYMMETRIC, NULL);
    if (cs_cipher_init(&k->sym, key, (size_t)n, salt) != 0) {
        clog_error(log, "ENCRYPT_SALT '%s' is not an even number of hex digits", salt);
        goto cleanup;
    }
    rc = 1;
cleanup:
    OPENSSL_cleanse(key, sizeof(key));
    if (rc < 0)
        cs_keys_free(k);
    return rc;
}

/* A secret from env `name`, or from the file named by env `name`_FILE (one trailing line
 * break dropped). Returns a malloc'ed string, NULL when neither is set; *bad set when the
 * file cannot be read. */
char *cs_env_secret(const char *name, const char *repo_real, const clog_t *log, int *bad)
{
    char fname[128], buf[4096];
    const char *v = getenv(name);
    if (v != NULL && *v != '\0')
        return strdup(v);
    snprintf(fname, sizeof(fname), "%s_FILE", name);
    const char *file = getenv(fname);
    if (file == NULL || *file == '\0')
        return NULL;
    long n = cs_read_secret_file(file, repo_real, fname, buf, sizeof(buf), log);
    if (n < 0) {
        *bad = 1;
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *out = strdup(buf);
    OPENSSL_cleanse(buf, sizeof(buf));
    return out;
}

char *cs_env_dup(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? strdup(v) : NULL;
}

int cs_load_access(const cs_opts_t *o, const char *repo_real, cs_access_t *a, const clog_t *log)
{
    char err[512];
    if (cs_access_init(a, o->default_label) != 0) {
        clog_error(log, "out of memory");
        return -1;
    }
    cs_access_set_limits(a, o->auth_max_failures, o->auth_block_s);
    int legacy = 0;
    if (o->cred_file != NULL) {
        size_t len = 0, max = 1u << 20;
        char *text = cs_read_secret_text(o->cred_file, repo_real, "credentials", max, &len, log);
        if (text == NULL)
            return -1;
        int rc = cs_access_load(a, text, len, &legacy, err, sizeof(err));
        cs_secret_free(text, max + 2);
        if (rc != 0) {
            clog_error(log, "credentials file %s: %s", o->cred_file, err);
            return -1;
        }
    } else if (cs_env_or("CONFIG_SERVER_USER", NULL) != NULL) {
        legacy = 1;
        if (cs_access_add_legacy(a, cs_env_or("CONFIG_SERVER_USER", ""),
                                 cs_env_or("CONFIG_SERVER_PASSWORD", ""), err, sizeof(err)) != 0) {
            clog_error(log, "CONFIG_SERVER_USER: %s", err);
            return -1;
        }
    }
    if (a->open)
        clog_warn(log,
                  "no credentials configured: every client may read every application's configuration "
                  "(decrypted {cipher} values included); give --credentials-file for per-application access");
    else if (legacy)
        clog_warn(log,
                  "credentials: one user:password (the old format), an admin that reads every application, "
                  "its password kept in plain text; the per-application file with hashed passwords is in "
                  "config-server/README.md (Access)");
    else {
        size_t admins = 0, certs = 0;
        for (size_t i = 0; i < a->n; i++) {
            admins += a->clients[i].admin != 0;
            certs += a->clients[i].certificate != 0;
        }
        clog_ev(log, CLOG_INFO,
                json_pack("{s:I,s:I,s:I}", "clients", (json_int_t)a->n, "admins", (json_int_t)admins,
                          "certificate", (json_int_t)certs),
                "credentials: %zu client(s) from %s", a->n, o->cred_file);
    }
    return 0;
}

int cs_load_overrides(const cs_opts_t *o, const char *repo_real, cs_overrides_t *ovr, const clog_t *log)
{
    char err[512];
    cs_ovr_init(ovr);
    if (o->overrides_file != NULL) {
        size_t len = 0, max = 1u << 20;
        char *text = cs_read_secret_text(o->overrides_file, repo_real, "overrides", max, &len, log);
        if (text == NULL)
            return -1;
        int rc = cs_ovr_add_yaml(ovr, text, len, err, sizeof(err));
        cs_secret_free(text, max + 2);
        if (rc != 0) {
            clog_error(log, "overrides file %s: %s", o->overrides_file, err);
            return -1;
        }
    }
    for (int i = 0; i < o->noverride; i++)
        if (cs_ovr_add_arg(ovr, o->override[i], err, sizeof(err)) != 0) {
            clog_error(log, "--override: %s", err);
            return -1;
        }
    cs_ovr_finish(ovr);
    if (ovr->n > 0)
        clog_info(log, "%zu override%s served to every client (the property source \"overrides\")", ovr->n,
                  ovr->n == 1 ? "" : "s");
    return 0;
}
