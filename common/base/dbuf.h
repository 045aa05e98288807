/* dbuf.h — a growable byte buffer with a hard size cap (curl's dynbuf idea).
 *
 * Every string or body the services build goes through a dbuf: append, then either
 * borrow the bytes (dbuf_ptr) or take ownership of them (dbuf_take). The buffer is always
 * NUL-terminated. When an append would grow it past `cap`, or allocation fails, the
 * append returns -1 and the buffer frees itself (it is then empty and reusable).
 */
#ifndef CQ_DBUF_H
#define CQ_DBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct dbuf {
    char *ptr;   /* owned; NULL until the first append */
    size_t len;  /* bytes used, not counting the NUL */
    size_t size; /* bytes allocated */
    size_t cap;  /* the most `len` may ever reach */
} dbuf_t;

/* Starts an empty buffer that will never hold more than `cap` bytes. */
void dbuf_init(dbuf_t *b, size_t cap);
/* Frees the memory; the buffer is empty and reusable afterwards. NULL-safe. */
void dbuf_free(dbuf_t *b);
/* Empties the buffer but keeps its memory. */
void dbuf_reset(dbuf_t *b);

/* Appends; each returns 0, or -1 (buffer freed) when the cap or memory runs out. */
int dbuf_add(dbuf_t *b, const void *mem, size_t len);
int dbuf_adds(dbuf_t *b, const char *s);
int dbuf_addf(dbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dbuf_vaddf(dbuf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Borrowed view of the contents: valid until the next call on `b`; "" when empty. */
const char *dbuf_ptr(const dbuf_t *b);
size_t dbuf_len(const dbuf_t *b);
/* Hands the heap string to the caller (who frees it) and leaves `b` empty.
 * Returns a malloc'ed "" for an empty buffer, or NULL if that allocation fails. */
char *dbuf_take(dbuf_t *b, size_t *len_out);

#endif
