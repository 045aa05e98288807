/* render.c — .properties / nested JSON / nested YAML bodies from the flat map (render.h). */
#include "env/render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "utf8text.h"
#include "yamlconf.h"

int cs_render_properties(const cs_jnum_t *jn, const json_t *flat, dbuf_t *out)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)flat, k, v)
    {
        char *t = cs_jnum_text(jn, v);
        /* lines are separated, not terminated, by "\n"; values are written raw (Spring) */
        int rc = t == NULL || (out->len > 0 && dbuf_add(out, "\n", 1) != 0) || dbuf_adds(out, k) != 0 ||
                 dbuf_add(out, ": ", 2) != 0 || dbuf_adds(out, t) != 0;
        free(t);
        if (rc)
            return -1;
    }
    return 0;
}

/* Sets `val` at flat path `key` below `root`; returns -1 when the path conflicts. */
static int nest_one(json_t *root, const char *key, json_t *val)
{
    json_t *cur = root;
    const char *p = key;
    char name[512];
    for (;;) {
        /* read one component: name (up to '.' or '['), or [index] */
        int is_index = 0;
        size_t idx = 0, nl = 0;
        if (*p == '[') {
            const char *close = strchr(p, ']');
            if (close == NULL)
                return -1;
            char *end = NULL;
            unsigned long u = strtoul(p + 1, &end, 10);
            if (end == close && close > p + 1 && u < 100000) {
                is_index = 1;
                idx = u;
            } else { /* [weird.key] is a name */
                nl = (size_t)(close - p + 1);
                if (nl >= sizeof(name))
                    return -1;
                memcpy(name, p, nl);
            }
            p = close + 1;
        } else {
            nl = strcspn(p, ".[");
            if (nl == 0 || nl >= sizeof(name))
                return -1;
            memcpy(name, p, nl);
            p += nl;
        }
        name[nl] = '\0';
        if (*p == '.')
            p++;
        int last = *p == '\0';
        int child_is_array = !last && *p == '[' && p[1] >= '0' && p[1] <= '9';
        if (is_index) {
            if (!json_is_array(cur))
                return -1;
            while (json_array_size(cur) <= idx)
                json_array_append_new(cur, json_null());
            if (last)
                return json_array_set(cur, idx, val);
            json_t *ch = json_array_get(cur, idx);
            if (json_is_null(ch)) {
                ch = child_is_array ? json_array() : json_object();
                json_array_set_new(cur, idx, ch);
            }
            cur = ch;
        } else {
            if (!json_is_object(cur))
                return -1;
            if (last) {
                json_t *old = json_object_get(cur, name);
                if (old != NULL && (json_is_object(old) || json_is_array(old)))
                    return -1;
                return json_object_set(cur, name, val);
            }
            json_t *ch = json_object_get(cur, name);
            if (ch == NULL || (json_is_string(ch) && json_string_length(ch) == 0)) {
                ch = child_is_array ? json_array() : json_object();
                json_object_set_new(cur, name, ch);
            }
            cur = ch;
        }
        if (child_is_array ? !json_is_array(cur) : !json_is_object(cur))
            return -1;
    }
}

json_t *cs_render_nest(const json_t *flat)
{
    json_t *root = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)flat, k, v)
    {
        if (nest_one(root, k, v) != 0)
            json_object_set(root, k, v); /* cannot be nested consistently: keep it flat */
    }
    return root;
}

typedef struct ywriter {
    dbuf_t *out;
    int failed;
} ywriter_t;

/* Characters beyond the BMP: SnakeYAML writes them as they are, libyaml would escape them
 * ("\U0001F600"). Each one is handed to libyaml as a private-use character U+E000+i and put
 * back in the output, as long as the document has no such private-use character itself. */
#define SUPP_MAX 4096

typedef struct yctx {
    yaml_emitter_t *em;
    const cs_jnum_t *jn;
    unsigned char (*supp)[4]; /* owned: the original 4-byte sequences, NULL when off */
    size_t nsupp;
} yctx_t;

static int has_bytes(const char *s, unsigned char lead)
{
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        if (*u == lead)
            return 1;
    return 0;
}

/* 1 when some key or string of the tree has a byte `lead` (0xF0..0xF4: beyond the BMP;
 * 0xEE: U+E000..U+EFFF). */
static int tree_has(const json_t *n, unsigned char lo, unsigned char hi, int depth)
{
    const char *k;
    json_t *v;
    size_t i;
    if (depth > 128)
        return 0;
    if (json_is_object(n)) {
        json_object_foreach((json_t *)n, k, v)
        {
            for (unsigned b = lo; b <= hi; b++)
                if (has_bytes(k, (unsigned char)b))
                    return 1;
            if (tree_has(v, lo, hi, depth + 1))
                return 1;
        }
    } else if (json_is_array(n)) {
        json_array_foreach(n, i, v) if (tree_has(v, lo, hi, depth + 1)) return 1;
    } else if (json_is_string(n)) {
        for (unsigned b = lo; b <= hi; b++)
            if (has_bytes(json_string_value(n), (unsigned char)b))
                return 1;
    }
    return 0;
}

