/* timetext.h — points in time as the APIs write them: ISO-8601 / RFC 3339 UTC text
 * ("2026-03-01T10:00:00.000Z") ↔ Unix epoch milliseconds. libc only. The operations APIs of
 * both services take a time either way (a "since", a replay's timestamp) and answer in the
 * text form.
 */
#ifndef CQ_TIMETEXT_H
#define CQ_TIMETEXT_H

#include <stdint.h>

#define TIMETEXT_LEN 24 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */

/* Parses `s`: "YYYY-MM-DDTHH:MM:SS" with optional fraction (1–9 digits, kept to the
 * millisecond), then "Z" or an offset "+HH:MM"/"-HH:MM" (a space may stand for the 'T'), or a
 * plain non-negative integer of epoch milliseconds. 0 with *ms, or -1 when it is neither
 * (out untouched). NULL-safe. */
int timetext_parse(const char *s, int64_t *ms);

/* Writes `ms` as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (NUL-terminated). */
void timetext_format(int64_t ms, char out[TIMETEXT_LEN + 1]);

#endif
