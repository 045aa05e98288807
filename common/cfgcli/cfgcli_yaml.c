/* cfgcli_yaml.c — the config client's YAML form (GET {url}[/{label}]/{app}-{profiles}.yml):
 * parses the server's merged YAML document with common/yaml/yamlconf.h and turns it into a
 * one-source JSON Environment, so the rest of the client treats both forms alike
 * (env overrides, placeholders, cache). Later documents win over earlier ones; documents
 * with a profile activation are ignored (the server already merged the profiles).
 */
#include "cfgcli_int.h"

#include "yamlconf.h"

json_t *cfgcli_yaml_to_env(const char *body, size_t len, const char *name, char *err, size_t errlen);

json_t *cfgcli_yaml_to_env(const char *body, size_t len, const char *name, char *err, size_t errlen)
{
    yamlconf_t y = {0};
    yamlconf_err_t ye = {0};
    json_t *env = NULL, *src = NULL;
    if (yamlconf_parse(body, len, NULL, &y, &ye) != 0) {
        errbuf_set(err, errlen, "%s: invalid YAML at line %d column %d: %s", name, ye.line, ye.column,
                   ye.msg);
        goto cleanup;
    }
    src = json_object();
    if (src == NULL)
        goto oom;
    for (size_t d = 0; d < y.ndocs; d++) {
        if (y.docs[d].profiles != NULL)
            continue;
        for (size_t i = 0; i < y.docs[d].n; i++) {
            json_t *v = yamlconf_prop_json(&y.docs[d].props[i]);
            if (v == NULL || json_object_set_new(src, y.docs[d].props[i].key, v) != 0)
                goto oom;
        }
    }
    env = json_pack("{s:s, s:s, s:[{s:s, s:O}]}", "name", name, "version", "", "propertySources", "name",
                    name, "source", src);
    if (env == NULL)
        goto oom;
    goto cleanup;
oom:
    errbuf_set(err, errlen, "%s: out of memory converting YAML", name);
cleanup:
    json_decref(src);
    yamlconf_free(&y);
    return env;
}
