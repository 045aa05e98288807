/* embed.h — data files compiled into a program (cmake/CqEmbed.cmake generates the arrays).
 *
 * An embedded set is an array of embed_file_t ending with {NULL, NULL, 0}; `data` is
 * NUL-terminated so text files can be used as C strings. Everything is static, read-only.
 */
#ifndef CQ_EMBED_H
#define CQ_EMBED_H

#include <stddef.h>

typedef struct embed_file {
    const char *name;          /* base file name, e.g. "001_init.sql" */
    const unsigned char *data; /* contents, NUL-terminated */
    size_t len;                /* length without the NUL */
} embed_file_t;

#endif
