/* environment.c — source selection/precedence, {cipher} values, the JSON Environment and
 * merging with list replacement (see environment.h).
 */
#include "env/environment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "env/placeholder.h"

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

void cs_env_collect(const cs_snap_t *s, const cs_label_t *lbl, char *const *apps, size_t napps,
                    char *const *profiles, size_t np, cs_env_t *out)
{
    const cs_label_t *locs[2] = {&s->labels[0], lbl};
    cs_env_collect_in(locs, lbl == &s->labels[0] ? 1 : 2, apps, napps, profiles, np, out);
}

void cs_env_collect_in(const cs_label_t *const *locs, size_t nlocs, char *const *apps, size_t napps,
                       char *const *profiles, size_t np, cs_env_t *out)
{
    out->n = 0;
    /* the names, highest first: the last application listed first, `application` last */
    const char *names[CS_ENV_MAX_APPS + 1];
    size_t nnames = 0;
    for (size_t a = napps; a > 0 && nnames < CS_ENV_MAX_APPS; a--) {
        int dup = strcmp(apps[a - 1], "application") == 0;
        for (size_t k = 0; k < nnames && !dup; k++)
            dup = strcmp(names[k], apps[a - 1]) == 0;
        if (!dup)
            names[nnames++] = apps[a - 1];
    }
    names[nnames++] = "application";
    char base[2 * 128 + 8];
    /* profile-specific files: last profile first, then the later location first (the label
     * overlay before the root), then the applications before application (Spring native
     * backend, measured) */
    for (size_t p = np; p > 0; p--)
        for (size_t li = nlocs; li > 0; li--)
            for (size_t ni = 0; ni < nnames; ni++) {
                snprintf(base, sizeof(base), "%s-%s", names[ni], profiles[p - 1]);
                for (int ext = 0; ext < 3; ext++)
                    add_docs(out, cs_snap_find(locs[li - 1], base, ext), profiles, np);
            }
    /* then the plain files, whose profile-activated documents count where they stand */
    for (size_t li = nlocs; li > 0; li--)
        for (size_t ni = 0; ni < nnames; ni++)
            for (int ext = 0; ext < 3; ext++)
                add_docs(out, cs_snap_find(locs[li - 1], names[ni], ext), profiles, np);
}

static int is_cipher(const yamlconf_prop_t *p)
{
    return p->type == YAMLCONF_STR && cs_cipher_is_marked(p->text);
}

/* One source's map as Spring serves it: its values in document order, then the {cipher}
 * values decrypted (or invalid.<key> = "<n/a>"), as CipherEnvironmentEncryptor moves
 * them. `v2`: {"value","origin"} for the values read from the file. New ref or NULL. */
static json_t *source_map(const cs_env_t *e, const cs_source_t *src, cs_jnum_t *jn, int v2)
{
    json_t *map = json_object();
    dbuf_t plain, key;
    dbuf_init(&plain, 1u << 24);
    dbuf_init(&key, 1u << 16);
    for (int pass = 0; pass < 2 && map != NULL; pass++)
        for (size_t k = 0; k < src->doc->n && map != NULL; k++) {
            const yamlconf_prop_t *p = &src->doc->props[k];
            if (is_cipher(p) != pass)
                continue;
            json_t *v = NULL;
            const char *name = p->key;
            if (pass == 0) {
                v = cs_jnum_prop_json(jn, p);
                if (v2 && v != NULL) {
                    char origin[32];
                    snprintf(origin, sizeof(origin), "%d:%d", p->line, p->col);
                    v = json_pack("{s:o,s:s}", "value", v, "origin", origin);
                }
            } else {
                cs_cipher_rc_t rc = CS_CIPHER_BAD_CRYPT;
                dbuf_reset(&plain);
                if (e->crypt.keys != NULL)
                    rc = cs_keys_decrypt_value(e->crypt.keys, p->text, &plain);
                if (rc == CS_CIPHER_OK) {
                    v = json_stringn(dbuf_ptr(&plain), dbuf_len(&plain));
                } else {
                    dbuf_reset(&key);
                    if (dbuf_addf(&key, "invalid.%s", p->key) == 0)
                        name = dbuf_ptr(&key);
                    v = json_string("<n/a>");
                    if (e->crypt.report != NULL)
                        e->crypt.report(e->crypt.ctx, src->file->rel, p->key,
                                        e->crypt.keys == NULL ? "no encryption key is configured"
                                                              : cs_cipher_reason(rc));
                }
            }
            if (v == NULL || json_object_set_new(map, name, v) != 0) {
                json_decref(map);
                map = NULL;
            }
        }
    dbuf_free(&plain);
    dbuf_free(&key);
    return map;
}

int cs_env_has_overrides(const cs_env_t *e)
{
    return e->ovr != NULL && e->ovr->n > 0;
}

