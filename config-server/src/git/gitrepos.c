/* gitrepos.c — reading the repositories of --git-repos-file (gitrepos.h). */
#include "git/gitrepos.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "errbuf.h"
#include "yamlconf.h"

#define SPRING_PREFIX "spring.cloud.config.server.git.repos."
#define OWN_PREFIX "repos."

void cs_grepos_free(cs_grepos_conf_t *c)
{
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        cs_grepo_conf_t *r = &c->v[i];
        free(r->name);
        for (size_t k = 0; k < r->npattern; k++)
            free(r->pattern[k]);
        free(r->uri);
        free(r->search_paths);
        free(r->username);
        if (r->password != NULL)
            OPENSSL_cleanse(r->password, strlen(r->password));
        free(r->password);
        free(r->password_file);
        free(r->ssh_key_file);
        free(r->known_hosts);
        free(r->default_label);
    }
    if (c != NULL) {
        free(c->v);
        c->v = NULL;
        c->n = 0;
    }
}

/* Spring's relaxed name: lower case, without "-" and "_". */
static void relax(const char *s, size_t n, char *out, size_t size)
{
    size_t w = 0;
    for (size_t i = 0; i < n && w + 1 < size; i++)
        if (s[i] != '-' && s[i] != '_')
            out[w++] = (char)tolower((unsigned char)s[i]);
    out[w] = '\0';
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

static cs_grepo_conf_t *repo_named(cs_grepos_conf_t *c, const char *name, size_t n, int line)
{
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->v[i].name) == n && strncmp(c->v[i].name, name, n) == 0)
            return &c->v[i];
    if (c->n == CS_GREPOS_MAX)
        return NULL;
    cs_grepo_conf_t *v = realloc(c->v, (c->n + 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    c->v = v;
    cs_grepo_conf_t *r = &c->v[c->n];
    memset(r, 0, sizeof(*r));
    r->name = strndup(name, n);
    r->refresh_s = r->timeout_s = -1;
    r->line = line;
    if (r->name == NULL)
        return NULL;
    c->n++;
    return r;
}

/* Appends `text` (a comma list, as Spring binds a String[]) to a list of strings. */
static int add_list(char **v, size_t *n, size_t max, const char *text)
{
    const char *s = text;
    for (;;) {
        const char *c = strchr(s, ',');
        size_t l = c != NULL ? (size_t)(c - s) : strlen(s);
        while (l > 0 && isspace((unsigned char)*s)) {
            s++;
            l--;
        }
        while (l > 0 && isspace((unsigned char)s[l - 1]))
            l--;
        if (l > 0) {
            if (*n == max)
                return -1;
            if ((v[*n] = strndup(s, l)) == NULL)
                return -1;
            (*n)++;
        }
        if (c == NULL)
            return 0;
        s = c + 1;
    }
}

/* Joins `add` to the comma list *dst. */
static int join(char **dst, const char *add)
{
    size_t a = *dst != NULL ? strlen(*dst) : 0, b = strlen(add);
    char *s = realloc(*dst, a + b + 2);
    if (s == NULL)
        return -1;
    if (a > 0)
        s[a++] = ',';
    memcpy(s + a, add, b + 1);
    *dst = s;
    return 0;
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst != NULL ? 0 : -1;
}

static int set_int(int *dst, const char *v, int hi)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < 0 || x > hi)
        return -1;
    *dst = (int)x;
    return 0;
}

