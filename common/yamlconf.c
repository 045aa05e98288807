/* yamlconf.c — libyaml document walk → flat typed properties (see yamlconf.h). */
#include "yamlconf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "dbuf.h"

typedef struct walk {
    yaml_document_t *doc;
    yamlconf_doc_t *out;
    size_t cap;
    size_t nodes;
    const yamlconf_limits_t *lim;
    yamlconf_err_t *err;
} walk_t;

static void set_err(yamlconf_err_t *e, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_err(yamlconf_err_t *e, int line, int col, const char *fmt, ...)
{
    if (e == NULL)
        return;
    e->line = line;
    e->column = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ typing */

static int is_one_of(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* A decimal big number as little-endian digits (values < 10 each). */
typedef struct bignum {
    unsigned char d[128];
    size_t n;
    int overflow;
} bignum_t;

static void big_muladd(bignum_t *b, unsigned mul, unsigned add)
{
    unsigned carry = add;
    for (size_t i = 0; i < b->n; i++) {
        unsigned v = b->d[i] * mul + carry;
        b->d[i] = (unsigned char)(v % 10);
        carry = v / 10;
    }
    while (carry > 0) {
        if (b->n == sizeof(b->d)) {
            b->overflow = 1;
            return;
        }
        b->d[b->n++] = (unsigned char)(carry % 10);
        carry /= 10;
    }
}

static int digit_in(char c, int base)
{
    int v = 99;
    if (isdigit((unsigned char)c))
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    return v < base ? v : -1;
}

/* Digits of `base` (underscores allowed, at least one digit) from s to end into b. */
static int big_digits(bignum_t *b, const char *s, const char *end, int base)
{
    int any = 0;
    for (; s < end; s++) {
        if (*s == '_')
            continue;
        int v = digit_in(*s, base);
        if (v < 0)
            return 0;
        big_muladd(b, (unsigned)base, (unsigned)v);
        any = 1;
    }
    return any && !b->overflow;
}

/* SnakeYAML's int: [-+]?(0b[01_]+ | 0[0-7_]+ | 0 | [1-9][0-9_]* | 0x[0-9a-fA-F_]+ |
 * [1-9][0-9_]*(:[0-5]?[0-9])+). Returns 1 (fits *v), 2 (BIGINT: decimal text in big,
 * size bigsize), 0 not an int. */
static int parse_int(const char *text, long long *v, char *big, size_t bigsize)
{
    bignum_t b = {.n = 0};
    const char *s = text;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    const char *end = s + strlen(s);
    if (!isdigit((unsigned char)*s))
        return 0;
    if (s[0] == '0' && s[1] == 'b') {
        if (!big_digits(&b, s + 2, end, 2))
            return 0;
    } else if (s[0] == '0' && s[1] == 'x') {
        if (!big_digits(&b, s + 2, end, 16))
            return 0;
    } else if (strchr(s, ':') != NULL) { /* base 60: 190:20:30 */
        if (s[0] == '0')
            return 0;
        const char *colon = strchr(s, ':');
        if (!big_digits(&b, s, colon, 10))
            return 0;
        for (const char *p = colon; p < end;) {
            const char *q = p + 1, *next = strchr(q, ':');
            if (next == NULL)
                next = end;
            size_t len = (size_t)(next - q);
            if (len < 1 || len > 2 || !isdigit((unsigned char)q[0]) ||
                (len == 2 && !isdigit((unsigned char)q[1])) || (len == 2 && q[0] > '5'))
                return 0;
            big_muladd(&b, 60, (unsigned)(len == 2 ? (q[0] - '0') * 10 + (q[1] - '0') : q[0] - '0'));
            p = next;
        }
    } else if (s[0] == '0' && s[1] != '\0') {
        if (!big_digits(&b, s + 1, end, 8))
            return 0;
    } else if (!big_digits(&b, s, end, 10)) {
        return 0;
    }
    if (b.overflow)
        return 0;
    while (b.n > 1 && b.d[b.n - 1] == 0)
        b.n--;
    unsigned long long u = 0;
    int fits = b.n <= 19;
    for (size_t i = b.n; fits && i > 0; i--)
        u = u * 10 + b.d[i - 1];
    if (fits && ((!neg && u <= (unsigned long long)LLONG_MAX) ||
                 (neg && u <= (unsigned long long)LLONG_MAX + 1ull))) {
        *v = neg ? (long long)(0 - u) : (long long)u;
        return 1;
    }
    if (b.n + 2 > bigsize)
        return 0;
    size_t j = 0;
    if (neg)
        big[j++] = '-';
    for (size_t i = b.n; i > 0; i--)
        big[j++] = (char)('0' + b.d[i - 1]);
    big[j] = '\0';
    return 2;
}

/* Strips '_' into `buf`; returns 0 or -1 when too long. */
static int strip_underscores(const char *s, char *buf, size_t size)
{
    size_t j = 0;
    for (; *s; s++) {
        if (*s == '_')
            continue;
        if (j + 1 >= size)
            return -1;
        buf[j++] = *s;
    }
    buf[j] = '\0';
    return 0;
}

/* SnakeYAML's float: [-+]?(\.[0-9]+|[0-9_]+(\.[0-9_]*)?)([eE][-+]?[0-9]+)? |
 * [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.inf | \.nan (three cases each). */
static int parse_float(const char *text, double *v)
{
    static const char *const inf[] = {".inf", ".Inf", ".INF", NULL};
    static const char *const nan_[] = {".nan", ".NaN", ".NAN", NULL};
    const char *s = text;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (is_one_of(s, inf)) {
        *v = neg ? -INFINITY : INFINITY;
        return 1;
    }
    if (s == text && is_one_of(s, nan_)) {
        *v = NAN;
        return 1;
    }
    if (isdigit((unsigned char)*s) && strchr(s, ':') != NULL) { /* base 60 with a fraction */
        double acc = 0;
        const char *p = s;
        while (isdigit((unsigned char)*p) || *p == '_') {
            if (*p != '_')
                acc = acc * 10 + (*p - '0');
            p++;
        }
        while (*p == ':') {
            p++;
            if (!isdigit((unsigned char)*p))
                return 0;
            int part = *p++ - '0';
            if (isdigit((unsigned char)*p) && *p != '.') {
                if (part > 5)
                    return 0;
                part = part * 10 + (*p++ - '0');
            }
            acc = acc * 60 + part;
        }
        if (*p != '.')
            return 0;
        char frac[128] = "0";
        if (strip_underscores(p, frac + 1, sizeof(frac) - 1) != 0)
            return 0;
        for (const char *q = frac + 2; *q; q++)
            if (!isdigit((unsigned char)*q))
                return 0;
        *v = (neg ? -1 : 1) * (acc + strtod(frac, NULL));
        return 1;
    }
    const char *p = s;
    int digits = 0, lead = 0;
    if (*p == '.') { /* \.[0-9]+ */
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits++;
    } else {
        while (isdigit((unsigned char)*p) || *p == '_')
            lead += *p++ != '_';
        if (lead == 0)
            return 0;
        digits = lead;
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char)*p) || *p == '_')
                p++;
        }
    }
    if (digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p != '\0')
        return 0;
    char buf[128];
    if (strip_underscores(text, buf, sizeof(buf)) != 0)
        return 0;
    *v = strtod(buf, NULL);
    return 1;
}

