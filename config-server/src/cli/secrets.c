/* secrets.c — reading config-server's secrets: files (never inside the served repository,
 * wiped after use) and environment variables (secrets.h). */
#include "cli/secrets.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The {cipher} key: --encrypt-key-file (one trailing line break dropped), else ENCRYPT_KEY.
 * Returns 1 (key in *c), 0 (no key configured), -1 (unusable: logged). */
int cs_load_cipher(const cs_opts_t *o, const char *repo_real, cs_cipher_t *c, const char **source,
                   const clog_t *log)
{
    char key[4096];
    long n = 0;
    int rc = -1;
    *source = "none";
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
    if (strncmp(key, "-----BEGIN", 10) == 0 || strncmp(key, "ssh-rsa", 7) == 0) {
        clog_error(log, "the encryption key (%s) is an RSA key; only a symmetric encrypt.key is supported",
                   *source);
        goto cleanup;
    }
    const char *salt = cs_env_or("ENCRYPT_SALT", "deadbeef");
    if (cs_cipher_init(c, key, (size_t)n, salt) != 0) {
        clog_error(log, "ENCRYPT_SALT '%s' is not an even number of hex digits", salt);
        goto cleanup;
    }
    rc = 1;
cleanup:
    OPENSSL_cleanse(key, sizeof(key));
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