/* `text` with its 4-byte characters swapped for private-use ones (malloc'ed), or NULL
 * when nothing is to be swapped (or the table is full). */
static char *supp_swap(yctx_t *c, const char *text)
{
    if (c->supp == NULL || strpbrk(text, "\xf0\xf1\xf2\xf3\xf4") == NULL)
        return NULL;
    size_t n = strlen(text), j = 0;
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n;) {
        unsigned char b = (unsigned char)text[i];
        if (b >= 0xF0 && b <= 0xF4 && i + 4 <= n) { /* valid UTF-8: a 4-byte sequence */
            size_t k = 0;
            while (k < c->nsupp && memcmp(c->supp[k], text + i, 4) != 0)
                k++;
            if (k == c->nsupp) {
                if (c->nsupp == SUPP_MAX) {
                    free(out);
                    return NULL;
                }
                memcpy(c->supp[c->nsupp++], text + i, 4);
            }
            unsigned cp = 0xE000 + (unsigned)k;
            out[j++] = (char)(0xE0 | (cp >> 12));
            out[j++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[j++] = (char)(0x80 | (cp & 0x3F));
            i += 4;
        } else {
            out[j++] = text[i++];
        }
    }
    out[j] = '\0';
    return out;
}

/* Puts the swapped characters back into out[from..]. 0 or -1. */
static int supp_restore(const yctx_t *c, dbuf_t *out, size_t from)
{
    if (c->nsupp == 0)
        return 0;
    dbuf_t fixed;
    dbuf_init(&fixed, out->cap);
    const unsigned char *u = (const unsigned char *)dbuf_ptr(out);
    size_t n = dbuf_len(out);
    int rc = dbuf_add(&fixed, u, from);
    for (size_t i = from; rc == 0 && i < n;) {
        if (u[i] == 0xEE && i + 2 < n) {
            unsigned cp = ((u[i] & 0x0Fu) << 12) | ((u[i + 1] & 0x3Fu) << 6) | (u[i + 2] & 0x3Fu);
            if (cp >= 0xE000 && cp - 0xE000 < c->nsupp) {
                rc = dbuf_add(&fixed, c->supp[cp - 0xE000], 4);
                i += 3;
                continue;
            }
        }
        rc = dbuf_add(&fixed, u + i, 1);
        i++;
    }
    if (rc == 0) {
        dbuf_free(out);
        *out = fixed;
    }
    return rc;
}

static int y_write(void *data, unsigned char *buf, size_t size)
{
    ywriter_t *w = data;
    if (dbuf_add(w->out, buf, size) != 0) {
        w->failed = 1;
        return 0;
    }
    return 1;
}

/* [0-9]{min,max} at *s: advances and returns 1, or 0. */
static int digits(const char **s, int min, int max)
{
    int n = 0;
    while (n < max && (*s)[n] >= '0' && (*s)[n] <= '9')
        n++;
    if (n < min)
        return 0;
    *s += n;
    return 1;
}

/* SnakeYAML's TIMESTAMP resolver: 2001-12-14, 2001-12-14t21:59:43.10-05:00 … */
static int is_timestamp(const char *s)
{
    if (!digits(&s, 4, 4) || *s++ != '-')
        return 0;
    const char *d = s;
    if (digits(&d, 2, 2) && *d == '-' && (d++, digits(&d, 2, 2)) && *d == '\0')
        return 1;
    if (!digits(&s, 1, 2) || *s++ != '-' || !digits(&s, 1, 2))
        return 0;
    if (*s == 'T' || *s == 't')
        s++;
    else if (*s == ' ' || *s == '\t')
        while (*s == ' ' || *s == '\t')
            s++;
    else
        return 0;
    if (!digits(&s, 1, 2) || *s++ != ':' || !digits(&s, 2, 2) || *s++ != ':' || !digits(&s, 2, 2))
        return 0;
    if (*s == '.') {
        s++;
        digits(&s, 0, 1 << 20);
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == 'Z')
        s++;
    else if (*s == '-' || *s == '+') {
        s++;
        if (!digits(&s, 1, 2))
            return 0;
        if (*s == ':') {
            s++;
            if (!digits(&s, 2, 2))
                return 0;
        }
    }
    return *s == '\0';
}

/* [-+]?[0-9][0-9_]*: SnakeYAML's dumper quotes these digit strings ("09") although its
 * loader, as Spring Boot uses it, reads them as strings (measured). */
static int digit_string(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!(*s >= '0' && *s <= '9'))
        return 0;
    while ((*s >= '0' && *s <= '9') || *s == '_')
        s++;
    return *s == '\0';
}

int cs_render_yaml_implicit(const char *s)
{
    yamlconf_prop_t p = {0};
    yamlconf_type_plain(s, &p);
    return p.type != YAMLCONF_STR || strcmp(s, "<<") == 0 || is_timestamp(s) || digit_string(s);
}

/* SnakeYAML's StreamReader.isPrintable over the code points of UTF-8 `s`. */
static int yaml_printable(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0) {
        unsigned cp = 0;
        size_t l = utf8text_next(u, n, &cp);
        if (l == 0)
            return 0;
        if (!(cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0x7E) || cp == 0x85 ||
              (cp >= 0xA0 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000))
            return 0;
        u += l;
        n -= l;
    }
    return 1;
}

