/* placeholder.c — ${key:default} resolution with cycle detection (see placeholder.h). */
#include "env/placeholder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

#define MAX_DEPTH 64 /* nested placeholders / chained references being resolved at once */

typedef struct ph {
    const json_t *flat;
    const cs_jnum_t *jn;
    const char *visiting[MAX_DEPTH]; /* keys whose values are being resolved (borrowed) */
    size_t nvisit;
    char *cycle_key;
    size_t cycle_len;
} ph_t;

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

static int resolve_into(ph_t *ph, const char *s, size_t len, dbuf_t *out, int depth);

/* The value of key `k` resolved into `out`; 1 when the key exists, 0 when not. */
static int resolve_key(ph_t *ph, const char *k, dbuf_t *out, int depth)
{
    json_t *v = json_object_get(ph->flat, k);
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < ph->nvisit; i++)
        if (strcmp(ph->visiting[i], k) == 0) {
            snprintf(ph->cycle_key, ph->cycle_len, "%s", k);
            return CS_PH_CYCLE;
        }
    if (ph->nvisit == MAX_DEPTH) { /* a chain this long is treated as a cycle */
        snprintf(ph->cycle_key, ph->cycle_len, "%s", k);
        return CS_PH_CYCLE;
    }
    char *t = cs_jnum_text(ph->jn, v);
    if (t == NULL)
        return CS_PH_TOO_BIG;
    ph->visiting[ph->nvisit++] = json_object_iter_key(json_object_iter_at((json_t *)ph->flat, k));
    int rc = resolve_into(ph, t, strlen(t), out, depth + 1);
    ph->nvisit--;
    free(t);
    return rc == CS_PH_OK ? 1 : rc;
}

static int resolve_into(ph_t *ph, const char *s, size_t len, dbuf_t *out, int depth)
{
    size_t i = 0;
    if (depth > 2 * MAX_DEPTH) {
        snprintf(ph->cycle_key, ph->cycle_len, "%.*s", (int)(len > 64 ? 64 : len), s);
        return CS_PH_CYCLE;
    }
    while (i < len) {
        if (s[i] == '\\' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            if (dbuf_add(out, "${", 2) != 0)
                return CS_PH_TOO_BIG;
            i += 3;
            continue;
        }
        if (!(s[i] == '$' && i + 1 < len && s[i + 1] == '{')) {
            size_t run = 1;
            while (i + run < len && s[i + run] != '$' && s[i + run] != '\\')
                run++;
            if (dbuf_add(out, s + i, run) != 0)
                return CS_PH_TOO_BIG;
            i += run;
            continue;
        }
        size_t end = match_close(s, len, i + 2);
        if (end == len) { /* unterminated: literal */
            if (dbuf_add(out, s + i, len - i) != 0)
                return CS_PH_TOO_BIG;
            break;
        }
        const char *inner = s + i + 2;
        size_t ilen = end - (i + 2);
        size_t colon = find_colon(inner, ilen);
        dbuf_t key;
        dbuf_init(&key, 1u << 20);
        int rc = resolve_into(ph, inner, colon, &key, depth + 1);
        if (rc == CS_PH_OK) {
            rc = resolve_key(ph, dbuf_ptr(&key), out, depth);
            if (rc == 0 && colon < ilen) /* missing: the default, resolved in turn */
                rc = resolve_into(ph, inner + colon + 1, ilen - colon - 1, out, depth + 1);
            else if (rc == 0) /* unresolvable: left unchanged */
                rc = dbuf_add(out, s + i, end + 1 - i) == 0 ? CS_PH_OK : CS_PH_TOO_BIG;
            else if (rc == 1)
                rc = CS_PH_OK;
        }
        dbuf_free(&key);
        if (rc != CS_PH_OK)
            return rc;
        i = end + 1;
    }
    return CS_PH_OK;
}

int cs_ph_resolve(const json_t *flat, const cs_jnum_t *jn, const char *text, char **out, char *key,
                  size_t keylen)
{
    ph_t ph = {.flat = flat, .jn = jn, .cycle_key = key, .cycle_len = keylen};
    dbuf_t buf;
    dbuf_init(&buf, 1u << 24);
    *out = NULL;
    if (keylen > 0)
        key[0] = '\0';
    int rc = resolve_into(&ph, text, strlen(text), &buf, 0);
    if (rc != CS_PH_OK) {
        dbuf_free(&buf);
        return rc;
    }
    *out = dbuf_take(&buf, NULL);
    return *out != NULL ? CS_PH_OK : CS_PH_TOO_BIG;
}
