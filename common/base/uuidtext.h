/* uuidtext.h — the textual UUID form (8-4-4-4-12 hex digits) every layer checks: request
 * paths and bodies, domain invariants, decoded events. libc only, so the domain layers may
 * use it too; one implementation instead of one per layer.
 */
#ifndef CQ_UUIDTEXT_H
#define CQ_UUIDTEXT_H

#define UUIDTEXT_LEN 36

/* 1 when `s` is exactly a UUID in text form (either case), else 0. NULL-safe. */
int uuidtext_valid(const char *s);

/* Copies a valid UUID lower-cased into out (NUL-terminated). Returns 0, or -1 when `s` is
 * not a UUID (out untouched). */
int uuidtext_normalize(const char *s, char out[UUIDTEXT_LEN + 1]);

#endif
