/* errbuf.h — the caller-supplied error buffer convention (`char *err, size_t errlen`, as
 * librdkafka's errstr) used across common/: one formatter for all of them.
 */
#ifndef CQ_ERRBUF_H
#define CQ_ERRBUF_H

#include <stddef.h>

/* Formats into err[errlen] (always NUL-terminated, truncated when long). err may be NULL
 * or errlen 0: then nothing is written. */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
