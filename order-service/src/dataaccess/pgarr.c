/* pgarr.c — PostgreSQL array literals. See pgarr.h. */
#include "dataaccess/pgarr.h"

#include <inttypes.h>
#include <string.h>

static int os_pgarr_sep(dbuf_t *b)
{
    size_t n = dbuf_len(b);
    if (n > 0 && dbuf_ptr(b)[n - 1] != '{')
        return dbuf_add(b, ",", 1);
    return 0;
}

int os_pgarr_open(dbuf_t *b)
{
    return dbuf_add(b, "{", 1);
}
int os_pgarr_close(dbuf_t *b)
{
    return dbuf_add(b, "}", 1);
}

int os_pgarr_text(dbuf_t *b, const char *s)
{
    if (os_pgarr_sep(b) != 0)
        return -1;
    if (s == NULL)
        return dbuf_adds(b, "NULL");
    if (dbuf_add(b, "\"", 1) != 0)
        return -1;
    for (const char *p = s; *p;) {
        size_t run = strcspn(p, "\"\\");
        if (run > 0 && dbuf_add(b, p, run) != 0)
            return -1;
        p += run;
        if (*p != '\0') {
            char esc[2] = {'\\', *p};
            if (dbuf_add(b, esc, 2) != 0)
                return -1;
            p++;
        }
    }
    return dbuf_add(b, "\"", 1);
}

int os_pgarr_int(dbuf_t *b, int64_t v)
{
    if (os_pgarr_sep(b) != 0)
        return -1;
    return dbuf_addf(b, "%" PRId64, v);
}
