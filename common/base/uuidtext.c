/* uuidtext.c — textual UUID checks. See uuidtext.h. libc only. */
#include "uuidtext.h"

#include <ctype.h>
#include <string.h>

int uuidtext_valid(const char *s)
{
    if (s == NULL || strlen(s) != UUIDTEXT_LEN)
        return 0;
    for (int i = 0; i < UUIDTEXT_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

int uuidtext_normalize(const char *s, char out[UUIDTEXT_LEN + 1])
{
    if (!uuidtext_valid(s))
        return -1;
    for (int i = 0; i < UUIDTEXT_LEN; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[UUIDTEXT_LEN] = '\0';
    return 0;
}
