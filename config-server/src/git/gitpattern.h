/* gitpattern.h — how Spring Cloud Config picks one of several git repositories
 * (`spring.cloud.config.server.git.repos.<name>.pattern`) and fills a repository URI's
 * placeholders.
 *
 * Patterns, as Spring's PatternMatchingJGitEnvironmentRepository: each pattern is matched
 * against "{application}/{profile}" with PatternMatchUtils.simpleMatch (`*` matches any
 * run of characters, "/" and "," included; nothing else is special; case-sensitive). The
 * patterns given are expanded first: one without "/" also stands for itself, a "/" and
 * a `*` (any profile); one that does not end with `*` also for itself, "," and a `*`
 * (more profiles after it);
 * duplicates dropped. A repository *matches* a request when the pattern matches
 * "app/profile" for any one of its profiles; it then *serves* it only when a pattern
 * matches "app/profiles" with the whole comma list (Spring's findOne): a repository that
 * matches but does not serve is passed over, as in Spring.
 *
 * URIs: `{application}`, `{profile}` and `{label}` are replaced by the request's names
 * (each occurrence; the names were allow-listed by the HTTP layer).
 */
#ifndef CS_GITPATTERN_H
#define CS_GITPATTERN_H

#include <stddef.h>

typedef struct cs_gpat {
    char **v; /* owned: the expanded patterns, in Spring's order */
    size_t n;
} cs_gpat_t;

/* Expands the `n` patterns `pats` as Spring's setPattern does. 0, or -1 (out of memory). */
int cs_gpat_init(cs_gpat_t *p, const char *const *pats, size_t n);
void cs_gpat_free(cs_gpat_t *p);

/* Spring's PatternMatchUtils.simpleMatch(pattern, s): 1 when `s` matches. */
int cs_gpat_simple_match(const char *pattern, const char *s);
/* 1 when some pattern matches "app/p" for one of the comma list `profiles`' p. */
int cs_gpat_matches(const cs_gpat_t *p, const char *app, const char *profiles);
/* 1 when some pattern matches "app/profiles" (the whole list). */
int cs_gpat_serves(const cs_gpat_t *p, const char *app, const char *profiles);

/* 1 when `uri` has a placeholder ({application}, {profile} or {label}). */
int cs_gpat_templated(const char *uri);
/* `tmpl` with {application}, {profile} and {label} replaced (a NULL name leaves its
 * placeholder). Malloc'ed, NULL on out of memory. */
char *cs_gpat_expand(const char *tmpl, const char *app, const char *profile, const char *label);

#endif
