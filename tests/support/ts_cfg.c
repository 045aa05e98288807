/* ts_cfg.c — a cfgcli_t from served properties for unit tests (see ts_cfg.h). */
#include "ts_cfg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

cfgcli_t *ts_cfg_doc(const char *props, char *const *envp)
{
    static char *const empty_env[] = {NULL};
    static const char head[] = "{\"name\":\"t\",\"propertySources\":[{\"name\":\"x\",\"source\":{";
    static const char tail[] = "}}]}";
    cfgcli_opts_t o;
    char err[512];
    cfgcli_opts_init(&o, "t");
    o.envp = envp != NULL ? envp : empty_env;
    size_t cap = sizeof head + strlen(props) + sizeof tail;
    char *json = malloc(cap);
    if (json == NULL)
        fail_msg("ts_cfg_doc: out of memory");
    int n = snprintf(json, cap, "%s%s%s", head, props, tail);
    cfgcli_t *c = cfgcli_from_json(&o, json, (size_t)n, "u", err, sizeof err);
    free(json);
    if (c == NULL)
        fail_msg("from_json: %s", err);
    return c;
}