void yamlconf_type_plain(const char *text, yamlconf_prop_t *p)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
                                         "NO",    "off",   "Off",   "OFF", NULL};
    p->type = YAMLCONF_STR;
    if (is_one_of(text, nulls))
        p->type = YAMLCONF_NULL;
    else if (is_one_of(text, trues)) {
        p->type = YAMLCONF_BOOL;
        p->b = 1;
    } else if (is_one_of(text, falses)) {
        p->type = YAMLCONF_BOOL;
        p->b = 0;
    } else {
        char big[130];
        int r = parse_int(text, &p->i, big, sizeof(big));
        if (r == 1)
            p->type = YAMLCONF_INT;
        else if (r == 2) {
            p->type = YAMLCONF_BIGINT;
            if (p->text != NULL && p->text == text) { /* the property's own text: now the decimal form */
                char *t = strdup(big);
                if (t == NULL)
                    p->type = YAMLCONF_STR;
                else {
                    free(p->text);
                    p->text = t;
                }
            }
        } else if (r == 0 && parse_float(text, &p->d))
            p->type = YAMLCONF_FLOAT;
    }
}

json_t *yamlconf_prop_json(const yamlconf_prop_t *p)
{
    switch (p->type) {
    case YAMLCONF_INT:
        return json_integer(p->i);
    case YAMLCONF_FLOAT:
        return isfinite(p->d) ? json_real(p->d) : json_string(p->text);
    case YAMLCONF_BOOL:
        return json_boolean(p->b);
    case YAMLCONF_NULL:
        return json_string("");
    default:
        return json_stringn(p->text, strlen(p->text));
    }
}

