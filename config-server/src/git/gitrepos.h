/* gitrepos.h — the git repositories besides the default one (--repo-uri), read from
 * `--git-repos-file` as Spring Cloud Config declares them:
 *
 *     spring.cloud.config.server.git.repos:      # or, in a file of ours, just `repos:`
 *       team-a:
 *         pattern: team-a-*                       # or a list; default: the repository's name
 *         uri: https://git.example.com/team-a/config.git
 *         search-paths: '{application}'          # a comma list or a list
 *         username: reader                        # else the default repository's credentials
 *         password: …                             # or password-file: F (ours)
 *       per-app:
 *         pattern: '*-service'
 *         uri: https://git.example.com/{application}.git
 *
 * A file with `spring.cloud.config.server.git.repos.*` keys (a Spring server's
 * application.yml) is read for those keys alone. Keys of a repository (Spring's relaxed
 * binding: `search-paths`, `searchPaths`, `search_paths` are one key): pattern, uri,
 * search-paths, username, password, password-file, ssh-key-file, known-hosts-file,
 * default-label, refresh-rate (seconds), timeout (seconds), and Spring's name,
 * clone-on-start, force-pull (accepted; this server always clones at start and lets the
 * remote win). Anything else is an error naming the key and its line. The repositories
 * keep the order of the file (Spring's: the first that matches is asked first).
 */
#ifndef CS_GITREPOS_H
#define CS_GITREPOS_H

#include <stddef.h>

#define CS_GREPOS_MAX 64 /* repositories */
#define CS_GREPOS_MAX_PATTERNS 32

typedef struct cs_grepo_conf {
    char *name;                            /* owned */
    char *pattern[CS_GREPOS_MAX_PATTERNS]; /* owned */
    size_t npattern;
    char *uri;           /* owned */
    char *search_paths;  /* owned: a comma list, NULL = none */
    char *username;      /* owned or NULL */
    char *password;      /* owned or NULL (wiped when freed) */
    char *password_file; /* owned or NULL */
    char *ssh_key_file;  /* owned or NULL */
    char *known_hosts;   /* owned or NULL */
    char *default_label; /* owned or NULL (the server's --default-label) */
    int refresh_s;       /* -1: the server's --git-refresh-s */
    int timeout_s;       /* -1: the server's --git-timeout-s */
    int line;            /* of its first key */
} cs_grepo_conf_t;

typedef struct cs_grepos_conf {
    cs_grepo_conf_t *v; /* owned, in the file's order */
    size_t n;
} cs_grepos_conf_t;

/* Parses the YAML text. 0, or -1 with `err` naming the line and the problem (also: no
 * repository, one without a uri, a name that is not [A-Za-z0-9._-], a bad number). */
int cs_grepos_parse(const char *buf, size_t len, cs_grepos_conf_t *out, char *err, size_t errlen);
void cs_grepos_free(cs_grepos_conf_t *c);

#endif