json_t *cs_env_json(const cs_env_t *e, cs_jnum_t *jn, const char *app, const char *profiles,
                    const char *label, const char *version, const cs_srcnames_t *names, int v2)
{
    const char *repo = names->dir;
    json_t *profs = json_array(); /* Spring echoes the requested list as one element */
    json_t *sources = json_array();
    json_array_append_new(profs, json_string(profiles));
    if (cs_env_has_overrides(e)) { /* Spring's addFirst(new PropertySource("overrides", …)) */
        json_t *map = cs_ovr_map(e->ovr, v2);
        if (map == NULL ||
            json_array_append_new(sources, json_pack("{s:s,s:o}", "name", "overrides", "source", map)) != 0) {
            json_decref(profs);
            json_decref(sources);
            return NULL;
        }
    }
    for (size_t i = 0; i < e->n; i++) {
        const cs_source_t *src = &e->src[i];
        char name[1024];
        if (names->uri != NULL && src->file->conf.ndocs > 1)
            snprintf(name, sizeof(name), "%s/Config resource 'file [%s/%s' via location '' (document #%zu)",
                     names->uri, repo, src->file->rel, src->docidx);
        else if (names->uri != NULL)
            snprintf(name, sizeof(name), "%s/%s", names->uri, src->file->rel);
        else if (src->file->conf.ndocs > 1) {
            const char *slash = strrchr(src->file->rel, '/');
            int dirlen = slash != NULL ? (int)(slash - src->file->rel + 1) : 0;
            snprintf(name, sizeof(name),
                     "Config resource 'file [%s/%s]' via location 'file:%s/%.*s' (document #%zu)", repo,
                     src->file->rel, repo, dirlen, src->file->rel, src->docidx);
        } else
            snprintf(name, sizeof(name), "file:%s/%s", repo, src->file->rel);
        json_t *map = source_map(e, src, jn, v2);
        if (map == NULL) {
            json_decref(profs);
            json_decref(sources);
            return NULL;
        }
        json_array_append_new(sources, json_pack("{s:s,s:o}", "name", name, "source", map));
    }
    if (names->uri != NULL)
        return json_pack("{s:s,s:o,s:s?,s:s,s:s,s:o}", "name", app, "profiles", profs, "label", label,
                         "version", version, "state", "", "propertySources", sources);
    return json_pack("{s:s,s:o,s:s?,s:s,s:n,s:o}", "name", app, "profiles", profs, "label", label, "version",
                     version, "state", "propertySources", sources);
}

static int dropped_key(const char *k)
{
    return strcmp(k, "spring.profiles") == 0 || strncmp(k, "spring.profiles[", 16) == 0;
}

/* Merges one source's map into Spring's two maps (EnvironmentController's
 * convertToProperties): a key without '[' goes to `scalars` (a later source replaces the
 * value, the first place stays); a key with '[' belongs to the list named by what comes
 * before the first '[', and a source that has that list replaces the whole list in
 * `lists` (again keeping the list's first place). */
static int merge_source(json_t *scalars, json_t *lists, json_t *map)
{
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v)
    {
        const char *br = strchr(key, '[');
        if (br == NULL) {
            if (json_object_set(scalars, key, v) != 0)
                return -1;
            continue;
        }
        size_t plen = (size_t)(br - key);
        char prefix[1024];
        if (plen >= sizeof(prefix))
            plen = sizeof(prefix) - 1;
        memcpy(prefix, key, plen);
        prefix[plen] = '\0';
        json_t *cur = json_object_get(lists, prefix);
        if (cur != NULL && json_object_get(cur, key) == v) /* this source's list is in already */
            continue;
        json_t *filtered = json_object();
        const char *k2;
        json_t *v2;
        json_object_foreach(map, k2, v2)
        {
            if (strncmp(k2, prefix, plen) == 0 && k2[plen] == '[')
                json_object_set(filtered, k2, v2);
        }
        if (filtered == NULL || json_object_set_new(lists, prefix, filtered) != 0)
            return -1;
    }
    return 0;
}

json_t *cs_env_merge(const cs_env_t *e, cs_jnum_t *jn, int resolve, int *bad, char *err, size_t errlen)
{
    json_t *scalars = json_object(), *lists = json_object(), *flat = json_object();
    *bad = 0;
    snprintf(err, errlen, "out of memory");
    int ok = scalars != NULL && lists != NULL && flat != NULL;
    for (size_t i = e->n; ok && i > 0; i--) { /* lowest precedence first */
        json_t *map = source_map(e, &e->src[i - 1], jn, 0);
        ok = map != NULL && merge_source(scalars, lists, map) == 0;
        json_decref(map);
    }
    if (ok && cs_env_has_overrides(e)) { /* the highest */
        json_t *map = cs_ovr_map(e->ovr, 0);
        ok = map != NULL && merge_source(scalars, lists, map) == 0;
        json_decref(map);
    }
    /* the plain keys in their order, then the lists in theirs (Spring) */
    const char *k;
    json_t *v, *list;
    json_object_foreach(scalars, k, v)
    {
        if (ok && !dropped_key(k))
            ok = json_object_set(flat, k, v) == 0;
    }
    json_object_foreach(lists, k, list)
    {
        const char *lk;
        json_object_foreach(list, lk, v)
        {
            if (ok && !dropped_key(lk))
                ok = json_object_set(flat, lk, v) == 0;
        }
    }
    json_decref(scalars);
    json_decref(lists);
    if (!ok) {
        json_decref(flat);
        return NULL;
    }
    if (!resolve)
        return flat;
    /* resolve against a frozen copy so the result does not depend on key order */
    json_t *src = json_copy(flat);
    json_object_foreach(flat, k, v)
    {
        if (!json_is_string(v) || strstr(json_string_value(v), "${") == NULL)
            continue;
        char *r = NULL, ckey[256];
        int rc = cs_ph_resolve(src, jn, json_string_value(v), &r, ckey, sizeof(ckey));
        if (rc == CS_PH_OK) {
            json_object_set_new(flat, k, json_string(r));
            free(r);
            continue;
        }
        if (rc == CS_PH_CYCLE) {
            *bad = 1;
            snprintf(err, errlen, "circular placeholder reference '%s' in the value of '%s'", ckey, k);
        } else {
            *bad = 1;
            snprintf(err, errlen, "the placeholders of '%s' expand to more than 16 MiB", k);
        }
        json_decref(src);
        json_decref(flat);
        return NULL;
    }
    json_decref(src);
    return flat;
}
