/* opts.h — config-server's command line and environment (CONFIG_SERVER_*): what can be
 * set, the defaults, --help, and the checks that make a bad value exit 2 before anything
 * starts.
 */
#ifndef CS_OPTS_H
#define CS_OPTS_H

#include <stdio.h>

#include "cqexit.h"

/* Exit codes, as the services' (sysexits.h): a repository or credentials that cannot be
 * used is a configuration error; anything else that stops the start-up (the port taken…)
 * is EX_SOFTWARE. */
#define CS_EXIT_CONFIG CQ_EXIT_CONFIG     /* 78 */
#define CS_EXIT_SOFTWARE CQ_EXIT_SOFTWARE /* 70 */

#define CS_OPTS_MAX_OVERRIDES 256 /* --override flags (more: --overrides-file) */
#define CS_OPTS_MAX_KEY_PEMS 32   /* --encrypt-key-pem flags */

typedef struct cs_opts {
    const char *repo;
    int repo_given; /* --repo or CONFIG_SERVER_REPO */
    const char *repo_uri;
    const char *git_basedir;
    const char *default_label;
    int git_refresh_s;
    int git_timeout_s;
    int git_cache;
    const char *host;
    int port;
    int threads;
    int rescan_ms;
    int accept_empty;
    const char *cred_file;
    const char *encrypt_key_file;
    const char *encrypt_key_store;                     /* PKCS#12 key store (Spring's encrypt.key-store) */
    const char *encrypt_key_alias;                     /* the default key's alias */
    const char *encrypt_key_pem[CS_OPTS_MAX_KEY_PEMS]; /* ALIAS=FILE: more RSA keys, PEM */
    int nkey_pem;
    const char *log_level;
    long max_file_bytes;
    int watch_max_s;            /* the cap of ?wait= */
    const char *peers;          /* static peer list "host:port,…" (POST /monitor forwarding) */
    const char *peers_dns;      /* a name resolving to every replica ("name[:port]") */
    int auth_max_failures;      /* failed logins per address within a minute before it is refused */
    int auth_block_s;           /* how long it is refused */
    const char *search_paths;   /* comma list of folders below the repo (Spring's search-paths) */
    const char *git_repos_file; /* YAML: more git repositories, picked by pattern (git/gitrepos.h) */
    int git_mirrors;            /* mirrors of {application} URIs kept (LRU) */
    const char *overrides_file; /* YAML: properties every client receives */
    const char *override[CS_OPTS_MAX_OVERRIDES]; /* --override key=value, in the order given */
    int noverride;
} cs_opts_t;

/* Fills `o` from the environment, then argv. Returns 0 to run, 1 when --help/--version
 * was handled, 2 on a usage error (printed). */
int cs_opts_parse(int argc, char **argv, cs_opts_t *o);
void cs_opts_usage(FILE *out);
/* getenv(name) when set and not empty, else `dflt`. */
const char *cs_env_or(const char *name, const char *dflt);

#endif