/* `plain_ok` 0 forces quotes (the string would read back as another type); a `tag`
 * (binary) is written out. */
static int emit_scalar_ev(yctx_t *c, const char *tag, const char *text, int plain_ok,
                          yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)tag, (yaml_char_t *)text, (int)strlen(text),
                                      tag == NULL && plain_ok, tag == NULL, style))
        return 0;
    return yaml_emitter_emit(c->em, &ev);
}

/* A string as SnakeYAML represents it (see render.h). */
static int emit_string_as(yctx_t *c, const char *text);

static int emit_string(yctx_t *c, const char *text)
{
    char *swapped = supp_swap(c, text);
    int ok = emit_string_as(c, swapped != NULL ? swapped : text);
    free(swapped);
    return ok;
}

static int emit_string_as(yctx_t *c, const char *text)
{
    if (!yaml_printable(text)) {
        size_t n = strlen(text);
        char *b64 = malloc(4 * ((n + 2) / 3) + 1);
        if (b64 == NULL)
            return 0;
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)text, (int)n);
        int ok = emit_scalar_ev(c, "tag:yaml.org,2002:binary", b64, 0, YAML_LITERAL_SCALAR_STYLE);
        free(b64);
        return ok;
    }
    if (cs_render_yaml_implicit(text))
        return emit_scalar_ev(c, NULL, text, 0, YAML_SINGLE_QUOTED_SCALAR_STYLE);
    int multiline = strchr(text, '\n') != NULL || strstr(text, "\xc2\x85") != NULL ||
                    strstr(text, "\xe2\x80\xa8") != NULL || strstr(text, "\xe2\x80\xa9") != NULL;
    return emit_scalar_ev(c, NULL, text, 1, multiline ? YAML_LITERAL_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
}

static int emit_node(yctx_t *c, const json_t *n, int depth)
{
    yaml_event_t ev;
    if (depth > 128)
        return 0;
    if (json_is_object(n)) {
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit(c->em, &ev))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)n, k, v)
        {
            if (!emit_string(c, k) || !emit_node(c, v, depth + 1))
                return 0;
        }
        yaml_mapping_end_event_initialize(&ev);
        return yaml_emitter_emit(c->em, &ev);
    }
    if (json_is_array(n)) {
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(c->em, &ev))
            return 0;
        size_t i;
        json_t *v;
        json_array_foreach(n, i, v)
        {
            if (!emit_node(c, v, depth + 1))
                return 0;
        }
        yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(c->em, &ev);
    }
    if (json_is_null(n))
        return emit_scalar_ev(c, NULL, "", 0, YAML_SINGLE_QUOTED_SCALAR_STYLE);
    const cs_jnum_ent_t *e = cs_jnum_get(c->jn, n);
    if (e != NULL) { /* SnakeYAML: 1000.0, 1.5E-7, .inf, -.inf, .NaN, big integers as digits */
        const char *t = e->text;
        if (!e->big && isnan(e->d))
            t = ".NaN";
        else if (!e->big && isinf(e->d))
            t = e->d < 0 ? "-.inf" : ".inf";
        return emit_scalar_ev(c, NULL, t, 1, YAML_PLAIN_SCALAR_STYLE);
    }
    if (json_is_string(n))
        return emit_string(c, json_string_value(n));
    char *t = cs_jnum_text(c->jn, n); /* integers, booleans */
    if (t == NULL)
        return 0;
    int ok = emit_scalar_ev(c, NULL, t, 1, YAML_PLAIN_SCALAR_STYLE);
    free(t);
    return ok;
}

int cs_render_yaml(const cs_jnum_t *jn, const json_t *flat, dbuf_t *out)
{
    json_t *tree = cs_render_nest(flat);
    yaml_emitter_t em;
    yaml_event_t ev;
    ywriter_t w = {.out = out};
    yctx_t c = {.em = &em, .jn = jn};
    size_t from = dbuf_len(out);
    int ok = 0;
    if (tree == NULL || !yaml_emitter_initialize(&em)) {
        json_decref(tree);
        return -1;
    }
    if (tree_has(tree, 0xF0, 0xF4, 0) && !tree_has(tree, 0xEE, 0xEE, 0))
        c.supp = malloc(SUPP_MAX * sizeof(*c.supp));
    yaml_emitter_set_output(&em, y_write, &w);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, 80); /* SnakeYAML's default */
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    if (!yaml_emitter_emit(&em, &ev))
        goto cleanup;
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    if (!yaml_emitter_emit(&em, &ev) || !emit_node(&c, tree, 0))
        goto cleanup;
    yaml_document_end_event_initialize(&ev, 1);
    if (!yaml_emitter_emit(&em, &ev))
        goto cleanup;
    yaml_stream_end_event_initialize(&ev);
    ok = yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em) && !w.failed &&
         supp_restore(&c, out, from) == 0;
cleanup:
    yaml_emitter_delete(&em);
    json_decref(tree);
    free(c.supp);
    return ok ? 0 : -1;
}
