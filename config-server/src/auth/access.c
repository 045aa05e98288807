/* access.c — the credentials table: loading (YAML or the legacy line), logins and the
 * read rules (access.h). */
#include "auth/access.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth/pwhash.h"
#include "yamlconf.h"

#define MAX_CLIENTS 1024
#define MAX_PATTERNS 64

int cs_access_init(cs_access_t *a, const char *default_label)
{
    memset(a, 0, sizeof(*a));
    a->open = 1;
    pthread_mutex_init(&a->mu, NULL);
    cs_ratelimit_init(&a->rl, 0, 0, 0, 0);
    a->default_label = strdup(default_label != NULL ? default_label : "main");
    if (a->default_label == NULL || RAND_bytes(a->memo_key, sizeof(a->memo_key)) != 1)
        return -1;
    return 0;
}

void cs_access_set_limits(cs_access_t *a, int max_failures, int block_s)
{
    cs_ratelimit_destroy(&a->rl);
    cs_ratelimit_init(&a->rl, max_failures, 0, block_s, 0);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void client_free(cs_client_t *c)
{
    free(c->name);
    if (c->password != NULL)
        OPENSSL_cleanse(c->password, strlen(c->password));
    free(c->password);
    free_list(c->apps, c->napps);
    free_list(c->profiles, c->nprofiles);
    free_list(c->labels, c->nlabels);
    OPENSSL_cleanse(c->memo, sizeof(c->memo));
    OPENSSL_cleanse(c->bad, sizeof(c->bad));
}

void cs_access_free(cs_access_t *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        client_free(&a->clients[i]);
    free(a->clients);
    free(a->default_label);
    OPENSSL_cleanse(a->memo_key, sizeof(a->memo_key));
    cs_ratelimit_destroy(&a->rl);
    pthread_mutex_destroy(&a->mu);
    memset(a, 0, sizeof(*a));
}

/* ---------------------------------------------------------------- loading */

static int push(char ***v, size_t *n, const char *s)
{
    if (*n >= MAX_PATTERNS)
        return -1;
    char **nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (nv == NULL)
        return -1;
    *v = nv;
    if ((nv[*n] = strdup(s)) == NULL)
        return -1;
    (*n)++;
    return 0;
}

/* Parses "clients[<i>].<field>[ [<j>] ]": 0 with *i, field (copied) and *has_j, or -1. */
static int parse_key(const char *key, size_t *i, char *field, size_t fsize, int *has_j)
{
    const char *p = key;
    if (strncmp(p, "clients[", 8) != 0)
        return -1;
    char *end = NULL;
    *i = strtoul(p + 8, &end, 10);
    if (end == p + 8 || strncmp(end, "].", 2) != 0)
        return -1;
    p = end + 2;
    size_t fl = strcspn(p, "[");
    if (fl == 0 || fl >= fsize)
        return -1;
    memcpy(field, p, fl);
    field[fl] = '\0';
    *has_j = p[fl] == '[';
    if (*has_j) {
        const char *q = p + fl + 1;
        strtoul(q, &end, 10);
        if (end == q || strcmp(end, "]") != 0)
            return -1;
    }
    return 0;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == ':')
            return 0;
    return 1;
}

static int fail_at(char *err, size_t errlen, const yamlconf_prop_t *p, const char *what)
{
    snprintf(err, errlen, "line %d: %s (%s)", p != NULL ? p->line : 0, what, p != NULL ? p->key : "");
    return -1;
}

