/* cfgcli_env_json.c — turns a Spring Cloud Config JSON Environment
 *   {name, profiles, label, version, state, propertySources:[{name, source:{k: v}}]}
 * into the config client's key store: earlier propertySources win, then env overrides
 * (relaxed binding), then ${name:default} placeholders.
 */
#include "cfgcli_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *cfgcli_json_text(const json_t *v)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    case JSON_REAL: {
        double d = json_real_value(v);
        snprintf(buf, sizeof buf, "%.15g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, sizeof buf, "%.17g", d);
        return strdup(buf);
    }
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    case JSON_NULL:
        return strdup("");
    default: /* arrays/objects do not occur in flat sources; keep their JSON text */
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

static int set_meta(char **dst, const char *s)
{
    char *d = strdup(s ? s : "");
    if (d == NULL)
        return -1;
    free(*dst);
    *dst = d;
    return 0;
}

cfgcli_t *cfgcli_build(const cfgcli_opts_t *o, const json_t *doc, const char *origin, const char *src_prefix,
                       char *err, size_t errlen)
{
    cfgcli_t *c = cfgcli_new();
    char *srcname = NULL;
    if (c == NULL) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    const json_t *sources = json_is_object(doc) ? json_object_get(doc, "propertySources") : NULL;
    if (!json_is_array(sources)) {
        errbuf_set(err, errlen, "%s: not a config Environment (no propertySources array)", origin);
        goto fail;
    }
    const json_t *ver = json_object_get(doc, "version");
    if (set_meta(&c->origin, origin) < 0 ||
        set_meta(&c->version, json_is_string(ver) ? json_string_value(ver) : "") < 0) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    size_t i;
    const json_t *ps;
    json_array_foreach(sources, i, ps)
    {
        const json_t *name = json_object_get(ps, "name");
        const json_t *src = json_object_get(ps, "source");
        if (!json_is_object(src)) {
            errbuf_set(err, errlen, "%s: propertySources[%zu] has no source object", origin, i);
            goto fail;
        }
        const char *nm = json_is_string(name) ? json_string_value(name) : "?";
        size_t sl = strlen(src_prefix) + strlen(nm) + 1;
        free(srcname);
        srcname = malloc(sl);
        if (srcname == NULL) {
            errbuf_set(err, errlen, "out of memory");
            goto fail;
        }
        snprintf(srcname, sl, "%s%s", src_prefix, nm);
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)src, key, val)
        {
            char *text = cfgcli_json_text(val);
            /* earlier sources have precedence: never overwrite */
            int r = text ? cfgcli_put(c, key, text, srcname, 0) : -1;
            free(text);
            if (r < 0) {
                errbuf_set(err, errlen, "out of memory");
                goto fail;
            }
        }
    }
    c->use_env = o->env_overrides != 0;
    if (c->use_env && (cfgcli_env_snapshot(c, o->envp) < 0 || cfgcli_apply_overrides(c) < 0)) {
        errbuf_set(err, errlen, "out of memory copying the environment");
        goto fail;
    }
    if (cfgcli_resolve_all(c, err, errlen) < 0)
        goto fail;
    free(srcname);
    return c;
fail:
    free(srcname);
    cfgcli_free(c);
    return NULL;
}

cfgcli_t *cfgcli_from_json(const cfgcli_opts_t *o, const char *json, size_t len, const char *origin,
                           char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = json_loadb(json, len, 0, &je);
    if (doc == NULL) {
        errbuf_set(err, errlen, "%s: invalid JSON at line %d column %d: %s", origin, je.line, je.column,
                   je.text);
        return NULL;
    }
    cfgcli_t *c = cfgcli_build(o, doc, origin, "configserver:", err, errlen);
    json_decref(doc);
    return c;
}
