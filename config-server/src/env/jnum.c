/* jnum.c — Java's number texts inside jansson trees (see jnum.h). */
#include "env/jnum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define TAG_LEN 18 /* "\x01" + 16 hex + ":" */

int cs_jnum_init(cs_jnum_t *t)
{
    unsigned char r[8];
    memset(t, 0, sizeof(*t));
    if (RAND_bytes(r, sizeof(r)) != 1)
        return -1;
    t->tag[0] = '\x01';
    for (int i = 0; i < 8; i++)
        snprintf(t->tag + 1 + 2 * i, 3, "%02x", r[i]);
    t->tag[17] = ':';
    t->tag[18] = '\0';
    return 0;
}

void cs_jnum_free(cs_jnum_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->ents[i].text);
    free(t->ents);
    t->ents = NULL;
    t->n = t->cap = 0;
}

void cs_jnum_java_double(double d, char *buf, size_t size)
{
    if (isnan(d)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, d < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (d == 0) {
        snprintf(buf, size, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    /* the shortest digits that read back as d */
    char e[48];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    char digits[24];
    size_t nd = 0;
    const char *p = e;
    int neg = *p == '-';
    if (neg)
        p++;
    for (; *p != 'e' && *p != '\0'; p++)
        if (*p != '.' && nd + 1 < sizeof(digits))
            digits[nd++] = *p;
    int exp10 = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    char out[64];
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    double a = fabs(d);
    if (a >= 1e-3 && a < 1e7) { /* plain decimal, at least one fraction digit */
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                out[o++] = (size_t)i < nd ? digits[i] : '0';
            out[o++] = '.';
            if ((size_t)exp10 + 1 < nd)
                for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                    out[o++] = digits[i];
            else
                out[o++] = '0';
        } else {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[o++] = '0';
            for (size_t i = 0; i < nd; i++)
                out[o++] = digits[i];
        }
        out[o] = '\0';
    } else { /* computerized scientific notation: 1.0E7, 1.5E-7 */
        out[o++] = digits[0];
        out[o++] = '.';
        if (nd > 1)
            for (size_t i = 1; i < nd; i++)
                out[o++] = digits[i];
        else
            out[o++] = '0';
        snprintf(out + o, sizeof(out) - o, "E%d", exp10);
    }
    snprintf(buf, size, "%s", out);
}

static json_t *mark(cs_jnum_t *t, int big, double d, const char *text)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        cs_jnum_ent_t *ne = realloc(t->ents, nc * sizeof(*ne));
        if (ne == NULL)
            return NULL;
        t->ents = ne;
        t->cap = nc;
    }
    cs_jnum_ent_t *e = &t->ents[t->n];
    char buf[48];
    if (!big) {
        cs_jnum_java_double(d, buf, sizeof(buf));
        text = buf;
    }
    e->big = big;
    e->d = d;
    e->text = strdup(text);
    if (e->text == NULL)
        return NULL;
    char m[48];
    snprintf(m, sizeof(m), "%s%zu", t->tag, t->n);
    t->n++;
    return json_string(m);
}

json_t *cs_jnum_prop_json(cs_jnum_t *t, const yamlconf_prop_t *p)
{
    if (p->type == YAMLCONF_FLOAT)
        return mark(t, 0, p->d, NULL);
    if (p->type == YAMLCONF_BIGINT)
        return mark(t, 1, 0, p->text);
    return yamlconf_prop_json(p);
}

const cs_jnum_ent_t *cs_jnum_get(const cs_jnum_t *t, const json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    if (strncmp(s, t->tag, TAG_LEN) != 0)
        return NULL;
    char *end = NULL;
    unsigned long i = strtoul(s + TAG_LEN, &end, 10);
    if (end == s + TAG_LEN || *end != '\0' || i >= t->n)
        return NULL;
    return &t->ents[i];
}

char *cs_jnum_text(const cs_jnum_t *t, const json_t *v)
{
    char buf[64];
    const cs_jnum_ent_t *e = cs_jnum_get(t, v);
    if (e != NULL)
        return strdup(e->text);
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strdup(json_string_value(v));
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    case JSON_REAL:
        cs_jnum_java_double(json_real_value(v), buf, sizeof(buf));
        return strdup(buf);
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    default:
        return strdup("");
    }
}

int cs_jnum_dump(const cs_jnum_t *t, const json_t *j, dbuf_t *out)
{
    char *txt = json_dumps(j, JSON_COMPACT);
    if (txt == NULL)
        return -1;
    /* a mark is dumped as "\u0001<16 hex>:<index>" */
    char needle[32];
    snprintf(needle, sizeof(needle), "\"\\u0001%.16s:", t->tag + 1);
    size_t nl = strlen(needle);
    int rc = 0;
    const char *p = txt;
    for (const char *hit; rc == 0 && t->n > 0 && (hit = strstr(p, needle)) != NULL;) {
        char *end = NULL;
        unsigned long i = strtoul(hit + nl, &end, 10);
        if (end == hit + nl || *end != '"' || i >= t->n) { /* cannot happen: keep the text */
            rc = dbuf_add(out, p, (size_t)(hit - p) + 1);
            p = hit + 1;
            continue;
        }
        const cs_jnum_ent_t *e = &t->ents[i];
        rc = dbuf_add(out, p, (size_t)(hit - p));
        if (rc == 0 && !e->big && !isfinite(e->d)) /* Jackson: "NaN", "Infinity" as strings */
            rc = dbuf_addf(out, "\"%s\"", e->text);
        else if (rc == 0)
            rc = dbuf_adds(out, e->text);
        p = end + 1;
    }
    if (rc == 0)
        rc = dbuf_adds(out, p);
    free(txt);
    return rc;
}
