/* props.c — Spring Boot's .properties loader, character for character (see props.h).
 *
 * The reader mirrors Boot's OriginTrackedPropertiesLoader.CharacterReader on top of
 * java.io.LineNumberReader: the same state (current character, `escaped`, column,
 * line count, last comment prefix) and the same transitions, so keys, values, document
 * splits and origins come out as Boot's. Escaped line continuations are a loop here
 * (Boot recurses), so a file of a million `\` lines cannot exhaust the stack.
 */
#include "repo/props.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

#define MAX_PROPS 200000

/* ---------------------------------------------------------------- reader */

enum { PREV_NONE, PREV_CHAR, PREV_EOL, PREV_EOF };

typedef struct rd {
    const unsigned char *s;
    size_t n, pos;
    int skip_lf, prev;
    long line; /* LineNumberReader.getLineNumber() */
    int ch;    /* Java char, -1 at the end */
    int escaped;
    long col;
    int last_comment; /* the comment character of the previous line, -1 none */
    int bad_unicode;  /* a malformed \uXXXX was read (Boot throws) */
    long bad_line, bad_col;
} rd_t;

/* java.io.LineNumberReader.read(): CR, LF and CRLF all read as one '\n'. */
static int raw_read(rd_t *r)
{
    int c = r->pos < r->n ? r->s[r->pos++] : -1;
    if (r->skip_lf) {
        if (c == '\n')
            c = r->pos < r->n ? r->s[r->pos++] : -1;
        r->skip_lf = 0;
    }
    switch (c) {
    case '\r':
        r->skip_lf = 1;
        /* FALLTHRU */
    case '\n':
        r->line++;
        r->prev = PREV_EOL;
        return '\n';
    case -1:
        if (r->prev == PREV_CHAR) /* an unterminated last line still counts (JDK 16+) */
            r->line++;
        r->prev = PREV_EOF;
        return -1;
    default:
        r->prev = PREV_CHAR;
        return c;
    }
}

static int is_ws(const rd_t *r)
{
    return !r->escaped && (r->ch == ' ' || r->ch == '\t' || r->ch == '\f');
}

static int is_eol(const rd_t *r)
{
    return r->ch == -1 || (!r->escaped && r->ch == '\n');
}

static void skip_ws(rd_t *r)
{
    while (is_ws(r)) {
        r->ch = raw_read(r);
        r->col++;
    }
}

static void read_unicode(rd_t *r)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = raw_read(r);
        if (d >= '0' && d <= '9')
            v = (v << 4) + d - '0';
        else if (d >= 'a' && d <= 'f')
            v = (v << 4) + d - 'a' + 10;
        else if (d >= 'A' && d <= 'F')
            v = (v << 4) + d - 'A' + 10;
        else if (!r->bad_unicode) {
            r->bad_unicode = 1;
            r->bad_line = r->line;
            r->bad_col = r->col;
        }
    }
    r->ch = v;
}

/* CharacterReader.read(): one (possibly escaped) character; 0 at the end. */
static int rd_read(rd_t *r)
{
    for (;;) {
        r->escaped = 0;
        r->ch = raw_read(r);
        r->col++;
        if (r->col == 0)
            skip_ws(r);
        if (r->ch == '\\') {
            r->escaped = 1;
            r->ch = raw_read(r);
            const char *esc = r->ch > 0 ? strchr("trnf", r->ch) : NULL;
            if (esc != NULL) {
                r->ch = "\t\r\n\f"[esc - "trnf"];
            } else if (r->ch == '\n') { /* continuation: read on at the next line */
                r->col = -1;
                continue;
            } else if (r->ch == 'u') {
                read_unicode(r);
            }
        } else if (r->ch == '\n') {
            r->col = -1;
        }
        return r->ch != -1;
    }
}

static void skip_comment(rd_t *r)
{
    while (r->ch != '\n' && r->ch != -1)
        r->ch = raw_read(r);
    r->col = -1;
}

/* ---------------------------------------------------------------- text building */

/* A Java StringBuilder of chars, kept as UTF-8 (surrogate pairs joined, lone ones U+FFFD). */
typedef struct jstr {
    dbuf_t b;
    unsigned hi; /* a pending high surrogate, 0 none */
    int nul;     /* a NUL was appended */
} jstr_t;

static int put_cp(jstr_t *j, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return dbuf_add(&j->b, u, n);
}

static int flush_hi(jstr_t *j)
{
    int rc = j->hi != 0 ? put_cp(j, 0xFFFD) : 0;
    j->hi = 0;
    return rc;
}

static int jstr_add(jstr_t *j, unsigned unit)
{
    if (unit >= 0xDC00 && unit <= 0xDFFF && j->hi != 0) {
        unsigned cp = 0x10000 + ((j->hi - 0xD800) << 10) + (unit - 0xDC00);
        j->hi = 0;
        return put_cp(j, cp);
    }
    if (flush_hi(j) != 0)
        return -1;
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        j->hi = unit;
        return 0;
    }
    if (unit == 0)
        j->nul = 1;
    return put_cp(j, unit >= 0xDC00 && unit <= 0xDFFF ? 0xFFFD : unit);
}

