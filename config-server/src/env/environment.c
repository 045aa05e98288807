/* environment.c — source selection/precedence, the JSON Environment, merging with list
 * replacement and ${…} placeholder resolution (see environment.h).
 */
#include "env/environment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

#define PLACEHOLDER_DEPTH 16

size_t cs_env_split_profiles(char *buf, char **out, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p != NULL && n < max;
         p = strtok_r(NULL, ",", &save))
        out[n++] = p;
    return n;
}

static int is_active(const char *name, size_t len, char *const *profiles, size_t np)
{
    for (size_t i = 0; i < np; i++)
        if (strlen(profiles[i]) == len && strncmp(profiles[i], name, len) == 0)
            return 1;
    return 0;
}

/* One operand: optional '!' then a name, surrounding blanks and parentheses ignored. */
static int term_match(const char *s, size_t len, char *const *profiles, size_t np)
{
    while (len > 0 && (*s == ' ' || *s == '(' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == ')' || s[len - 1] == '\t'))
        len--;
    int neg = 0;
    while (len > 0 && *s == '!') {
        neg = !neg;
        s++;
        len--;
    }
    if (len == 0)
        return 0;
    return is_active(s, len, profiles, np) != neg;
}

/* a & b & c  (all), inside an | list */
static int and_match(const char *s, size_t len, char *const *profiles, size_t np)
{
    const char *end = s + len;
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        size_t tl = amp != NULL ? (size_t)(amp - s) : (size_t)(end - s);
        if (!term_match(s, tl, profiles, np))
            return 0;
        s += tl + (amp != NULL);
    }
    return 1;
}

int cs_env_profile_match(const char *expr, char *const *profiles, size_t np)
{
    const char *s = expr;
    for (;;) {
        size_t tl = strcspn(s, ",|");
        if (and_match(s, tl, profiles, np))
            return 1;
        if (s[tl] == '\0')
            return 0;
        s += tl + 1;
    }
}

static void add_source(cs_env_t *out, const cs_file_t *f, size_t di)
{
    const yamlconf_doc_t *d = &f->conf.docs[di];
    for (size_t i = 0; i < out->n; i++)
        if (out->src[i].doc == d)
            return;
    if (out->n < CS_ENV_MAX_SOURCES)
        out->src[out->n++] = (cs_source_t){.file = f, .doc = d, .docidx = di};
}

/* Adds the documents of `f` that apply (unconditional or activated by the profiles),
 * later documents first — measured against Spring Cloud Config Server 5.0.6. */
static void add_docs(cs_env_t *out, const cs_file_t *f, char *const *profiles, size_t np)
{
    if (f == NULL)
        return;
    for (size_t k = f->conf.ndocs; k > 0; k--) {
        const yamlconf_doc_t *d = &f->conf.docs[k - 1];
        if (d->profiles == NULL || cs_env_profile_match(d->profiles, profiles, np))
            add_source(out, f, k - 1);
    }
}

void cs_env_collect(const cs_snap_t *s, const cs_label_t *lbl, const char *app, char *const *profiles,
                    size_t np, cs_env_t *out)
{
    out->n = 0;
    const char *names[2] = {app, "application"};
    size_t nnames = strcmp(app, "application") == 0 ? 1 : 2;
    const cs_label_t *locs[2] = {lbl, &s->labels[0]};
    size_t nlocs = lbl == &s->labels[0] ? 1 : 2;
    char base[2 * 128 + 8];
    /* profile-specific files: last profile first, then label overlay before root, then
     * {app} before application (Spring native backend, measured) */
    for (size_t p = np; p > 0; p--)
        for (size_t li = 0; li < nlocs; li++)
            for (size_t ni = 0; ni < nnames; ni++) {
                snprintf(base, sizeof(base), "%s-%s", names[ni], profiles[p - 1]);
                for (int ext = 0; ext < 3; ext++)
                    add_docs(out, cs_snap_find(locs[li], base, ext), profiles, np);
            }
    /* then the plain files, whose profile-activated documents count where they stand */
    for (size_t li = 0; li < nlocs; li++)
        for (size_t ni = 0; ni < nnames; ni++)
            for (int ext = 0; ext < 3; ext++)
                add_docs(out, cs_snap_find(locs[li], names[ni], ext), profiles, np);
}

