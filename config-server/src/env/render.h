/* render.h — the merged flat map (environment.h cs_env_merge) as the body of the
 * .properties, .json and .yml/.yaml forms, byte for byte as Spring's. Flat keys
 * `a.b[0].c` are re-nested for JSON and YAML (a key that cannot be nested consistently
 * stays flat at the top level). Numbers are env/jnum.h marks.
 *
 * YAML is written as SnakeYAML's default dumper writes it (Spring's): width 80, a string
 * that SnakeYAML would read back as another type (number, boolean, null, date, `<<`) is
 * single-quoted, a multi-line string is a literal block, and a string with characters
 * YAML cannot print (\f, other controls, U+FFFE …) is `!!binary` base64.
 */
#ifndef CS_RENDER_H
#define CS_RENDER_H

#include <jansson.h>

#include "dbuf.h"
#include "env/jnum.h"

/* "key: value" lines (Spring's format: values raw, lines separated by "\n"). Returns 0
 * or -1 (out of memory / too big). */
int cs_render_properties(const cs_jnum_t *jn, const json_t *flat, dbuf_t *out);
/* Re-nested JSON object; new reference or NULL. */
json_t *cs_render_nest(const json_t *flat);
/* Re-nested YAML document (see above). 0 or -1. */
int cs_render_yaml(const cs_jnum_t *jn, const json_t *flat, dbuf_t *out);
/* 1 when SnakeYAML's resolver would read the plain scalar `s` as something other than a
 * string (so Spring's dumper quotes it). */
int cs_render_yaml_implicit(const char *s);

#endif
