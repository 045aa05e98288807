/* render.h — the merged flat map (environment.h cs_env_merge) as the body of the
 * .properties, .json and .yml/.yaml forms. Flat keys `a.b[0].c` are re-nested for JSON
 * and YAML (a key that cannot be nested consistently stays flat at the top level).
 */
#ifndef CS_RENDER_H
#define CS_RENDER_H

#include <jansson.h>

#include "dbuf.h"

/* "key: value" lines (Spring's format). Returns 0 or -1 (out of memory / too big). */
int cs_render_properties(const json_t *flat, dbuf_t *out);
/* Re-nested JSON object; new reference or NULL. */
json_t *cs_render_nest(const json_t *flat);
/* Re-nested YAML document. Strings that YAML would read as another type are quoted. */
int cs_render_yaml(const json_t *flat, dbuf_t *out);

#endif