json_t *cs_env_json(const cs_env_t *e, const char *app, const char *profiles, const char *label,
                    const char *version, const char *repo, int v2)
{
    json_t *profs = json_array(); /* Spring echoes the requested list as one element */
    json_t *sources = json_array();
    json_array_append_new(profs, json_string(profiles));
    for (size_t i = 0; i < e->n; i++) {
        const cs_source_t *src = &e->src[i];
        char name[1024];
        if (src->file->conf.ndocs > 1) {
            const char *slash = strrchr(src->file->rel, '/');
            int dirlen = slash != NULL ? (int)(slash - src->file->rel + 1) : 0;
            snprintf(name, sizeof(name),
                     "Config resource 'file [%s/%s]' via location 'file:%s/%.*s' (document #%zu)", repo,
                     src->file->rel, repo, dirlen, src->file->rel, src->docidx);
        } else
            snprintf(name, sizeof(name), "file:%s/%s", repo, src->file->rel);
        json_t *map = json_object();
        for (size_t k = 0; k < src->doc->n; k++) {
            const yamlconf_prop_t *p = &src->doc->props[k];
            json_t *v = yamlconf_prop_json(p);
            if (v2) {
                char origin[1100];
                snprintf(origin, sizeof(origin), "file:%s/%s:%d", repo, src->file->rel, p->line);
                v = json_pack("{s:o,s:s}", "value", v, "origin", origin);
            }
            json_object_set_new(map, p->key, v);
        }
        json_array_append_new(sources, json_pack("{s:s,s:o}", "name", name, "source", map));
    }
    return json_pack("{s:s,s:o,s:s?,s:s,s:n,s:o}", "name", app, "profiles", profs, "label", label, "version",
                     version, "state", "propertySources", sources);
}

static int dropped_key(const char *k)
{
    return strcmp(k, "spring.profiles") == 0 || strncmp(k, "spring.profiles[", 16) == 0;
}

/* Removes from `flat` every key of the list `prefix` (prefix itself, prefix[…]…). */
static void drop_list(json_t *flat, const char *prefix, size_t plen)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(flat, tmp, k, v)
    {
        if (strncmp(k, prefix, plen) == 0 && (k[plen] == '[' || k[plen] == '\0'))
            json_object_del(flat, k);
    }
}

json_t *cs_env_merge(const cs_env_t *e, int resolve)
{
    json_t *flat = json_object();
    if (flat == NULL)
        return NULL;
    for (size_t i = e->n; i > 0; i--) { /* lowest precedence first */
        const yamlconf_doc_t *d = e->src[i - 1].doc;
        /* a list present in this source replaces the whole lower list */
        for (size_t k = 0; k < d->n; k++) {
            const char *key = d->props[k].key;
            const char *br = strchr(key, '[');
            if (br == NULL || br == key)
                continue;
            size_t plen = (size_t)(br - key);
            int seen = 0;
            for (size_t j = 0; j < k && !seen; j++) /* once per prefix */
                seen = strncmp(d->props[j].key, key, plen) == 0 && d->props[j].key[plen] == '[';
            if (!seen)
                drop_list(flat, key, plen);
        }
        for (size_t k = 0; k < d->n; k++)
            if (!dropped_key(d->props[k].key))
                json_object_set_new(flat, d->props[k].key, yamlconf_prop_json(&d->props[k]));
    }
    /* Spring lists the non-list keys first, then the list entries */
    json_t *ordered = json_object();
    const char *ok;
    json_t *ov;
    for (int pass = 0; pass < 2 && ordered != NULL; pass++)
        json_object_foreach(flat, ok, ov)
        {
            if ((strchr(ok, '[') != NULL && ok[0] != '[') == pass)
                json_object_set(ordered, ok, ov);
        }
    json_decref(flat);
    flat = ordered;
    if (flat == NULL)
        return NULL;
    if (resolve) {
        /* resolve against a frozen copy so the result does not depend on key order */
        json_t *src = json_copy(flat);
        const char *k;
        json_t *v;
        json_object_foreach(flat, k, v)
        {
            if (!json_is_string(v) || strstr(json_string_value(v), "${") == NULL)
                continue;
            char *r = cs_env_resolve(src, json_string_value(v));
            if (r != NULL)
                json_object_set_new(flat, k, json_string(r));
            free(r);
        }
        json_decref(src);
    }
    return flat;
}

