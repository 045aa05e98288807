/* overrides.c — the server-side overrides: parsing, Spring's unescaping, Java's HashMap
 * order and the "overrides" property source (overrides.h). */
#include "env/overrides.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "env/jnum.h"
#include "utf8text.h"
#include "yamlconf.h"

#define SPRING_PREFIX "spring.cloud.config.server.overrides."

void cs_ovr_init(cs_overrides_t *o)
{
    memset(o, 0, sizeof(*o));
}

void cs_ovr_free(cs_overrides_t *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->n; i++) {
        free(o->ents[i].key);
        free(o->ents[i].value);
    }
    free(o->ents);
    cs_ovr_init(o);
}

/* 1 when `s` (len bytes) is valid UTF-8 without control characters (tabs and line breaks
 * allowed when `text`). */
static int clean_text(const char *s, size_t len, int text)
{
    if (utf8text_chars(s, len) < 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && !(text && (c == '\t' || c == '\n' || c == '\r'))) || c == 0x7f)
            return 0;
    }
    return 1;
}

/* Every `from` in `s` replaced by `to` (shorter); malloc'ed, NULL out of memory. */
static char *replace_all(const char *s, const char *from, const char *to)
{
    char *out = malloc(strlen(s) + 1);
    if (out == NULL)
        return NULL;
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = s; *p != '\0';) {
        if (strncmp(p, from, fl) == 0) {
            memcpy(out + n, to, tl);
            n += tl;
            p += fl;
        } else
            out[n++] = *p++;
    }
    out[n] = '\0';
    return out;
}

/* Spring's setOverrides: `\${` → `${` when the value has one (that replacement is the one
 * kept), else `\{` → `{`. */
static char *unescape(const char *v)
{
    if (strstr(v, "\\${") != NULL)
        return replace_all(v, "\\${", "${");
    if (strstr(v, "\\{") != NULL)
        return replace_all(v, "\\{", "{");
    return strdup(v);
}

int cs_ovr_add(cs_overrides_t *o, const char *key, const char *value, char *err, size_t errlen)
{
    size_t kl = strlen(key), vl = strlen(value);
    if (kl == 0 || kl > CS_OVR_KEY_MAX || !clean_text(key, kl, 0)) {
        snprintf(err, errlen,
                 "override key '%.80s' is not allowed (empty, longer than %d bytes, a control character or "
                 "invalid UTF-8)",
                 key, CS_OVR_KEY_MAX);
        return -1;
    }
    if (vl > CS_OVR_VALUE_MAX || !clean_text(value, vl, 1)) {
        snprintf(err, errlen,
                 "the value of override '%.80s' is not allowed (longer than %u bytes, a control character or "
                 "invalid UTF-8)",
                 key, CS_OVR_VALUE_MAX);
        return -1;
    }
    char *v = unescape(value);
    if (v == NULL)
        goto oom;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->ents[i].key, key) == 0) {
            free(o->ents[i].value);
            o->ents[i].value = v;
            return 0;
        }
    if (o->n == CS_OVR_MAX) {
        free(v);
        snprintf(err, errlen, "more than %d overrides", CS_OVR_MAX);
        return -1;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        cs_ovr_ent_t *e = realloc(o->ents, cap * sizeof(*e));
        if (e == NULL) {
            free(v);
            goto oom;
        }
        o->ents = e;
        o->cap = cap;
    }
    char *k = strdup(key);
    if (k == NULL) {
        free(v);
        goto oom;
    }
    o->ents[o->n++] = (cs_ovr_ent_t){.key = k, .value = v};
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int cs_ovr_add_arg(cs_overrides_t *o, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) {
        snprintf(err, errlen, "override '%.80s' is not key=value", arg);
        return -1;
    }
    size_t kl = (size_t)(eq - arg);
    if (kl > CS_OVR_KEY_MAX) {
        snprintf(err, errlen, "override key '%.80s…' is longer than %d bytes", arg, CS_OVR_KEY_MAX);
        return -1;
    }
    char key[CS_OVR_KEY_MAX + 1];
    memcpy(key, arg, kl);
    key[kl] = '\0';
    return cs_ovr_add(o, key, eq + 1, err, errlen);
}

/* A YAML property as Spring binds it to a String. Writes into buf (at least 64 bytes) or
 * returns p->text. */
static const char *prop_text(const yamlconf_prop_t *p, char *buf, size_t size)
{
    switch (p->type) {
    case YAMLCONF_INT:
        snprintf(buf, size, "%lld", p->i);
        return buf;
    case YAMLCONF_FLOAT:
        cs_jnum_java_double(p->d, buf, size);
        return buf;
    case YAMLCONF_BOOL:
        return p->b ? "true" : "false";
    case YAMLCONF_NULL:
        return "";
    default:
        return p->text;
    }
}

