/* yamlconf.h — YAML text → ordered, typed, flat properties, one list per YAML document.
 *
 * Flattening follows Spring Boot: nested maps become dotted keys, sequences `key[i]`
 * (`a.b[0].c`); an empty list becomes the key with an empty string, an empty map adds
 * nothing; a YAML merge key (`<<: *x`) is applied (explicit keys win). Scalars are typed
 * with SnakeYAML's YAML 1.1 rules (as Spring Boot loads them) but only when PLAIN: ints
 * (decimal, 0x hex, 0 octal, 0b binary, underscores, base-60 `1:20`; beyond 64 bits a
 * BIGINT), floats (`1e3`, `1.`, `.5`, base-60, .inf/.nan: a dot or an exponent, so `09`
 * is a string), booleans (true/false/yes/no/on/off in any of their three cases) and null
 * (`~`, `null`, empty); any quoted or block scalar stays a string.
 *
 * Per document, the profile activation is detected: `spring.config.activate.on-profile`
 * (or the legacy `spring.profiles`), kept as the raw expression ("dev", "dev,prod",
 * "!prod", "a & b"; list values are comma-joined) in `profiles`.
 *
 * Safety: input size, nesting depth and total expanded nodes are limited (an alias bomb
 * or a self-referencing alias hits the node/depth limit instead of exhausting memory);
 * duplicate keys in a mapping are errors (as in Spring Boot). Errors carry a 1-based
 * line and column. Invalid UTF-8 is reported by libyaml as a parse error.
 */
#ifndef CQ_YAMLCONF_H
#define CQ_YAMLCONF_H

#include <stddef.h>

#include <jansson.h>

typedef enum {
    YAMLCONF_STR = 0,
    YAMLCONF_INT,
    YAMLCONF_FLOAT,
    YAMLCONF_BOOL,
    YAMLCONF_NULL,
    YAMLCONF_BIGINT /* an integer beyond 64 bits (Java BigInteger): `text` is its decimal form */
} yamlconf_type_t;

typedef struct yamlconf_prop {
    char *key;  /* owned: "a.b[0].c" */
    char *text; /* owned: the scalar exactly as written ("" for null / empty collection) */
    yamlconf_type_t type;
    long long i; /* YAMLCONF_INT */
    double d;    /* YAMLCONF_FLOAT */
    int b;       /* YAMLCONF_BOOL */
    int line;    /* 1-based line of the value */
    int col;     /* 1-based column of the value (0: before the first character) */
} yamlconf_prop_t;

typedef struct yamlconf_doc {
    yamlconf_prop_t *props; /* owned array, in document order */
    size_t n;
    char *profiles; /* owned activation expression, NULL when the document is unconditional */
} yamlconf_doc_t;

typedef struct yamlconf {
    yamlconf_doc_t *docs; /* owned array; empty documents are kept (n == 0) */
    size_t ndocs;
} yamlconf_t;

typedef struct yamlconf_limits {
    size_t max_bytes; /* 0 → 4 MiB */
    int max_depth;    /* 0 → 64 */
    size_t max_nodes; /* expanded nodes over the whole stream; 0 → 200000 */
} yamlconf_limits_t;

typedef struct yamlconf_err {
    int line, column; /* 1-based; 0 when not applicable */
    char msg[256];
} yamlconf_err_t;

/* Parses `len` bytes. `lim` may be NULL (defaults). On success fills `out` (free with
 * yamlconf_free) and returns 0; on error returns -1, fills `err` and leaves `out` empty. */
int yamlconf_parse(const char *buf, size_t len, const yamlconf_limits_t *lim, yamlconf_t *out,
                   yamlconf_err_t *err);
/* Frees the contents (not `c` itself). NULL-safe. */
void yamlconf_free(yamlconf_t *c);

/* Types one plain scalar with the rules above (exposed for .properties-style sources,
 * which Spring keeps as strings, and for tests). Fills type/i/d/b of `p`; for a BIGINT
 * whose `text` is p->text itself, p->text becomes the decimal form. */
void yamlconf_type_plain(const char *text, yamlconf_prop_t *p);
/* The property as a new JSON value: string, integer, real, true/false; null → "" as
 * Spring serves it. Returns a new reference. */
json_t *yamlconf_prop_json(const yamlconf_prop_t *p);
/* Sets d->profiles from the document's spring.config.activate.on-profile (or legacy
 * spring.profiles) values, as yamlconf_parse does (for other loaders of the same model,
 * e.g. .properties). Returns 0, or -1 out of memory. */
int yamlconf_doc_profiles(yamlconf_doc_t *d);
/* Looks up `key` in a document; borrowed pointer or NULL. */
const yamlconf_prop_t *yamlconf_doc_find(const yamlconf_doc_t *d, const char *key);

#endif
