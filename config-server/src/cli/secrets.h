/* secrets.h — config-server's secrets from files and the environment: the credentials,
 * the {cipher} key, the webhook secret, git credentials. A secret file inside the served
 * repository is refused (it would be served); buffers that held a secret are wiped.
 */
#ifndef CS_SECRETS_H
#define CS_SECRETS_H

#include <stddef.h>

#include "auth/access.h"
#include "cli/opts.h"
#include "clog.h"
#include "crypto/keys.h"
#include "env/overrides.h"

/* Reads the first `size` - 1 bytes of the secret file `path` into buf (NUL-terminated),
 * refusing a file inside the served repository `repo_real`; `what` names it in the log.
 * Returns the length, or -1 (logged). */
long cs_read_secret_file(const char *path, const char *repo_real, const char *what, char *buf, size_t size,
                         const clog_t *log);
/* The whole secret file `path` (at most `max` bytes; NUL-terminated, length in *len), as
 * cs_read_secret_file; free it with cs_secret_free(s, max + 2). NULL when unreadable or too
 * large (logged). */
char *cs_read_secret_text(const char *path, const char *repo_real, const char *what, size_t max, size_t *len,
                          const clog_t *log);
/* Wipes `size` bytes of `s` and frees it. NULL-safe. */
void cs_secret_free(char *s, size_t size);
/* The {cipher} keys (crypto/keys.h): --encrypt-key-store and --encrypt-key-pem (RSA keys by
 * alias, ENCRYPT_KEY_STORE_PASSWORD/_SECRET, ENCRYPT_RSA_*), else --encrypt-key-file (one
 * trailing line break dropped), else ENCRYPT_KEY (salt ENCRYPT_SALT); a PKCS#1 PEM RSA
 * private key in the last two is one RSA key (any other text is a symmetric key, as Spring's). Returns 1
 * (keys in *k, to be freed), 0 (no key configured), -1 (unusable: logged; *k freed); *source names where they
 * came from. */
int cs_load_keys(const cs_opts_t *o, const char *repo_real, cs_keys_t *k, const char **source,
                 const clog_t *log);
/* A secret from env `name`, or from the file named by env `name`_FILE (one trailing line
 * break dropped). Returns a malloc'ed string, NULL when neither is set; *bad set when the
 * file cannot be read. */
char *cs_env_secret(const char *name, const char *repo_real, const clog_t *log, int *bad);
/* The access table (auth/access.h): the credentials file (YAML or the legacy line), else
 * CONFIG_SERVER_USER + CONFIG_SERVER_PASSWORD (legacy), else open; says which in the log
 * (a warning when open or legacy). 0, or -1 (logged; `a` is to be freed either way). */
int cs_load_access(const cs_opts_t *o, const char *repo_real, cs_access_t *a, const clog_t *log);
/* The server's overrides (env/overrides.h): --overrides-file (read as a secret file: an
 * override may be a password, so never from inside the served repository), then each
 * --override in order; finished (Spring's order). 0, or -1 (logged; `ovr` is to be freed
 * either way). */
int cs_load_overrides(const cs_opts_t *o, const char *repo_real, cs_overrides_t *ovr, const clog_t *log);
/* strdup(getenv(name)) when set and not empty, else NULL. */
char *cs_env_dup(const char *name);

#endif