/* One property `key` (after the prefix: "<name>.<field>[…]") = `text`. 0 or -1 with err. */
static int take(cs_grepos_conf_t *c, const char *key, const char *text, int line, char *err, size_t errlen)
{
    const char *dot = strchr(key, '.');
    if (dot == NULL || !name_ok(key, (size_t)(dot - key))) {
        errbuf_set(err, errlen,
                   "line %d: '%s' is not <repository name>.<key> (a name is letters, digits, "
                   "'-', '_' or '.'... without dots)",
                   line, key);
        return -1;
    }
    cs_grepo_conf_t *r = repo_named(c, key, (size_t)(dot - key), line);
    if (r == NULL) {
        errbuf_set(err, errlen, "line %d: more than %d repositories, or out of memory", line, CS_GREPOS_MAX);
        return -1;
    }
    const char *field = dot + 1;
    size_t flen = strcspn(field, "[");
    int indexed = field[flen] == '[';
    char f[64];
    relax(field, flen, f, sizeof(f));
    int rc = 0;
    if (strcmp(f, "pattern") == 0)
        rc = add_list(r->pattern, &r->npattern, CS_GREPOS_MAX_PATTERNS, text);
    else if (strcmp(f, "searchpaths") == 0)
        rc = text[0] != '\0' ? join(&r->search_paths, text) : 0;
    else if (indexed)
        rc = -2;
    else if (strcmp(f, "uri") == 0)
        rc = set_str(&r->uri, text);
    else if (strcmp(f, "username") == 0)
        rc = set_str(&r->username, text);
    else if (strcmp(f, "password") == 0)
        rc = set_str(&r->password, text);
    else if (strcmp(f, "passwordfile") == 0)
        rc = set_str(&r->password_file, text);
    else if (strcmp(f, "sshkeyfile") == 0)
        rc = set_str(&r->ssh_key_file, text);
    else if (strcmp(f, "knownhostsfile") == 0)
        rc = set_str(&r->known_hosts, text);
    else if (strcmp(f, "defaultlabel") == 0)
        rc = set_str(&r->default_label, text);
    else if (strcmp(f, "refreshrate") == 0)
        rc = set_int(&r->refresh_s, text, 86400) == 0 ? 0 : -3;
    else if (strcmp(f, "timeout") == 0)
        rc = set_int(&r->timeout_s, text, 3600) == 0 && r->timeout_s > 0 ? 0 : -3;
    else if (strcmp(f, "name") == 0 || strcmp(f, "cloneonstart") == 0 || strcmp(f, "forcepull") == 0)
        rc = 0;
    else
        rc = -2;
    if (rc == -2)
        errbuf_set(
            err, errlen,
            "line %d: unknown key '%s' of repository %s (pattern, uri, search-paths, username, password, "
            "password-file, ssh-key-file, known-hosts-file, default-label, refresh-rate, timeout)",
            line, field, r->name);
    else if (rc == -3)
        errbuf_set(err, errlen, "line %d: %s of repository %s is not a number of seconds in range", line,
                   field, r->name);
    else if (rc != 0)
        errbuf_set(err, errlen, "line %d: too many patterns, or out of memory", line);
    return rc == 0 ? 0 : -1;
}

int cs_grepos_parse(const char *buf, size_t len, cs_grepos_conf_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    yamlconf_t y = {0};
    yamlconf_err_t ye;
    int rc = -1;
    if (yamlconf_parse(buf, len, NULL, &y, &ye) != 0) {
        errbuf_set(err, errlen, "line %d: %s", ye.line, ye.msg);
        return -1;
    }
    int spring = 0;
    for (size_t d = 0; d < y.ndocs; d++)
        for (size_t i = 0; i < y.docs[d].n; i++)
            spring |= strncmp(y.docs[d].props[i].key, SPRING_PREFIX, strlen(SPRING_PREFIX)) == 0;
    const char *prefix = spring ? SPRING_PREFIX : OWN_PREFIX;
    for (size_t d = 0; d < y.ndocs; d++) {
        if (y.docs[d].profiles != NULL) /* this server has no profiles of its own */
            continue;
        for (size_t i = 0; i < y.docs[d].n; i++) {
            const yamlconf_prop_t *p = &y.docs[d].props[i];
            if (strncmp(p->key, prefix, strlen(prefix)) != 0) {
                if (spring)
                    continue;
                errbuf_set(err, errlen,
                           "line %d: '%s' is not under repos: (or spring.cloud.config.server.git.repos:)",
                           p->line, p->key);
                goto cleanup;
            }
            if (take(out, p->key + strlen(prefix), p->text, p->line, err, errlen) != 0)
                goto cleanup;
        }
    }
    if (out->n == 0) {
        errbuf_set(err, errlen, "no repository in the file (repos: {<name>: {pattern, uri}})");
        goto cleanup;
    }
    for (size_t i = 0; i < out->n; i++) {
        cs_grepo_conf_t *r = &out->v[i];
        if (r->uri == NULL || r->uri[0] == '\0') {
            errbuf_set(err, errlen, "line %d: repository %s has no uri", r->line, r->name);
            goto cleanup;
        }
        if (r->npattern == 0 && (r->pattern[0] = strdup(r->name)) != NULL) /* Spring: the name */
            r->npattern = 1;
        if (r->password != NULL && r->password_file != NULL) {
            errbuf_set(err, errlen, "line %d: repository %s has both password and password-file", r->line,
                       r->name);
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    yamlconf_free(&y);
    if (rc != 0)
        cs_grepos_free(out);
    return rc;
}
