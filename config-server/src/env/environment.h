/* environment.h — Spring Cloud Config's Environment for one request: which property
 * sources apply, in which order, and the merged flat view used by the .yml/.properties/
 * .json forms.
 *
 * Order (highest precedence first), as measured on Spring Cloud Config Server 5.0.6's
 * native backend: profile-specific files first — last profile first; within a profile the
 * label overlay before the root, and {app}-{p} before application-{p} — then the plain
 * files in the same location/name order. Within a file, later documents come first and
 * documents activated for other profiles (spring.config.activate.on-profile, legacy
 * spring.profiles) are left out.
 * Merging (flat forms): lowest to highest, a higher source's list (`key[i]`) replaces the
 * whole lower list; `spring.profiles` is dropped; list entries are listed last; then
 * `${key:default}` placeholders are resolved against the merged values only
 * (unresolvable ones are left as they are; `\${` escapes).
 */
#ifndef CS_ENVIRONMENT_H
#define CS_ENVIRONMENT_H

#include <stddef.h>

#include <jansson.h>

#include "repo/snapshot.h"

#define CS_ENV_MAX_SOURCES 256
#define CS_ENV_MAX_PROFILES 16

typedef struct cs_source {
    const cs_file_t *file;     /* borrowed from the snapshot */
    const yamlconf_doc_t *doc; /* borrowed */
    size_t docidx;
} cs_source_t;

typedef struct cs_env {
    cs_source_t src[CS_ENV_MAX_SOURCES]; /* highest precedence first */
    size_t n;
} cs_env_t;

/* Splits a validated comma list into `out` (pointers into `buf`, which is modified). */
size_t cs_env_split_profiles(char *buf, char **out, size_t max);
/* 1 when the activation expression `expr` matches the active `profiles`. */
int cs_env_profile_match(const char *expr, char *const *profiles, size_t np);

/* Collects the sources for `app` with `profiles` on label overlay `lbl` of `s`. */
void cs_env_collect(const cs_snap_t *s, const cs_label_t *lbl, const char *app, char *const *profiles,
                    size_t np, cs_env_t *out);

/* The JSON Environment. `profiles` is the requested comma list (echoed as Spring does,
 * one element); `label` may be NULL (→ null). Source names are Spring's: "file:<repo>/<rel>",
 * or "Config resource 'file [<repo>/<rel>]' via location 'file:<repo>/' (document #N)" for
 * multi-document files. `v2` gives {"value","origin"} values. New reference or NULL. */
json_t *cs_env_json(const cs_env_t *e, const char *app, const char *profiles, const char *label,
                    const char *version, const char *repo, int v2);

/* The merged flat map (ordered JSON object: flat key → typed value); placeholders
 * resolved when `resolve`. New reference or NULL. */
json_t *cs_env_merge(const cs_env_t *e, int resolve);

/* Resolves placeholders of `text` against `flat` into a malloc'ed string (NULL on OOM). */
char *cs_env_resolve(const json_t *flat, const char *text);

/* Text form of a flat value ("8080", "true", "a"); malloc'ed. */
char *cs_env_value_text(const json_t *v);

#endif
