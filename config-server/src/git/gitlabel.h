/* gitlabel.h — which `{label}`s the git backend resolves, and how (libc only).
 *
 * A label arrives already decoded and allow-listed by repo/pathsafe.h (letters, digits,
 * "-_.+@", "/" only from Spring's "(_)"), so `../`, `HEAD@{1}`, `~1`, `^`, `:`, option-like
 * `-x` and control characters never get here. On top of that a label must be a valid git
 * ref name component list (no part ending in ".lock", no "@{", no part starting with "."),
 * and it is only ever looked up as `refs/tags/<label>`, then `refs/heads/<label>` (git's and
 * JGit's order, so Spring's too), then —
 * when it is 4 to 40 hex digits — as an unambiguous commit id prefix. Nothing else of
 * git's revision syntax is accepted.
 */
#ifndef CS_GITLABEL_H
#define CS_GITLABEL_H

#include <stddef.h>

/* 0 when `label` may be resolved, -1 with the reason in `why`. */
int cs_gitlabel_check(const char *label, char *why, size_t whylen);
/* 1 when `label` is 4..40 hex digits (a commit id or prefix). */
int cs_gitlabel_is_hex(const char *label);

#endif
