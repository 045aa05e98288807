/* gitlabel.c — the git backend's label rules (gitlabel.h). */
#include "git/gitlabel.h"

#include <stdio.h>
#include <string.h>

int cs_gitlabel_is_hex(const char *label)
{
    size_t n = strlen(label);
    if (n < 4 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = label[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

int cs_gitlabel_check(const char *label, char *why, size_t whylen)
{
    size_t n = strlen(label);
    if (n == 0 || n > 255) {
        snprintf(why, whylen, "a label must be 1 to 255 characters");
        return -1;
    }
    if (strstr(label, "@{") != NULL || strstr(label, "..") != NULL || strstr(label, "//") != NULL) {
        snprintf(why, whylen, "label '%s' is not a branch, tag or commit id", label);
        return -1;
    }
    for (const char *part = label; *part != '\0';) {
        size_t pl = strcspn(part, "/");
        if (pl == 0 || part[0] == '.' || part[0] == '-' ||
            (pl >= 5 && strncmp(part + pl - 5, ".lock", 5) == 0) || part[pl - 1] == '.') {
            snprintf(why, whylen, "label '%s' is not a valid branch or tag name", label);
            return -1;
        }
        for (size_t i = 0; i < pl; i++) {
            unsigned char c = (unsigned char)part[i];
            if (c < 0x21 || c == 0x7f || strchr("~^:?*[\\", c) != NULL) {
                snprintf(why, whylen, "label '%s' is not a valid branch or tag name", label);
                return -1;
            }
        }
        part += pl;
        if (*part == '/')
            part++;
    }
    if (label[n - 1] == '/') {
        snprintf(why, whylen, "label '%s' is not a valid branch or tag name", label);
        return -1;
    }
    return 0;
}
