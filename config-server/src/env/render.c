/* render.c — .properties / nested JSON / nested YAML bodies from the flat map. */
#include "env/render.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "env/environment.h"
#include "yamlconf.h"

int cs_render_properties(const json_t *flat, dbuf_t *out)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)flat, k, v)
    {
        char *t = cs_env_value_text(v);
        /* lines are separated, not terminated, by "\n" (byte-identical to Spring) */
        if (t == NULL || (out->len > 0 && dbuf_add(out, "\n", 1) != 0) || dbuf_adds(out, k) != 0 ||
            dbuf_add(out, ": ", 2) != 0) {
            free(t);
            return -1;
        }
        for (const char *p = t; *p; p++) {
            int rc = *p == '\n'   ? dbuf_add(out, "\\n", 2)
                     : *p == '\r' ? dbuf_add(out, "\\r", 2)
                                  : dbuf_add(out, p, 1);
            if (rc != 0) {
                free(t);
                return -1;
            }
        }
        free(t);
    }
    return 0;
}

/* Sets `val` at flat path `key` below `root`; returns -1 when the path conflicts. */
static int nest_one(json_t *root, const char *key, json_t *val)
{
    json_t *cur = root;
    const char *p = key;
    char name[512];
    for (;;) {
        /* read one component: name (up to '.' or '['), or [index] */
        int is_index = 0;
        size_t idx = 0, nl = 0;
        if (*p == '[') {
            const char *close = strchr(p, ']');
            if (close == NULL)
                return -1;
            char *end = NULL;
            unsigned long u = strtoul(p + 1, &end, 10);
            if (end == close && close > p + 1 && u < 100000) {
                is_index = 1;
                idx = u;
            } else { /* [weird.key] is a name */
                nl = (size_t)(close - p + 1);
                if (nl >= sizeof(name))
                    return -1;
                memcpy(name, p, nl);
            }
            p = close + 1;
        } else {
            nl = strcspn(p, ".[");
            if (nl == 0 || nl >= sizeof(name))
                return -1;
            memcpy(name, p, nl);
            p += nl;
        }
        name[nl] = '\0';
        if (*p == '.')
            p++;
        int last = *p == '\0';
        int child_is_array = !last && *p == '[' && p[1] >= '0' && p[1] <= '9';
        if (is_index) {
            if (!json_is_array(cur))
                return -1;
            while (json_array_size(cur) <= idx)
                json_array_append_new(cur, json_null());
            if (last)
                return json_array_set(cur, idx, val);
            json_t *ch = json_array_get(cur, idx);
            if (json_is_null(ch)) {
                ch = child_is_array ? json_array() : json_object();
                json_array_set_new(cur, idx, ch);
            }
            cur = ch;
        } else {
            if (!json_is_object(cur))
                return -1;
            if (last) {
                json_t *old = json_object_get(cur, name);
                if (old != NULL && (json_is_object(old) || json_is_array(old)))
                    return -1;
                return json_object_set(cur, name, val);
            }
            json_t *ch = json_object_get(cur, name);
            if (ch == NULL || (json_is_string(ch) && json_string_length(ch) == 0)) {
                ch = child_is_array ? json_array() : json_object();
                json_object_set_new(cur, name, ch);
            }
            cur = ch;
        }
        if (child_is_array ? !json_is_array(cur) : !json_is_object(cur))
            return -1;
    }
}

json_t *cs_render_nest(const json_t *flat)
{
    json_t *root = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)flat, k, v)
    {
        if (nest_one(root, k, v) != 0)
            json_object_set(root, k, v); /* cannot be nested consistently: keep it flat */
    }
    return root;
}

typedef struct ywriter {
    dbuf_t *out;
    int failed;
} ywriter_t;

static int y_write(void *data, unsigned char *buf, size_t size)
{
    ywriter_t *w = data;
    if (dbuf_add(w->out, buf, size) != 0) {
        w->failed = 1;
        return 0;
    }
    return 1;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, int quote)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), !quote, 1,
                                 quote ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
    return yaml_emitter_emit(em, &ev);
}

static int emit_node(yaml_emitter_t *em, const json_t *n, int depth)
{
    yaml_event_t ev;
    if (depth > 128)
        return 0;
    if (json_is_object(n)) {
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit(em, &ev))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)n, k, v)
        {
            if (!emit_scalar(em, k, 0) || !emit_node(em, v, depth + 1))
                return 0;
        }
        yaml_mapping_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev);
    }
    if (json_is_array(n)) {
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(em, &ev))
            return 0;
        size_t i;
        json_t *v;
        json_array_foreach(n, i, v)
        {
            if (!emit_node(em, v, depth + 1))
                return 0;
        }
        yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev);
    }
    if (json_is_null(n))
        return emit_scalar(em, "", 1);
    char *t = cs_env_value_text(n);
    if (t == NULL)
        return 0;
    int quote = 0;
    if (json_is_string(n)) { /* keep it a string for YAML readers: "8080", "true", "" */
        yamlconf_prop_t p = {0};
        yamlconf_type_plain(t, &p);
        quote = p.type != YAMLCONF_STR;
    }
    int ok = emit_scalar(em, t, quote);
    free(t);
    return ok;
}

int cs_render_yaml(const json_t *flat, dbuf_t *out)
{
    json_t *tree = cs_render_nest(flat);
    yaml_emitter_t em;
    yaml_event_t ev;
    ywriter_t w = {.out = out};
    int ok = 0;
    if (tree == NULL || !yaml_emitter_initialize(&em)) {
        json_decref(tree);
        return -1;
    }
    yaml_emitter_set_output(&em, y_write, &w);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    if (!yaml_emitter_emit(&em, &ev))
        goto cleanup;
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    if (!yaml_emitter_emit(&em, &ev) || !emit_node(&em, tree, 0))
        goto cleanup;
    yaml_document_end_event_initialize(&ev, 1);
    if (!yaml_emitter_emit(&em, &ev))
        goto cleanup;
    yaml_stream_end_event_initialize(&ev);
    ok = yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em);
cleanup:
    yaml_emitter_delete(&em);
    json_decref(tree);
    return ok && !w.failed ? 0 : -1;
}
