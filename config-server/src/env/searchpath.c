/* searchpath.c — parsing search paths and resolving the locations of a request
 * (searchpath.h). */
#include "env/searchpath.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const placeholders[] = {"{application}", "{profile}", "{label}"};

void cs_sp_free(cs_searchpaths_t *sp)
{
    if (sp == NULL)
        return;
    for (size_t i = 0; i < sp->n; i++)
        free(sp->pats[i]);
    sp->n = 0;
}

/* 1 when the segment `s` (len bytes) is allowed in a search path. */
static int segment_ok(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.') /* empty, hidden, "." or ".." */
        return 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == '{') {
            size_t k = 0;
            while (k < 3 && strncmp(s + i, placeholders[k], strlen(placeholders[k])) != 0)
                k++;
            if (k == 3)
                return 0;
            i += strlen(placeholders[k]);
            continue;
        }
        char c = s[i++];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-_.+@*?", c)))
            return 0;
    }
    return strstr(s, "..") == NULL || (size_t)(strstr(s, "..") - s) >= len;
}

/* Normalises one item of the list into out (no blanks, no leading/trailing "/"). 0, 1 for
 * the root, -1 when it is not allowed. */
static int normalise(const char *item, size_t len, char *out, size_t size)
{
    while (len > 0 && (*item == ' ' || *item == '\t')) {
        item++;
        len--;
    }
    while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
        len--;
    while (len > 0 && *item == '/') {
        item++;
        len--;
    }
    while (len > 0 && item[len - 1] == '/')
        len--;
    if (len == 0)
        return 1;
    if (len >= size)
        return -1;
    memcpy(out, item, len);
    out[len] = '\0';
    for (const char *c = out;;) {
        const char *slash = strchr(c, '/');
        size_t sl = slash != NULL ? (size_t)(slash - c) : strlen(c);
        if (!segment_ok(c, sl))
            return -1;
        if (slash == NULL)
            return 0;
        c = slash + 1;
    }
}

int cs_sp_parse(cs_searchpaths_t *sp, const char *list, char *err, size_t errlen)
{
    memset(sp, 0, sizeof(*sp));
    snprintf(sp->default_label, sizeof(sp->default_label), "master");
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        char norm[CS_SP_PATH_MAX + 1];
        int rc = normalise(p, len, norm, sizeof(norm));
        if (rc < 0) {
            snprintf(
                err, errlen,
                "search path '%.*s' is not allowed (a '..', '.', empty or hidden folder name, a character "
                "other than letters, digits and -_.+@*?, a placeholder other than {application}, "
                "{profile} and {label}, or longer than %d bytes)",
                (int)(len > 200 ? 200 : len), p, CS_SP_PATH_MAX);
            cs_sp_free(sp);
            return -1;
        }
        if (rc == 0) {
            if (sp->n == CS_SP_MAX) {
                snprintf(err, errlen, "more than %d search paths", CS_SP_MAX);
                cs_sp_free(sp);
                return -1;
            }
            sp->pats[sp->n] = strdup(norm);
            if (sp->pats[sp->n] == NULL) {
                snprintf(err, errlen, "out of memory");
                cs_sp_free(sp);
                return -1;
            }
            sp->n++;
        }
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

/* Ant-style match of the "/"-separated names pat[0..pn) against path[0..n). */
static int match_segs(char **pat, size_t pn, char **path, size_t n)
{
    if (pn == 0)
        return n == 0;
    if (strcmp(pat[0], "**") == 0)
        return match_segs(pat + 1, pn - 1, path, n) || (n > 0 && match_segs(pat, pn, path + 1, n - 1));
    return n > 0 && fnmatch(pat[0], path[0], FNM_PERIOD) == 0 && match_segs(pat + 1, pn - 1, path + 1, n - 1);
}

/* Splits a copy of `s` (in buf) at "/" into out; the count, or -1 when too many. */
static long split(const char *s, char *buf, size_t size, char **out, size_t max)
{
    snprintf(buf, size, "%s", s);
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, "/", &save); t != NULL; t = strtok_r(NULL, "/", &save)) {
        if (n == max)
            return -1;
        out[n++] = t;
    }
    return (long)n;
}

int cs_sp_match(const char *pat, const char *path)
{
    char pb[CS_SP_PATH_MAX * 2 + 2], sb[CS_SP_PATH_MAX * 2 + 2];
    char *ps[64], *ss[64];
    long pn = split(pat, pb, sizeof(pb), ps, 64), sn = split(path, sb, sizeof(sb), ss, 64);
    return pn >= 0 && sn >= 0 && match_segs(ps, (size_t)pn, ss, (size_t)sn);
}

