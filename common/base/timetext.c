/* timetext.c — ISO-8601 UTC text ↔ epoch milliseconds. See timetext.h. */
#include "timetext.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* `n` digits at s into *v; 0 or -1. */
static int timetext_digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int timetext_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, off = 0;
    if (s == NULL || *s == '\0')
        return -1;
    size_t len = strlen(s);
    if (strspn(s, "0123456789") == len) {
        if (len > 15)
            return -1;
        *ms = strtoll(s, NULL, 10);
        return 0;
    }
    if (len < 20 || timetext_digits(s, 4, &y) || s[4] != '-' || timetext_digits(s + 5, 2, &mo) ||
        s[7] != '-' || timetext_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        timetext_digits(s + 11, 2, &h) || s[13] != ':' || timetext_digits(s + 14, 2, &mi) || s[16] != ':' ||
        timetext_digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        int nd = 0;
        p++;
        while (isdigit((unsigned char)p[nd]))
            nd++;
        if (nd == 0 || nd > 9)
            return -1;
        for (int i = 0; i < 3; i++)
            frac = frac * 10 + (i < nd ? p[i] - '0' : 0);
        p += nd;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (timetext_digits(p + 1, 2, &oh) || p[3] != ':' || timetext_digits(p + 4, 2, &om) || oh > 23 ||
            om > 59)
            return -1;
        off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* 2026-02-30 normalises to March: refused */
        return -1;
    *ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac;
    return 0;
}

void timetext_format(int64_t ms, char out[TIMETEXT_LEN + 1])
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    char base[24];
    gmtime_r(&t, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, TIMETEXT_LEN + 1, "%.19s.%03dZ", base, (int)((ms % 1000 + 1000) % 1000));
}
