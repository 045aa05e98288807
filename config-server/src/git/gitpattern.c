/* gitpattern.c — Spring's repository patterns and URI placeholders (gitpattern.h). */
#include "git/gitpattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has(const cs_gpat_t *p, const char *s)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i], s) == 0)
            return 1;
    return 0;
}

static int push(cs_gpat_t *p, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s == NULL)
        return -1;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    if (has(p, s)) {
        free(s);
        return 0;
    }
    char **v = realloc(p->v, (p->n + 1) * sizeof(*v));
    if (v == NULL) {
        free(s);
        return -1;
    }
    p->v = v;
    p->v[p->n++] = s;
    return 0;
}

int cs_gpat_init(cs_gpat_t *p, const char *const *pats, size_t n)
{
    p->v = NULL;
    p->n = 0;
    /* Spring: for each p, p + "/" + star (no "/"), then p; p + "," + star (not ending with a
     * star) after them all */
    for (size_t i = 0; i < n; i++) {
        if (strchr(pats[i], '/') == NULL && push(p, pats[i], "/*") != 0)
            goto oom;
        if (push(p, pats[i], "") != 0)
            goto oom;
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(pats[i]);
        if ((l == 0 || pats[i][l - 1] != '*') && push(p, pats[i], ",*") != 0)
            goto oom;
    }
    return 0;
oom:
    cs_gpat_free(p);
    return -1;
}

void cs_gpat_free(cs_gpat_t *p)
{
    for (size_t i = 0; p != NULL && i < p->n; i++)
        free(p->v[i]);
    if (p != NULL) {
        free(p->v);
        p->v = NULL;
        p->n = 0;
    }
}

int cs_gpat_simple_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s != '\0') {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s) {
            pat++;
            s++;
        } else if (star != NULL) {
            pat = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

static int any(const cs_gpat_t *p, const char *app, const char *prof, size_t plen)
{
    size_t la = strlen(app);
    char *s = malloc(la + plen + 2);
    if (s == NULL)
        return 0;
    memcpy(s, app, la);
    s[la] = '/';
    memcpy(s + la + 1, prof, plen);
    s[la + 1 + plen] = '\0';
    int hit = 0;
    for (size_t i = 0; i < p->n && !hit; i++)
        hit = cs_gpat_simple_match(p->v[i], s);
    free(s);
    return hit;
}

int cs_gpat_matches(const cs_gpat_t *p, const char *app, const char *profiles)
{
    /* Spring's StringUtils.commaDelimitedListToStringArray: every piece, empty ones too */
    const char *s = profiles;
    for (;;) {
        const char *c = strchr(s, ',');
        size_t l = c != NULL ? (size_t)(c - s) : strlen(s);
        if (any(p, app, s, l))
            return 1;
        if (c == NULL)
            return 0;
        s = c + 1;
    }
}

int cs_gpat_serves(const cs_gpat_t *p, const char *app, const char *profiles)
{
    return any(p, app, profiles, strlen(profiles));
}

int cs_gpat_templated(const char *uri)
{
    return strstr(uri, "{application}") != NULL || strstr(uri, "{profile}") != NULL ||
           strstr(uri, "{label}") != NULL;
}

/* `s` with every `from` replaced by `to` (malloc'ed, NULL on out of memory). */
static char *replace(const char *s, const char *from, const char *to)
{
    size_t lf = strlen(from), lt = strlen(to), n = 0;
    for (const char *q = strstr(s, from); q != NULL; q = strstr(q + lf, from))
        n++;
    char *out = malloc(strlen(s) + n * lt + 1), *w = out;
    if (out == NULL)
        return NULL;
    for (const char *q; (q = strstr(s, from)) != NULL; s = q + lf) {
        memcpy(w, s, (size_t)(q - s));
        w += q - s;
        memcpy(w, to, lt);
        w += lt;
    }
    strcpy(w, s);
    return out;
}

char *cs_gpat_expand(const char *tmpl, const char *app, const char *profile, const char *label)
{
    const char *from[3] = {"{application}", "{profile}", "{label}"}, *to[3] = {app, profile, label};
    char *cur = strdup(tmpl);
    for (int i = 0; i < 3 && cur != NULL; i++) {
        if (to[i] == NULL)
            continue;
        char *next = replace(cur, from[i], to[i]);
        free(cur);
        cur = next;
    }
    return cur;
}
