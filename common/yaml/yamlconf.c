/* yamlconf.c — libyaml document walk → flat typed properties (see yamlconf.h); how a plain
 * scalar is typed (Spring Boot's SnakeYAML rules) is yamlconf_type.c. */
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