char *cs_env_value_text(const json_t *v)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strdup(json_string_value(v));
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    default:
        return strdup("");
    }
    /* shortest text that round-trips: 1.5, not 1.5000000000000000 */
    if (json_is_real(v)) {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*g", prec, json_real_value(v));
            if (strtod(buf, NULL) == json_real_value(v))
                break;
        }
        size_t n = strlen(buf);
        if (strpbrk(buf, ".eEni") == NULL && n + 2 < sizeof(buf))
            memcpy(buf + n, ".0", 3);
    }
    return strdup(buf);
}

/* Index of the '}' closing a placeholder whose body starts at `i`, or len. */
static size_t match_close(const char *s, size_t len, size_t i)
{
    int depth = 1;
    for (; i < len; i++) {
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            depth++;
            i++;
        } else if (s[i] == '}' && --depth == 0) {
            return i;
        }
    }
    return len;
}

static size_t find_colon(const char *s, size_t len)
{
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            depth++;
            i++;
        } else if (s[i] == '}' && depth > 0) {
            depth--;
        } else if (s[i] == ':' && depth == 0) {
            return i;
        }
    }
    return len;
}

static int resolve_into(const json_t *flat, const char *s, size_t len, dbuf_t *out, int depth)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] == '\\' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            if (dbuf_add(out, "${", 2) != 0)
                return -1;
            i += 3;
            continue;
        }
        if (!(s[i] == '$' && i + 1 < len && s[i + 1] == '{')) {
            if (dbuf_add(out, s + i, 1) != 0)
                return -1;
            i++;
            continue;
        }
        size_t end = match_close(s, len, i + 2);
        if (end == len || depth >= PLACEHOLDER_DEPTH) { /* unterminated or too deep: literal */
            size_t stop = end == len ? len : end + 1;
            if (dbuf_add(out, s + i, stop - i) != 0)
                return -1;
            i = stop;
            continue;
        }
        const char *inner = s + i + 2;
        size_t ilen = end - (i + 2);
        size_t colon = find_colon(inner, ilen);
        dbuf_t key;
        dbuf_init(&key, 4096);
        int rc = resolve_into(flat, inner, colon, &key, depth + 1);
        json_t *v = rc == 0 ? json_object_get(flat, dbuf_ptr(&key)) : NULL;
        dbuf_free(&key);
        if (rc != 0)
            return -1;
        if (v != NULL) {
            char *t = cs_env_value_text(v);
            rc = t != NULL ? resolve_into(flat, t, strlen(t), out, depth + 1) : -1;
            free(t);
        } else if (colon < ilen) {
            rc = resolve_into(flat, inner + colon + 1, ilen - colon - 1, out, depth + 1);
        } else {
            rc = dbuf_add(out, s + i, end + 1 - i); /* unresolvable: left unchanged */
        }
        if (rc != 0)
            return -1;
        i = end + 1;
    }
    return 0;
}

char *cs_env_resolve(const json_t *flat, const char *text)
{
    dbuf_t out;
    dbuf_init(&out, 1u << 20);
    if (resolve_into(flat, text, strlen(text), &out, 0) != 0) {
        dbuf_free(&out);
        return strdup(text);
    }
    return dbuf_take(&out, NULL);
}