static void jstr_reset(jstr_t *j)
{
    dbuf_reset(&j->b);
    j->hi = 0;
    j->nul = 0;
}

/* ---------------------------------------------------------------- documents */

typedef struct pdoc {
    yamlconf_doc_t d;
    size_t cap;
    size_t *idx; /* open-addressing table of prop index + 1 */
    size_t isize;
} pdoc_t;

static uint64_t hash_key(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

static int reindex(pdoc_t *p, size_t size)
{
    size_t *t = calloc(size, sizeof(*t));
    if (t == NULL)
        return -1;
    for (size_t i = 0; i < p->d.n; i++) {
        size_t h = (size_t)hash_key(p->d.props[i].key) & (size - 1);
        while (t[h] != 0)
            h = (h + 1) & (size - 1);
        t[h] = i + 1;
    }
    free(p->idx);
    p->idx = t;
    p->isize = size;
    return 0;
}

/* Document.put: an empty key is ignored; a known key keeps its place, takes the value. */
static int doc_put(pdoc_t *p, const char *key, const char *val, long line, long col)
{
    if (*key == '\0')
        return 0;
    if (p->isize == 0 || 2 * (p->d.n + 1) > p->isize)
        if (reindex(p, p->isize ? p->isize * 2 : 64) != 0)
            return -1;
    size_t h = (size_t)hash_key(key) & (p->isize - 1);
    while (p->idx[h] != 0) {
        yamlconf_prop_t *q = &p->d.props[p->idx[h] - 1];
        if (strcmp(q->key, key) == 0) {
            char *t = strdup(val);
            if (t == NULL)
                return -1;
            free(q->text);
            q->text = t;
            q->line = (int)line + 1;
            q->col = (int)col + 1;
            return 0;
        }
        h = (h + 1) & (p->isize - 1);
    }
    if (p->d.n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        yamlconf_prop_t *np = realloc(p->d.props, nc * sizeof(*np));
        if (np == NULL)
            return -1;
        p->d.props = np;
        p->cap = nc;
    }
    yamlconf_prop_t *q = &p->d.props[p->d.n];
    memset(q, 0, sizeof(*q));
    q->key = strdup(key);
    q->text = strdup(val);
    q->type = YAMLCONF_STR;
    q->line = (int)line + 1;
    q->col = (int)col + 1;
    if (q->key == NULL || q->text == NULL) {
        free(q->key);
        free(q->text);
        return -1;
    }
    p->idx[h] = ++p->d.n;
    return 0;
}

static void pdoc_free(pdoc_t *p)
{
    for (size_t i = 0; i < p->d.n; i++) {
        free(p->d.props[i].key);
        free(p->d.props[i].text);
    }
    free(p->d.props);
    free(p->d.profiles);
    free(p->idx);
    memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------------- loader */

typedef struct loader {
    rd_t r;
    jstr_t key, val;
    pdoc_t *docs; /* finished documents */
    size_t ndocs, cap;
    pdoc_t cur;
    size_t total;
    yamlconf_err_t *err;
} loader_t;

static int fail(loader_t *l, long line, long col, const char *msg)
{
    l->err->line = (int)line + 1;
    l->err->column = (int)col + 1;
    snprintf(l->err->msg, sizeof(l->err->msg), "%s", msg);
    return -1;
}

/* Java String.trim() of the key (chars <= ' ' at both ends), in place. */
static char *trim_key(char *s)
{
    while (*s != '\0' && (unsigned char)*s <= ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (unsigned char)s[n - 1] <= ' ')
        s[--n] = '\0';
    return s;
}

static int load_key(loader_t *l)
{
    rd_t *r = &l->r;
    int prev_ws = 0;
    jstr_reset(&l->key);
    while (!is_eol(r)) {
        if (!r->escaped && (r->ch == '=' || r->ch == ':')) {
            rd_read(r);
            return flush_hi(&l->key);
        }
        if (!is_ws(r) && prev_ws)
            break;
        prev_ws = is_ws(r);
        if (jstr_add(&l->key, (unsigned)r->ch) != 0)
            return -1;
        rd_read(r);
    }
    return flush_hi(&l->key);
}

static int load_value(loader_t *l, int split, long *line, long *col)
{
    rd_t *r = &l->r;
    jstr_reset(&l->val);
    while (is_ws(r) && !is_eol(r))
        rd_read(r);
    *line = r->line;
    *col = r->col;
    while (!is_eol(r) && !(split && !r->escaped && r->ch == ',')) {
        if (jstr_add(&l->val, (unsigned)r->ch) != 0)
            return -1;
        rd_read(r);
    }
    return flush_hi(&l->val);
}

static int put(loader_t *l, const char *key, long line, long col)
{
    if (l->key.nul || l->val.nul)
        return fail(l, line, col, "NUL character in a .properties key or value");
    if (++l->total > MAX_PROPS)
        return fail(l, line, col, "more than 200000 properties");
    if (doc_put(&l->cur, key, dbuf_ptr(&l->val.b), line, col) != 0)
        return fail(l, line, col, "out of memory");
    return 0;
}

static int load_key_and_value(loader_t *l)
{
    long line, col;
    if (load_key(l) != 0)
        return fail(l, l->r.line, l->r.col, "out of memory");
    char *key = strdup(dbuf_ptr(&l->key.b));
    int rc = -1;
    if (key == NULL)
        return fail(l, l->r.line, l->r.col, "out of memory");
    char *k = trim_key(key);
    size_t kl = strlen(k);
    if (kl >= 2 && strcmp(k + kl - 2, "[]") == 0) { /* name[]=a,b,c */
        k[kl - 2] = '\0';
        int index = 0;
        do {
            if (load_value(l, 1, &line, &col) != 0)
                goto oom;
            char *ik = malloc(kl + 24);
            if (ik == NULL)
                goto oom;
            snprintf(ik, kl + 24, "%s[%d]", k, index++);
            int prc = put(l, ik, line, col);
            free(ik);
            if (prc != 0)
                goto cleanup;
            if (!is_eol(&l->r))
                rd_read(&l->r);
        } while (!is_eol(&l->r));
    } else {
        if (load_value(l, 0, &line, &col) != 0)
            goto oom;
        if (put(l, k, line, col) != 0)
            goto cleanup;
    }
    rc = 0;
    goto cleanup;
oom:
    rc = fail(l, l->r.line, l->r.col, "out of memory");
cleanup:
    free(key);
    return rc;
}

static int read_expect_hyphen(rd_t *r)
{
    rd_read(r);
    return r->ch == '-';
}

static int is_new_document(rd_t *r)
{
    if (r->last_comment == r->ch)
        return 0;
    int result = r->col == 0;
    result = result && read_expect_hyphen(r);
    result = result && read_expect_hyphen(r);
    result = result && read_expect_hyphen(r);
    if (!is_eol(r)) {
        rd_read(r);
        skip_ws(r);
    }
    return result && is_eol(r);
}

static int push_doc(loader_t *l)
{
    if (l->ndocs == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4;
        pdoc_t *nd = realloc(l->docs, nc * sizeof(*nd));
        if (nd == NULL)
            return -1;
        l->docs = nd;
        l->cap = nc;
    }
    l->docs[l->ndocs++] = l->cur;
    memset(&l->cur, 0, sizeof(l->cur));
    return 0;
}

static int load_all(loader_t *l)
{
    rd_t *r = &l->r;
    while (rd_read(r)) {
        if (r->ch == '#' || r->ch == '!') {
            int prefix = r->ch;
            if (is_new_document(r)) {
                if (l->cur.d.n > 0 && push_doc(l) != 0)
                    return fail(l, r->line, r->col, "out of memory");
                pdoc_free(&l->cur);
            } else {
                if (l->cur.d.n == 0 && l->ndocs > 0) { /* the separator is taken back */
                    pdoc_free(&l->cur);
                    l->cur = l->docs[--l->ndocs];
                }
                r->last_comment = prefix;
                skip_comment(r);
            }
        } else {
            r->last_comment = -1;
            if (load_key_and_value(l) != 0)
                return -1;
        }
        if (r->bad_unicode)
            return fail(l, r->bad_line, r->bad_col, "malformed \\uxxxx escape");
    }
    if (l->cur.d.n > 0 && push_doc(l) != 0)
        return fail(l, r->line, r->col, "out of memory");
    return 0;
}

int cs_props_parse(const char *buf, size_t len, yamlconf_t *out, yamlconf_err_t *err)
{
    loader_t l = {.r = {.s = (const unsigned char *)buf, .n = len, .col = -1, .last_comment = 0}, .err = err};
    int rc = -1;
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    dbuf_init(&l.key.b, 1u << 20);
    dbuf_init(&l.val.b, 1u << 26);
    if (load_all(&l) != 0)
        goto cleanup;
    out->docs = calloc(l.ndocs > 0 ? l.ndocs : 1, sizeof(*out->docs));
    if (out->docs == NULL) {
        fail(&l, 0, -1, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < l.ndocs; i++) {
        out->docs[i] = l.docs[i].d;
        free(l.docs[i].idx);
        memset(&l.docs[i], 0, sizeof(l.docs[i]));
    }
    out->ndocs = l.ndocs;
    l.ndocs = 0;
    for (size_t i = 0; i < out->ndocs; i++)
        if (yamlconf_doc_profiles(&out->docs[i]) != 0) {
            fail(&l, 0, -1, "out of memory");
            goto cleanup;
        }
    rc = 0;
cleanup:
    for (size_t i = 0; i < l.ndocs; i++)
        pdoc_free(&l.docs[i]);
    free(l.docs);
    pdoc_free(&l.cur);
    dbuf_free(&l.key.b);
    dbuf_free(&l.val.b);
    if (rc != 0)
        yamlconf_free(out);
    return rc;
}
