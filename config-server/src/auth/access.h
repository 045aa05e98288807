/* access.h — who may read which configuration (issue 18): the clients of the credentials
 * file, how each one proves who it is, and what it may read.
 *
 * The credentials file (YAML; --credentials-file / CONFIG_SERVER_CREDENTIALS_FILE, e.g. a
 * Kubernetes Secret mounted as a file):
 *
 *     clients:
 *       - name: customer-service          # the identity: a Basic user name or a certificate CN
 *         password: "$pbkdf2-sha256$…"    # `config-server hash-password`, or bcrypt $2b$…
 *         applications: [customer-service, "application*"]   # default: [<name>, "application*"]
 *         profiles: ["*"]                 # default: any
 *         labels: ["*"]                   # default: any ("" — no label — is the default label)
 *       - name: order-service
 *         certificate: true               # may also log in with a client certificate, CN = name
 *       - name: ops
 *         password: "$pbkdf2-sha256$…"
 *         admin: true                     # every application, /encrypt, /decrypt, /monitor
 *
 * Patterns are shell globs (fnmatch: `*`, `?`, `[…]`). A request for several applications
 * (`/a,b/default`) needs every one of them, and every profile it names. Unknown keys, a
 * plain-text password, a name twice or a client that cannot log in are errors (exit 78),
 * named with their line.
 *
 * Backward compatibility: a file without a `clients:` line is the old one-line
 * `user:password`, and CONFIG_SERVER_USER + CONFIG_SERVER_PASSWORD are that too: one admin
 * client whose password is kept in plain text (a warning says so). Without any credentials
 * the server is open (cs_access_t.open): anyone reads every application.
 *
 * Passwords: a check's result is remembered as an HMAC of the password under a random
 * per-process key (the last four right and four wrong ones per client), so the expensive
 * hash runs once per client and password, not per request (a wrong one still counts as a
 * failure); every comparison is constant-time. Hashing is capped at 500 ms per second for
 * the whole process (429 beyond). Failed attempts are
 * limited per client address (auth/ratelimit.h).
 */
#ifndef CS_ACCESS_H
#define CS_ACCESS_H

#include <pthread.h>
#include <stddef.h>

#include "auth/ratelimit.h"

typedef struct cs_client {
    char *name;     /* owned */
    char *password; /* owned: a hash (pwhash.h), or legacy plain text (`plain`), NULL: none */
    int plain;
    int certificate; /* may log in with a verified client certificate whose CN is `name` */
    int admin;
    char **apps; /* owned patterns */
    size_t napps;
    char **profiles; /* owned patterns; none: any */
    size_t nprofiles;
    char **labels; /* owned patterns; none: any */
    size_t nlabels;
    unsigned char memo[4][32]; /* HMACs of passwords that verified (under cs_access_t.mu) */
    int nmemo, memo_next;
    unsigned char bad[4][32]; /* … and of the last ones that did not */
    int nbad, bad_next;
} cs_client_t;

typedef struct cs_access {
    int open; /* no credentials configured: everyone reads everything */
    cs_client_t *clients;
    size_t n;
    char *default_label; /* owned: what a request without a label is checked as */
    unsigned char memo_key[32];
    pthread_mutex_t mu;
    cs_ratelimit_t rl;
} cs_access_t;

/* An open access table (no clients). `default_label` names requests without a label. 0 or -1. */
int cs_access_init(cs_access_t *a, const char *default_label);
/* The failed-login limit per address (ratelimit.h; 0: the defaults, 10 within 60 s → 60 s). */
void cs_access_set_limits(cs_access_t *a, int max_failures, int block_s);
void cs_access_free(cs_access_t *a);

/* Loads the credentials file's text (YAML with `clients:`, or the legacy user:password
 * line). 0, or -1 with `err` (naming the line). *legacy set for the old format. */
int cs_access_load(cs_access_t *a, const char *text, size_t len, int *legacy, char *err, size_t errlen);
/* Adds the legacy admin `user` with the plain-text password `pass`. 0 or -1. */
int cs_access_add_legacy(cs_access_t *a, const char *user, const char *pass, char *err, size_t errlen);

/* Basic login of `user` with `pw` from the address `addr` (alen bytes). Returns 0 with
 * *who set, 401 (unknown user, wrong password: *reason says which, for the log), or 429
 * (*retry_after seconds: this address failed too often, or too many hashes this second). */
int cs_access_basic(cs_access_t *a, const char *user, const char *pw, size_t pwlen, const void *addr,
                    size_t alen, const cs_client_t **who, const char **reason, int *retry_after);
/* The client a verified certificate with subject CN `cn` logs in as, or NULL. */
const cs_client_t *cs_access_cert(const cs_access_t *a, const char *cn);
/* 1 when `who` may read the applications `apps` (a comma list) with `profiles` (a comma
 * list) at `label` ("" = none given); always 1 when the table is open or `who` is admin. */
int cs_access_may_read(const cs_access_t *a, const cs_client_t *who, const char *apps, const char *profiles,
                       const char *label);

#endif
