/* pgarr.h — building PostgreSQL array literals ({"a","b\"c"}) for unnest()-based batch
 * statements, so a whole batch of rows is one round trip. */
#ifndef OS_PGARR_H
#define OS_PGARR_H

#include <stdint.h>

#include "dbuf.h"

/* Starts an array literal in `b` ("{"). */
int os_pgarr_open(dbuf_t *b);
/* Appends a quoted, escaped text element (NULL → NULL element). */
int os_pgarr_text(dbuf_t *b, const char *s);
/* Appends an integer element. */
int os_pgarr_int(dbuf_t *b, int64_t v);
/* Closes the literal ("}"). */
int os_pgarr_close(dbuf_t *b);

#endif