/* Fills the clients from the flat properties of the YAML file. 0 or -1 with `err`. */
static int load_clients(cs_access_t *a, const yamlconf_doc_t *d, char *err, size_t errlen)
{
    for (size_t k = 0; k < d->n; k++) {
        const yamlconf_prop_t *p = &d->props[k];
        size_t i = 0;
        char field[32];
        int has_j = 0;
        if (strcmp(p->key, "clients") == 0)
            continue; /* an empty list: caught below */
        if (parse_key(p->key, &i, field, sizeof(field), &has_j) != 0 || i >= MAX_CLIENTS)
            return fail_at(err, errlen, p,
                           "unknown key: expected clients[].name, password, certificate, "
                           "admin, applications, profiles or labels");
        if (i >= a->n) {
            cs_client_t *nc = realloc(a->clients, (i + 1) * sizeof(*nc));
            if (nc == NULL)
                return fail_at(err, errlen, p, "out of memory");
            memset(nc + a->n, 0, (i + 1 - a->n) * sizeof(*nc));
            a->clients = nc;
            a->n = i + 1;
        }
        cs_client_t *c = &a->clients[i];
        int list = strcmp(field, "applications") == 0 || strcmp(field, "profiles") == 0 ||
                   strcmp(field, "labels") == 0;
        if (list != has_j && !(list && p->text[0] == '\0'))
            return fail_at(err, errlen, p, list ? "expected a list" : "expected a single value");
        if (strcmp(field, "name") == 0) {
            if (!name_ok(p->text))
                return fail_at(err, errlen, p, "a name is 1-255 printable characters without ':'");
            free(c->name);
            c->name = strdup(p->text);
        } else if (strcmp(field, "password") == 0) {
            char why[160];
            if (cs_pwhash_check(p->text, why, sizeof(why)) != 0)
                return fail_at(err, errlen, p, why);
            free(c->password);
            c->password = strdup(p->text);
        } else if (strcmp(field, "admin") == 0 || strcmp(field, "certificate") == 0) {
            if (p->type != YAMLCONF_BOOL)
                return fail_at(err, errlen, p, "expected true or false");
            *(strcmp(field, "admin") == 0 ? &c->admin : &c->certificate) = p->b;
        } else if (list) {
            char ***v = strcmp(field, "applications") == 0 ? &c->apps
                        : strcmp(field, "profiles") == 0   ? &c->profiles
                                                           : &c->labels;
            size_t *n = strcmp(field, "applications") == 0 ? &c->napps
                        : strcmp(field, "profiles") == 0   ? &c->nprofiles
                                                           : &c->nlabels;
            if (p->text[0] == '\0' && !has_j)
                return fail_at(err, errlen, p,
                               "an empty list allows nothing; leave the key out for the default");
            if (push(v, n, p->text) != 0)
                return fail_at(err, errlen, p, "too many patterns (64 at most)");
        } else {
            return fail_at(err, errlen, p,
                           "unknown key: expected name, password, certificate, admin, "
                           "applications, profiles or labels");
        }
    }
    if (a->n == 0) {
        snprintf(err, errlen, "no clients: list at least one under clients:");
        return -1;
    }
    for (size_t i = 0; i < a->n; i++) {
        cs_client_t *c = &a->clients[i];
        if (c->name == NULL) {
            snprintf(err, errlen, "clients[%zu] has no name", i);
            return -1;
        }
        if (c->password == NULL && !c->certificate) {
            snprintf(err, errlen, "client %s can never log in: give it a password or certificate: true",
                     c->name);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->clients[j].name, c->name) == 0) {
                snprintf(err, errlen, "client %s is listed twice", c->name);
                return -1;
            }
        if (c->napps == 0 &&
            (push(&c->apps, &c->napps, c->name) != 0 || push(&c->apps, &c->napps, "application*") != 0)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* 1 when some line of the text starts with "clients:" (the YAML format). */
static int is_yaml_format(const char *text, size_t len)
{
    for (size_t i = 0; i < len;) {
        if (len - i >= 8 && strncmp(text + i, "clients:", 8) == 0)
            return 1;
        const char *nl = memchr(text + i, '\n', len - i);
        if (nl == NULL)
            break;
        i = (size_t)(nl - text) + 1;
    }
    return 0;
}

int cs_access_load(cs_access_t *a, const char *text, size_t len, int *legacy, char *err, size_t errlen)
{
    *legacy = !is_yaml_format(text, len);
    if (*legacy) {
        char line[2048];
        size_t n = strcspn(text, "\r\n");
        if (n >= sizeof(line) || n > len) {
            snprintf(err, errlen, "expected one line user:password, or a YAML file with clients:");
            return -1;
        }
        memcpy(line, text, n);
        line[n] = '\0';
        char *colon = strchr(line, ':');
        int rc = -1;
        if (colon == NULL || colon == line)
            snprintf(err, errlen, "expected one line user:password, or a YAML file with clients:");
        else {
            *colon = '\0';
            rc = cs_access_add_legacy(a, line, colon + 1, err, errlen);
        }
        OPENSSL_cleanse(line, sizeof(line));
        return rc;
    }
    yamlconf_t y = {0};
    yamlconf_err_t ye = {0};
    yamlconf_limits_t lim = {.max_bytes = 1u << 20};
    if (yamlconf_parse(text, len, &lim, &y, &ye) != 0) {
        snprintf(err, errlen, "line %d, column %d: %s", ye.line, ye.column, ye.msg);
        return -1;
    }
    int rc = -1;
    if (y.ndocs != 1)
        snprintf(err, errlen, "expected one YAML document");
    else
        rc = load_clients(a, &y.docs[0], err, errlen);
    for (size_t d = 0; d < y.ndocs; d++) /* the hashes are secrets too */
        for (size_t k = 0; k < y.docs[d].n; k++)
            OPENSSL_cleanse(y.docs[d].props[k].text, strlen(y.docs[d].props[k].text));
    yamlconf_free(&y);
    if (rc == 0)
        a->open = 0;
    return rc;
}

int cs_access_add_legacy(cs_access_t *a, const char *user, const char *pass, char *err, size_t errlen)
{
    if (!name_ok(user)) {
        snprintf(err, errlen, "the user name is 1-255 printable characters without ':'");
        return -1;
    }
    cs_client_t *nc = realloc(a->clients, (a->n + 1) * sizeof(*nc));
    if (nc == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->clients = nc;
    cs_client_t *c = &nc[a->n++];
    memset(c, 0, sizeof(*c));
    c->name = strdup(user);
    c->password = strdup(pass);
    c->plain = 1;
    c->admin = 1;
    if (c->name == NULL || c->password == NULL || push(&c->apps, &c->napps, "*") != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->open = 0;
    return 0;
}

/* ---------------------------------------------------------------- logins */

static const cs_client_t *find(const cs_access_t *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->clients[i].name, name) == 0)
            return &a->clients[i];
    return NULL;
}

static int plain_equal(const char *stored, const char *pw, size_t len)
{
    unsigned char x[32], y[32];
    unsigned int xl = 0, yl = 0;
    EVP_Digest(stored, strlen(stored), x, &xl, EVP_sha256(), NULL);
    EVP_Digest(pw, len, y, &yl, EVP_sha256(), NULL);
    return xl == 32 && yl == 32 && CRYPTO_memcmp(x, y, 32) == 0;
}

int cs_access_basic(cs_access_t *a, const char *user, const char *pw, size_t pwlen, const void *addr,
                    size_t alen, const cs_client_t **who, const char **reason, int *retry_after)
{
    time_t now = time(NULL);
    *who = NULL;
    *reason = "";
    if ((*retry_after = cs_ratelimit_blocked(&a->rl, addr, alen, now)) > 0) {
        *reason = "too many failed attempts from this address";
        return 429;
    }
    cs_client_t *c = (cs_client_t *)find(a, user);
    if (c == NULL || c->password == NULL) {
        *reason = c == NULL ? "unknown user" : "this client logs in with a certificate only";
        *retry_after = cs_ratelimit_fail(&a->rl, addr, alen, now);
        return 401;
    }
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), a->memo_key, sizeof(a->memo_key), (const unsigned char *)pw, pwlen, mac, &ml);
    int ok = 0, known_bad = 0;
    pthread_mutex_lock(&a->mu);
    for (int i = 0; i < c->nmemo; i++)
        ok |= CRYPTO_memcmp(c->memo[i], mac, sizeof(mac)) == 0;
    for (int i = 0; i < c->nbad; i++)
        known_bad |= CRYPTO_memcmp(c->bad[i], mac, sizeof(mac)) == 0;
    pthread_mutex_unlock(&a->mu);
    if (!ok && !known_bad) {
        if (c->plain) {
            ok = plain_equal(c->password, pw, pwlen);
        } else {
            if (!cs_ratelimit_expensive(&a->rl, now)) {
                *reason = "too many password checks this second";
                *retry_after = 1;
                return 429;
            }
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            ok = cs_pwhash_verify(c->password, pw, pwlen);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            cs_ratelimit_spent(&a->rl, now,
                               (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        }
        pthread_mutex_lock(&a->mu);
        if (ok) {
            memcpy(c->memo[c->memo_next], mac, sizeof(mac));
            c->memo_next = (c->memo_next + 1) % 4;
            c->nmemo += c->nmemo < 4;
        } else {
            memcpy(c->bad[c->bad_next], mac, sizeof(mac));
            c->bad_next = (c->bad_next + 1) % 4;
            c->nbad += c->nbad < 4;
        }
        pthread_mutex_unlock(&a->mu);
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    if (!ok) {
        *reason = "wrong password";
        *retry_after = cs_ratelimit_fail(&a->rl, addr, alen, now);
        return 401;
    }
    cs_ratelimit_ok(&a->rl, addr, alen);
    *who = c;
    return 0;
}

const cs_client_t *cs_access_cert(const cs_access_t *a, const char *cn)
{
    const cs_client_t *c = find(a, cn);
    return c != NULL && c->certificate ? c : NULL;
}

/* 1 when each name of the comma list `names` matches one of the patterns. */
static int all_match(char *const *pats, size_t np, const char *names)
{
    for (const char *p = names;;) {
        size_t n = strcspn(p, ",");
        char one[1100];
        if (n >= sizeof(one))
            return 0;
        memcpy(one, p, n);
        one[n] = '\0';
        int hit = 0;
        for (size_t i = 0; i < np && !hit; i++)
            hit = fnmatch(pats[i], one, 0) == 0;
        if (!hit)
            return 0;
        if (p[n] == '\0')
            return 1;
        p += n + 1;
    }
}

int cs_access_may_read(const cs_access_t *a, const cs_client_t *who, const char *apps, const char *profiles,
                       const char *label)
{
    if (a->open)
        return 1;
    if (who == NULL)
        return 0;
    if (who->admin)
        return 1;
    if (!all_match(who->apps, who->napps, apps))
        return 0;
    if (who->nprofiles > 0 && !all_match(who->profiles, who->nprofiles, profiles))
        return 0;
    if (who->nlabels > 0 &&
        !all_match(who->labels, who->nlabels, label[0] != '\0' ? label : a->default_label))
        return 0;
    return 1;
}