const yamlconf_prop_t *yamlconf_doc_find(const yamlconf_doc_t *d, const char *key)
{
    for (size_t i = 0; d != NULL && i < d->n; i++)
        if (strcmp(d->props[i].key, key) == 0)
            return &d->props[i];
    return NULL;
}

/* ------------------------------------------------------------------ walk */

static void prop_clear(yamlconf_prop_t *p)
{
    free(p->key);
    free(p->text);
}

static int add_prop(walk_t *w, const char *key, const char *text, size_t tlen, int plain, int line, int col)
{
    if (w->out->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        yamlconf_prop_t *np = realloc(w->out->props, ncap * sizeof(*np));
        if (np == NULL)
            goto oom;
        w->out->props = np;
        w->cap = ncap;
    }
    if (memchr(text, '\0', tlen) != NULL) {
        set_err(w->err, line, 0, "value of '%s' contains a NUL character", key);
        return -1;
    }
    yamlconf_prop_t *p = &w->out->props[w->out->n];
    memset(p, 0, sizeof(*p));
    p->key = strdup(key);
    p->text = strndup(text, tlen);
    if (p->key == NULL || p->text == NULL) {
        prop_clear(p);
        goto oom;
    }
    p->line = line;
    p->col = col;
    if (plain)
        yamlconf_type_plain(p->text, p);
    if (p->type == YAMLCONF_NULL)
        p->text[0] = '\0';
    w->out->n++;
    return 0;
oom:
    set_err(w->err, line, 0, "out of memory");
    return -1;
}

/* Drops props [from, n) whose key is `key` or lies below it. */
static void drop_below(walk_t *w, size_t from, const char *key)
{
    size_t kl = strlen(key), j = from;
    for (size_t i = from; i < w->out->n; i++) {
        const char *k = w->out->props[i].key;
        if (strncmp(k, key, kl) == 0 && (k[kl] == '\0' || k[kl] == '.' || k[kl] == '[')) {
            prop_clear(&w->out->props[i]);
            continue;
        }
        w->out->props[j++] = w->out->props[i];
    }
    w->out->n = j;
}

static int walk_node(walk_t *w, int id, const char *prefix, int depth);

static int join_key(walk_t *w, dbuf_t *b, const char *prefix, const char *k, int line)
{
    dbuf_reset(b);
    int rc = 0;
    if (prefix[0] == '\0' || k[0] == '[')
        rc = dbuf_addf(b, "%s%s", prefix, k);
    else
        rc = dbuf_addf(b, "%s.%s", prefix, k);
    if (rc != 0)
        set_err(w->err, line, 0, "key too long under '%.64s'", prefix);
    return rc;
}