/* The folder `name` of the snapshot (exactly that path; never the root), or NULL. */
static const cs_label_t *find_dir(const cs_snap_t *s, const char *name)
{
    for (size_t i = 1; i < s->nlabels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return &s->labels[i];
    return NULL;
}

static void add_loc(cs_locs_t *out, const cs_label_t *l)
{
    for (size_t i = 0; i < out->n; i++)
        if (out->l[i] == l)
            return; /* Spring's LinkedHashSet: the first place stays */
    if (out->n < CS_SP_MAX_LOCS)
        out->l[out->n++] = l;
}

/* `pat` with its placeholders replaced into out. 0, or -1 when too long. */
static int substitute(const char *pat, const char *app, const char *prof, const char *label, char *out,
                      size_t size)
{
    const char *vals[3] = {app, prof, label};
    size_t n = 0;
    for (const char *p = pat; *p != '\0';) {
        int k = 0;
        while (k < 3 && strncmp(p, placeholders[k], strlen(placeholders[k])) != 0)
            k++;
        const char *piece = k < 3 ? vals[k] : p;
        size_t pl = k < 3 ? strlen(vals[k]) : 1;
        if (n + pl >= size)
            return -1;
        memcpy(out + n, piece, pl);
        n += pl;
        p += k < 3 ? strlen(placeholders[k]) : 1;
    }
    out[n] = '\0';
    return 0;
}

static int cmp_dirs(const void *a, const void *b)
{
    return strcmp((*(const cs_label_t *const *)a)->name, (*(const cs_label_t *const *)b)->name);
}

/* Adds the folders `value` names (wildcards matched, in byte order of their paths). Returns
 * how many matched. */
static size_t add_matches(const cs_snap_t *s, const char *value, cs_locs_t *out)
{
    if (strpbrk(value, "*?") == NULL) {
        const cs_label_t *l = find_dir(s, value);
        if (l != NULL)
            add_loc(out, l);
        return l != NULL;
    }
    const cs_label_t *m[CS_SP_MAX_LOCS];
    size_t found = 0;
    for (size_t i = 1; i < s->nlabels && found < CS_SP_MAX_LOCS; i++)
        if (cs_sp_match(value, s->labels[i].name))
            m[found++] = &s->labels[i];
    qsort(m, found, sizeof(m[0]), cmp_dirs); /* Spring sorts the matches by path */
    for (size_t i = 0; i < found; i++)
        add_loc(out, m[i]);
    return found;
}

static int is_root_label(const char *label)
{
    return label[0] == '\0' || strcmp(label, "master") == 0 || strcmp(label, "main") == 0;
}

void cs_sp_locations(const cs_searchpaths_t *sp, const cs_snap_t *s, const char *label, char *const *apps,
                     size_t na, char *const *profiles, size_t np, cs_locs_t *out)
{
    int git = sp != NULL && sp->git;
    out->n = 0;
    out->label_found = git || is_root_label(label);
    add_loc(out, &s->labels[0]);
    const char *lv = label[0] != '\0' ? label : sp != NULL ? sp->default_label : "master";
    for (size_t i = 0; sp != NULL && i < sp->n; i++)
        for (size_t p = 0; p < (np > 0 ? np : 1); p++)
            for (size_t a = 0; a < (na > 0 ? na : 1); a++) {
                char value[CS_SP_PATH_MAX * 2 + 2];
                if (substitute(sp->pats[i], na > 0 ? apps[a] : "", np > 0 ? profiles[p] : "", lv, value,
                               sizeof(value)) != 0)
                    continue;
                size_t found = add_matches(s, value, out);
                if (found > 0 && strstr(sp->pats[i], "{label}") != NULL)
                    out->label_found = 1;
            }
    if (git || is_root_label(label))
        return;
    /* the label's folders (Spring native's label locations), after every search location */
    const cs_label_t *l = find_dir(s, label);
    if (l != NULL) {
        add_loc(out, l);
        out->label_found = 1;
    }
    for (size_t i = 0; sp != NULL && i < sp->n; i++) {
        if (strpbrk(sp->pats[i], "{*?") != NULL)
            continue;
        char dir[CS_SP_PATH_MAX * 2 + 2];
        if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", sp->pats[i], label) >= sizeof(dir))
            continue;
        l = find_dir(s, dir);
        if (l != NULL) {
            add_loc(out, l);
            out->label_found = 1;
        }
    }
}
