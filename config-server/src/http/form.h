/* form.h — application/x-www-form-urlencoded helpers shared by the config-server's POST
 * endpoints (/encrypt and /decrypt in encrypt.c, /monitor in monitor.c).
 */
#ifndef CS_FORM_H
#define CS_FORM_H

#include <stddef.h>

#include "dbuf.h"

/* 1 when the Content-Type `ct` is application/x-www-form-urlencoded (parameters allowed). */
int cs_form_is(const char *ct);
/* URL-decodes s[0..n) ('+' is a blank) and appends it to `out`. 0, or -1 on a malformed
 * %-escape or when `out` is full. */
int cs_form_decode(const char *s, size_t n, dbuf_t *out);

#endif