int cs_ovr_add_yaml(cs_overrides_t *o, const char *buf, size_t len, char *err, size_t errlen)
{
    yamlconf_t c = {0};
    yamlconf_err_t ye;
    if (yamlconf_parse(buf, len, NULL, &c, &ye) != 0) {
        snprintf(err, errlen, "line %d column %d: %s", ye.line, ye.column, ye.msg);
        return -1;
    }
    int prefixed = 0, rc = 0;
    for (size_t d = 0; d < c.ndocs; d++)
        for (size_t i = 0; c.docs[d].profiles == NULL && i < c.docs[d].n; i++)
            prefixed |= strncmp(c.docs[d].props[i].key, SPRING_PREFIX, strlen(SPRING_PREFIX)) == 0;
    for (size_t d = 0; d < c.ndocs && rc == 0; d++)
        for (size_t i = 0; c.docs[d].profiles == NULL && i < c.docs[d].n && rc == 0; i++) {
            const yamlconf_prop_t *p = &c.docs[d].props[i];
            const char *key = p->key;
            if (prefixed) {
                if (strncmp(key, SPRING_PREFIX, strlen(SPRING_PREFIX)) != 0)
                    continue;
                key += strlen(SPRING_PREFIX);
            }
            char num[64];
            rc = cs_ovr_add(o, key, prop_text(p, num, sizeof(num)), err, errlen);
        }
    yamlconf_free(&c);
    return rc;
}

int32_t cs_ovr_java_hash(const char *s)
{
    uint32_t h = 0;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned cp = 0;
        size_t used = utf8text_next((const unsigned char *)s + i, n - i, &cp);
        if (used == 0) { /* not UTF-8 (refused on add): count the byte */
            cp = (unsigned char)s[i];
            used = 1;
        }
        i += used;
        if (cp < 0x10000) {
            h = 31u * h + cp;
        } else {
            cp -= 0x10000;
            h = 31u * h + (0xD800u + (cp >> 10));
            h = 31u * h + (0xDC00u + (cp & 0x3FFu));
        }
    }
    return (int32_t)h;
}

/* The bucket of a key in a java.util.HashMap table of `cap` (a power of two). */
static size_t java_bucket(const char *key, size_t cap)
{
    uint32_t h = (uint32_t)cs_ovr_java_hash(key);
    return (size_t)((h ^ (h >> 16)) & (uint32_t)(cap - 1));
}

typedef struct ovr_sort {
    size_t bucket, pos;
    cs_ovr_ent_t e;
} ovr_sort_t;

static int cmp_sort(const void *a, const void *b)
{
    const ovr_sort_t *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void cs_ovr_finish(cs_overrides_t *o)
{
    if (o->n > 1) {
        /* new HashMap<>(map) on Java 17: tableSizeFor((int)((float)n / 0.75f + 1.0f)) */
        int t = (int)((float)o->n / 0.75f + 1.0f);
        size_t cap = 1;
        while (cap < (size_t)t)
            cap <<= 1;
        ovr_sort_t *s = malloc(o->n * sizeof(*s));
        if (s != NULL) { /* out of memory: the order given, still correct values */
            for (size_t i = 0; i < o->n; i++)
                s[i] = (ovr_sort_t){.bucket = java_bucket(o->ents[i].key, cap), .pos = i, .e = o->ents[i]};
            qsort(s, o->n, sizeof(*s), cmp_sort);
            for (size_t i = 0; i < o->n; i++)
                o->ents[i] = s[i].e;
            free(s);
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < o->n; i++)
        ok = EVP_DigestUpdate(c, o->ents[i].key, strlen(o->ents[i].key) + 1) == 1 &&
             EVP_DigestUpdate(c, o->ents[i].value, strlen(o->ents[i].value) + 1) == 1;
    ok = ok && EVP_DigestFinal_ex(c, md, &ml) == 1 && ml >= sizeof(o->digest);
    EVP_MD_CTX_free(c);
    if (ok)
        memcpy(o->digest, md, sizeof(o->digest));
    else /* no digest: the count at least, so ETags still change with the overrides */
        memset(o->digest, (int)(o->n & 0xff), sizeof(o->digest));
}

json_t *cs_ovr_map(const cs_overrides_t *o, int v2)
{
    json_t *map = json_object();
    for (size_t i = 0; map != NULL && i < o->n; i++) {
        json_t *v =
            v2 ? json_pack("{s:s,s:s}", "value", o->ents[i].value, "origin", "Config server overrides")
               : json_string(o->ents[i].value);
        if (v == NULL || json_object_set_new(map, o->ents[i].key, v) != 0) {
            json_decref(map);
            map = NULL;
        }
    }
    return map;
}
