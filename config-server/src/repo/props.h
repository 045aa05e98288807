/* props.h — `.properties` files read exactly as Spring Boot 4's loader reads them
 * (OriginTrackedPropertiesLoader), into the same model as YAML (yamlconf.h).
 *
 * - The bytes are ISO-8859-1 (as Boot: a raw UTF-8 "é" is two characters); the text
 *   handed out is UTF-8. `\uXXXX` (surrogate pairs joined), `\t \r \n \f`, and `\x` for
 *   any other x (so `\=`, `\:`, `\ `, `\\`, `\#`) are decoded; a `\` at the end of a line
 *   continues it, leading blanks of the next line dropped. Lines end at LF, CR or CRLF.
 * - A line whose first non-blank character is `#` or `!` is a comment. The key ends at
 *   the first unescaped `=` or `:`, or at blanks followed by anything else, and is
 *   trimmed; the value starts after blanks and keeps its trailing blanks. `name[]=a,b`
 *   expands to name[0], name[1]. A later duplicate key replaces the value in place.
 * - `#---` or `!---` alone on a line (at column 0, trailing blanks allowed, not right
 *   after a comment line of the same character) starts a new document; empty documents
 *   are dropped, and a comment line right after a separator joins the previous one again
 *   (Boot's quirk). Each document's `spring.config.activate.on-profile` becomes its
 *   activation (yamlconf_doc_profiles).
 * - Every value is a string; `line`/`col` are Boot's origin of the value (1-based line,
 *   column + 1, counted as Boot counts: after escapes, so an empty value at the end of a
 *   line gets the next line and column 0).
 */
#ifndef CS_PROPS_H
#define CS_PROPS_H

#include <stddef.h>

#include "yamlconf.h"

/* Parses `len` bytes. Returns 0 and fills `out` (free with yamlconf_free), or -1 with
 * `err` filled (a malformed \u escape, a NUL, too many keys, out of memory). */
int cs_props_parse(const char *buf, size_t len, yamlconf_t *out, yamlconf_err_t *err);

#endif