static int walk_mapping(walk_t *w, yaml_node_t *n, const char *prefix, int depth)
{
    int rc = -1;
    dbuf_t key;
    dbuf_init(&key, 4096);
    size_t start = w->out->n;
    int line = (int)n->start_mark.line + 1;
    /* 1. merge keys first (lower precedence) */
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, pr->key);
        if (k == NULL || k->type != YAML_SCALAR_NODE || strcmp((char *)k->data.scalar.value, "<<") != 0 ||
            k->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            continue;
        yaml_node_t *v = yaml_document_get_node(w->doc, pr->value);
        if (v != NULL && v->type == YAML_SEQUENCE_NODE) {
            /* earlier maps in a merge list win: walk them last-to-first */
            for (yaml_node_item_t *it = v->data.sequence.items.top; it > v->data.sequence.items.start;) {
                --it;
                if (walk_node(w, *it, prefix, depth + 1) != 0)
                    goto cleanup;
            }
        } else if (walk_node(w, pr->value, prefix, depth + 1) != 0)
            goto cleanup;
    }
    size_t explicit_start = w->out->n;
    /* 2. explicit keys */
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, pr->key);
        int kline = k != NULL ? (int)k->start_mark.line + 1 : line;
        if (k == NULL || k->type != YAML_SCALAR_NODE) {
            set_err(w->err, kline, k ? (int)k->start_mark.column + 1 : 0,
                    "only scalar mapping keys are supported");
            goto cleanup;
        }
        const char *ks = (const char *)k->data.scalar.value;
        if (strcmp(ks, "<<") == 0 && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            continue;
        if (strlen(ks) != k->data.scalar.length) {
            set_err(w->err, kline, (int)k->start_mark.column + 1, "mapping key contains a NUL character");
            goto cleanup;
        }
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < pr; q++) {
            yaml_node_t *qk = yaml_document_get_node(w->doc, q->key);
            if (qk != NULL && qk->type == YAML_SCALAR_NODE &&
                strcmp((char *)qk->data.scalar.value, ks) == 0) {
                set_err(w->err, kline, (int)k->start_mark.column + 1, "duplicate key '%.100s'", ks);
                goto cleanup;
            }
        }
        if (join_key(w, &key, prefix, ks, kline) != 0)
            goto cleanup;
        if (explicit_start > start)
            drop_below(w, start, dbuf_ptr(&key)); /* explicit key overrides merged ones */
        if (walk_node(w, pr->value, dbuf_ptr(&key), depth + 1) != 0)
            goto cleanup;
    }
    /* an empty map adds no key at all (Spring Boot); an empty list is "" (below) */
    rc = 0;
cleanup:
    dbuf_free(&key);
    return rc;
}

static int walk_node(walk_t *w, int id, const char *prefix, int depth)
{
    yaml_node_t *n = yaml_document_get_node(w->doc, id);
    if (n == NULL)
        return 0;
    int line = (int)n->start_mark.line + 1, col = (int)n->start_mark.column + 1;
    if (depth > w->lim->max_depth) {
        set_err(w->err, line, col, "nesting deeper than %d levels (or a recursive alias)", w->lim->max_depth);
        return -1;
    }
    if (++w->nodes > w->lim->max_nodes) {
        set_err(w->err, line, col, "more than %zu nodes after alias expansion", w->lim->max_nodes);
        return -1;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE:
        if (prefix[0] == '\0') /* a document that is a lone scalar: Spring ignores it */
            return 0;
        return add_prop(w, prefix, (const char *)n->data.scalar.value, n->data.scalar.length,
                        n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, line, col);
    case YAML_MAPPING_NODE:
        return walk_mapping(w, n, prefix, depth);
    case YAML_SEQUENCE_NODE: {
        dbuf_t key;
        dbuf_init(&key, 4096);
        int rc = 0, i = 0;
        if (n->data.sequence.items.start == n->data.sequence.items.top && prefix[0] != '\0')
            rc = add_prop(w, prefix, "", 0, 0, line, col);
        for (yaml_node_item_t *it = n->data.sequence.items.start; rc == 0 && it < n->data.sequence.items.top;
             it++, i++) {
            dbuf_reset(&key);
            if (dbuf_addf(&key, "%s[%d]", prefix, i) != 0) {
                set_err(w->err, line, col, "key too long");
                rc = -1;
                break;
            }
            rc = walk_node(w, *it, dbuf_ptr(&key), depth + 1);
        }
        dbuf_free(&key);
        return rc;
    }
    default:
        return 0;
    }
}

