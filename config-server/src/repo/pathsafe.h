/* pathsafe.h — decoding and allow-listing of the {application}, {profiles} and {label}
 * URL segments (the Spring Cloud Config path-traversal CVEs: 2019-3799, 2020-5405,
 * 2020-5410, 2026-22739).
 *
 * A raw segment is percent-decoded repeatedly until stable (so %252e%252e → ..). A name
 * must then pass the allow-list: ASCII letters, digits and "-_.+@", and the letters and
 * symbols of other scripts as valid UTF-8 (café, 顧客: Spring serves them too; no C1
 * control, Unicode space, zero-width or bidi character), starting and ending with a letter
 * or digit (or a non-ASCII character), no "..", at most 128 bytes. "/", "\", "#", NUL,
 * control characters, overlong or broken UTF-8 and empty names are therefore always
 * rejected.
 *
 * Two forms are lists of names: {application} may be `a,b` (Spring's several
 * applications), and a label may contain Spring's "(_)" for "/" (`release(_)1.0` is the
 * label `release/1.0`): every "/"-separated part is a name of its own, so `(_)x`, `x(_)`,
 * `a(_)(_)b` and `a(_)..(_)b` are refused. A "/" that arrives any other way (%2F) is
 * refused as before.
 */
#ifndef CS_PATHSAFE_H
#define CS_PATHSAFE_H

#include <stddef.h>

#define CS_PATH_NAME_MAX 128
#define CS_PATH_MAX_APPS 16

/* Decodes `len` raw bytes into `out` (NUL-terminated). Returns 0, or -1 when the segment
 * is malformed (bad %-escape, still encoded after 4 rounds, NUL, too long). */
int cs_path_decode(const char *raw, size_t len, char *out, size_t size);
/* 1 when `name` is an acceptable application or label name. */
int cs_path_name_ok(const char *name);
/* 1 when `list` is a non-empty comma list of acceptable profile names (no empty item). */
int cs_path_profiles_ok(const char *list);
/* 1 when `list` is a comma list of at most CS_PATH_MAX_APPS application names. */
int cs_path_apps_ok(const char *list);
/* A decoded label segment → the label (Spring's "(_)" → "/") in `out`; 0, or -1 when it
 * is no acceptable label. */
int cs_path_label(const char *seg, char *out, size_t size);

#endif
