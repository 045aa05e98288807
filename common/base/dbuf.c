/* dbuf.c — growable, capped byte buffer. See dbuf.h. */
#include "dbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dbuf_init(dbuf_t *b, size_t cap)
{
    b->ptr = NULL;
    b->len = 0;
    b->size = 0;
    b->cap = cap;
}

void dbuf_free(dbuf_t *b)
{
    if (b == NULL)
        return;
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->size = 0;
}

void dbuf_reset(dbuf_t *b)
{
    b->len = 0;
    if (b->ptr != NULL)
        b->ptr[0] = '\0';
}

/* Makes room for `extra` more bytes plus the NUL; frees the buffer on failure. */
static int dbuf_reserve(dbuf_t *b, size_t extra)
{
    if (extra > b->cap || b->len > b->cap - extra) {
        dbuf_free(b);
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->size)
        return 0;
    size_t nsize = b->size ? b->size : 64;
    while (nsize < need)
        nsize *= 2;
    char *p = realloc(b->ptr, nsize);
    if (p == NULL) {
        dbuf_free(b);
        return -1;
    }
    b->ptr = p;
    b->size = nsize;
    return 0;
}

int dbuf_add(dbuf_t *b, const void *mem, size_t len)
{
    if (dbuf_reserve(b, len) != 0)
        return -1;
    if (len > 0)
        memcpy(b->ptr + b->len, mem, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int dbuf_adds(dbuf_t *b, const char *s)
{
    return dbuf_add(b, s, strlen(s));
}

int dbuf_vaddf(dbuf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || dbuf_reserve(b, (size_t)n) != 0) {
        if (n < 0)
            dbuf_free(b);
        return -1;
    }
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int dbuf_addf(dbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dbuf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *dbuf_ptr(const dbuf_t *b)
{
    return b->ptr ? b->ptr : "";
}

size_t dbuf_len(const dbuf_t *b)
{
    return b->len;
}

char *dbuf_take(dbuf_t *b, size_t *len_out)
{
    char *p = b->ptr;
    size_t len = b->len;
    if (p == NULL) {
        p = calloc(1, 1);
        len = 0;
    }
    b->ptr = NULL;
    b->len = 0;
    b->size = 0;
    if (len_out != NULL)
        *len_out = len;
    return p;
}
