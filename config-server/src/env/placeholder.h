/* placeholder.h — `${key:default}` resolution of the flat forms, as Spring's
 * PropertyPlaceholderHelper does it against the served sources only: nested
 * placeholders and defaults are resolved, an unresolvable placeholder is left as it is,
 * `\${` is a literal `${`, and a placeholder that refers back to itself (directly or
 * through others) is an error ("Circular placeholder reference", Spring's 400).
 */
#ifndef CS_PLACEHOLDER_H
#define CS_PLACEHOLDER_H

#include <stddef.h>

#include <jansson.h>

#include "env/jnum.h"

enum { CS_PH_OK = 0, CS_PH_TOO_BIG = -1, CS_PH_CYCLE = -2 };

/* Resolves `text` against `flat` (values as cs_jnum_text prints them) into a malloc'ed
 * *out. Returns CS_PH_OK; CS_PH_TOO_BIG when the expansion passes 16 MiB (or memory runs
 * out); CS_PH_CYCLE with the key that closes the cycle in `key` (size `keylen`). */
int cs_ph_resolve(const json_t *flat, const cs_jnum_t *jn, const char *text, char **out, char *key,
                  size_t keylen);

#endif
