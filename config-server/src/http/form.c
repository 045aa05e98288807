/* form.c — form-urlencoded helpers (form.h). */
#include "http/form.h"

#include <string.h>
#include <strings.h>

#include "hexdig.h"

int cs_form_is(const char *ct)
{
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0 &&
           (ct[33] == '\0' || ct[33] == ';' || ct[33] == ' ');
}

int cs_form_decode(const char *s, size_t n, dbuf_t *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h1 = hexdig_value(s[i + 1]), h2 = hexdig_value(s[i + 2]);
            if (h1 < 0 || h2 < 0)
                return -1;
            c = (char)(h1 * 16 + h2);
            i += 2;
        }
        if (dbuf_add(out, &c, 1) != 0)
            return -1;
    }
    return 0;
}
