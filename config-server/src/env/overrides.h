/* overrides.h — server-side properties every client receives: Spring Cloud Config's
 * `spring.cloud.config.server.overrides`.
 *
 * As Spring's EnvironmentEncryptorEnvironmentRepository serves them: one property source
 * named "overrides", put first (the highest precedence) in every Environment, after the
 * {cipher} values of the repository were decrypted — so an override is served as it was
 * given, never decrypted; every value is a string (Spring's Map<String, String>); in the
 * v2 form each value is {"value", "origin": "Config server overrides"}. They take part in
 * the flat forms' merge (highest) and placeholder resolution, and in the plain-text
 * endpoint's placeholders, as in Spring. Because that source is never empty, a request no
 * file applies to is answered 200 with the overrides alone (Spring's accept-empty check
 * sees a property source).
 *
 * Spring's unescaping is applied to each value as given: a value holding `\${` gets every
 * `\${` replaced by `${`; otherwise every `\{` by `{`. The order of the keys is the
 * iteration order of the java.util.HashMap Spring copies them into (Java 17: a table of
 * the smallest power of two >= (int)(n / 0.75 + 1), buckets by the spread String hash,
 * keys of one bucket in the order given), so the flat forms list them as Spring does.
 * (Nine or more keys in one bucket make Java resize or treeify: not modelled.)
 */
#ifndef CS_OVERRIDES_H
#define CS_OVERRIDES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CS_OVR_MAX 4096              /* keys */
#define CS_OVR_KEY_MAX 512           /* bytes of a key */
#define CS_OVR_VALUE_MAX (64u << 10) /* bytes of a value */

typedef struct cs_ovr_ent {
    char *key;   /* owned */
    char *value; /* owned, unescaped */
} cs_ovr_ent_t;

typedef struct cs_overrides {
    cs_ovr_ent_t *ents; /* owned; in the order given until cs_ovr_finish, then in Spring's */
    size_t n, cap;
    unsigned char digest[16]; /* SHA-256 (first 16 bytes) over the keys and values (finish) */
} cs_overrides_t;

void cs_ovr_init(cs_overrides_t *o);
/* Frees the entries (not `o`). NULL-safe. */
void cs_ovr_free(cs_overrides_t *o);

/* Adds `key` = `value` (copied). A key given again keeps its place and takes the new
 * value (a LinkedHashMap's put). Returns 0, or -1 with `err` filled: an empty key, a key
 * or value too long, with a control character or invalid UTF-8, too many keys, out of
 * memory. */
int cs_ovr_add(cs_overrides_t *o, const char *key, const char *value, char *err, size_t errlen);
/* Adds "key=value" (the first "=" splits; the value may be empty). 0 or -1 as above. */
int cs_ovr_add_arg(cs_overrides_t *o, const char *arg, char *err, size_t errlen);
/* Adds every property of a YAML document (nested keys dotted, lists `key[i]`, as Spring
 * Boot binds a Map<String, String>; numbers and booleans as Java prints them). When some
 * keys start with `spring.cloud.config.server.overrides.` (a Spring server's own
 * application.yml), only those are taken, the prefix dropped. A document activated for a
 * profile (spring.config.activate.on-profile) is left out: this server has no profiles of
 * its own. 0 or -1 (`err` names the line of a YAML error). */
int cs_ovr_add_yaml(cs_overrides_t *o, const char *buf, size_t len, char *err, size_t errlen);
/* Puts the keys in Spring's order and computes the digest. Call once, after the adds. */
void cs_ovr_finish(cs_overrides_t *o);

/* The "overrides" source map: key → string, or (v2) → {"value","origin"}. New reference
 * or NULL. */
json_t *cs_ovr_map(const cs_overrides_t *o, int v2);

/* Java's String.hashCode of the UTF-8 text `s` (over its UTF-16 code units). */
int32_t cs_ovr_java_hash(const char *s);

#endif