int yamlconf_doc_profiles(yamlconf_doc_t *d)
{
    static const char *const keys[] = {"spring.config.activate.on-profile", "spring.profiles"};
    for (size_t k = 0; k < 2; k++) {
        dbuf_t b;
        dbuf_init(&b, 4096);
        size_t kl = strlen(keys[k]);
        for (size_t i = 0; i < d->n; i++) {
            const char *key = d->props[i].key;
            if (strncmp(key, keys[k], kl) != 0 || (key[kl] != '\0' && key[kl] != '['))
                continue;
            if (d->props[i].text[0] == '\0')
                continue;
            if ((b.len > 0 && dbuf_adds(&b, ",") != 0) || dbuf_adds(&b, d->props[i].text) != 0)
                break;
        }
        if (b.len > 0) {
            d->profiles = dbuf_take(&b, NULL);
            return d->profiles != NULL ? 0 : -1;
        }
        dbuf_free(&b);
    }
    return 0;
}

static void doc_clear(yamlconf_doc_t *d)
{
    for (size_t i = 0; i < d->n; i++)
        prop_clear(&d->props[i]);
    free(d->props);
    free(d->profiles);
    memset(d, 0, sizeof(*d));
}

void yamlconf_free(yamlconf_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->ndocs; i++)
        doc_clear(&c->docs[i]);
    free(c->docs);
    c->docs = NULL;
    c->ndocs = 0;
}

int yamlconf_parse(const char *buf, size_t len, const yamlconf_limits_t *lim_in, yamlconf_t *out,
                   yamlconf_err_t *err)
{
    yamlconf_limits_t lim = {4u << 20, 64, 200000};
    if (lim_in != NULL) {
        if (lim_in->max_bytes)
            lim.max_bytes = lim_in->max_bytes;
        if (lim_in->max_depth)
            lim.max_depth = lim_in->max_depth;
        if (lim_in->max_nodes)
            lim.max_nodes = lim_in->max_nodes;
    }
    yaml_parser_t parser;
    int parser_ready = 0, rc = -1;
    size_t cap = 0, nodes = 0;
    memset(out, 0, sizeof(*out));
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (len > lim.max_bytes) {
        set_err(err, 0, 0, "%zu bytes exceed the limit of %zu bytes", len, lim.max_bytes);
        goto cleanup;
    }
    if (!yaml_parser_initialize(&parser)) {
        set_err(err, 0, 0, "out of memory");
        goto cleanup;
    }
    parser_ready = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            set_err(err, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1, "%s%s%s",
                    parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                    parser.context ? parser.context : "");
            goto cleanup;
        }
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root == NULL) {
            yaml_document_delete(&doc);
            break;
        }
        if (out->ndocs == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            yamlconf_doc_t *nd = realloc(out->docs, ncap * sizeof(*nd));
            if (nd == NULL) {
                yaml_document_delete(&doc);
                set_err(err, 0, 0, "out of memory");
                goto cleanup;
            }
            out->docs = nd;
            cap = ncap;
        }
        yamlconf_doc_t *d = &out->docs[out->ndocs++];
        memset(d, 0, sizeof(*d));
        walk_t w = {.doc = &doc, .out = d, .nodes = nodes, .lim = &lim, .err = err};
        int wrc = walk_node(&w, 1, "", 0);
        nodes = w.nodes;
        yaml_document_delete(&doc);
        if (wrc != 0)
            goto cleanup;
        if (yamlconf_doc_profiles(d) != 0) {
            set_err(err, 0, 0, "out of memory");
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    if (parser_ready)
        yaml_parser_delete(&parser);
    if (rc != 0)
        yamlconf_free(out);
    return rc;
}
