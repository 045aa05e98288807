/* test_evcodec.c — unit tests of the customer event codec (common/events/evcodec.h): round trip,
 * decoding records of the seed's schema (id 1) with defaults, and every error code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <avro.h>

#include "evcodec.h"
#include "uuidtext.h"

static const char *const UUID1 = "d215b5f8-0249-4dc5-89a3-51fd148cfb41";

static int setup(void **state)
{
    char err[256] = "";
    evcodec_t *c = evcodec_new_default(err, sizeof err);
    if (c == NULL)
        fprintf(stderr, "evcodec_new_default: %s\n", err);
    *state = c;
    return c ? 0 : -1;
}

static int teardown(void **state)
{
    evcodec_free(*state);
    return 0;
}

static void encode_sample(evcodec_t *c, unsigned char **buf, size_t *len)
{
    evcodec_customer_t ev = {0};
    memcpy(ev.id, UUID1, 37);
    ev.username = "user_1";
    ev.first_name = "Zoë 'O\"Brien";
    ev.last_name = "日本語; DROP TABLE x;--";
    ev.version = 7;
    ev.event_type = EVCODEC_UPDATED;
    ev.occurred_at_ms = 1764157923123LL;
    assert_int_equal(evcodec_encode_customer(c, &ev, buf, len), EVCODEC_OK);
}

static void t_catalog(void **state)
{
    evcodec_t *c = *state;
    assert_int_equal(evcodec_latest_id(c, EVCODEC_SUBJECT_CUSTOMER), 2);
    assert_int_equal(evcodec_latest_id(c, "nope"), -1);
    assert_non_null(strstr(evcodec_schema_text(c, 2), "\"logicalType\": \"uuid\""));
    assert_null(evcodec_schema_text(c, 99));
}

static void t_roundtrip(void **state)
{
    evcodec_t *c = *state;
    unsigned char *buf = NULL;
    size_t len = 0;
    evcodec_customer_t ev = {0};
    int32_t id = 0;
    char err[256];

    encode_sample(c, &buf, &len);
    assert_true(len > 5);
    assert_int_equal(buf[0], 0);
    assert_int_equal(evcodec_frame_id(buf, len, &id), EVCODEC_OK);
    assert_int_equal(id, 2);
    assert_int_equal(evcodec_decode_customer(c, buf, len, &ev, err, sizeof err), EVCODEC_OK);
    assert_string_equal(ev.id, UUID1);
    assert_string_equal(ev.username, "user_1");
    assert_string_equal(ev.first_name, "Zoë 'O\"Brien");
    assert_string_equal(ev.last_name, "日本語; DROP TABLE x;--");
    assert_int_equal(ev.version, 7);
    assert_int_equal(ev.event_type, EVCODEC_UPDATED);
    assert_int_equal(ev.occurred_at_ms, 1764157923123LL);
    assert_int_equal(ev.schema_id, 2);
    evcodec_customer_clear(&ev);
    evcodec_customer_clear(&ev); /* twice is fine */
    free(buf);
}

/* A record written with the seed's schema (id 1) decodes with the new fields' defaults. */
static void t_decode_v1(void **state)
{
    evcodec_t *c = *state;
    avro_schema_t s = NULL;
    avro_value_iface_t *iface;
    avro_value_t rec, f;
    unsigned char buf[256] = {0, 0, 0, 0, 1};
    avro_writer_t w;
    const char *txt = evcodec_schema_text(c, 1);
    evcodec_customer_t ev = {0};

    assert_non_null(txt);
    assert_int_equal(avro_schema_from_json_length(txt, strlen(txt), &s), 0);
    iface = avro_generic_class_from_schema(s);
    assert_int_equal(avro_generic_value_new(iface, &rec), 0);
    avro_value_get_by_name(&rec, "id", &f, NULL);
    avro_value_set_string(&f, "D215B5F8-0249-4DC5-89A3-51FD148CFB41");
    avro_value_get_by_name(&rec, "username", &f, NULL);
    avro_value_set_string(&f, "u");
    avro_value_get_by_name(&rec, "firstName", &f, NULL);
    avro_value_set_string(&f, "F");
    avro_value_get_by_name(&rec, "lastName", &f, NULL);
    avro_value_set_string(&f, "L");
    w = avro_writer_memory((char *)buf + 5, sizeof buf - 5);
    assert_int_equal(avro_value_write(w, &rec), 0);
    size_t len = 5 + (size_t)avro_writer_tell(w);
    avro_writer_free(w);
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);

    assert_int_equal(evcodec_decode_customer(c, buf, len, &ev, NULL, 0), EVCODEC_OK);
    assert_string_equal(ev.id, UUID1); /* lower-cased */
    assert_string_equal(ev.username, "u");
    assert_int_equal(ev.version, 1);
    assert_int_equal(ev.event_type, EVCODEC_CREATED);
    assert_int_equal(ev.occurred_at_ms, 0);
    assert_int_equal(ev.schema_id, 1);
    evcodec_customer_clear(&ev);
}

static void t_errors(void **state)
{
    evcodec_t *c = *state;
    unsigned char *buf = NULL, *copy;
    size_t len = 0;
    evcodec_customer_t ev = {0};
    char err[256] = "";

    encode_sample(c, &buf, &len);
    assert_int_equal(evcodec_decode_customer(c, NULL, 0, &ev, err, sizeof err), EVCODEC_E_EMPTY);
    assert_int_equal(evcodec_decode_customer(c, buf, 4, &ev, err, sizeof err), EVCODEC_E_SHORT);
    copy = malloc(len + 1);
    memcpy(copy, buf, len);
    copy[0] = 1;
    assert_int_equal(evcodec_decode_customer(c, copy, len, &ev, err, sizeof err), EVCODEC_E_MAGIC);
    copy[0] = 0;
    copy[4] = 42;
    assert_int_equal(evcodec_decode_customer(c, copy, len, &ev, err, sizeof err), EVCODEC_E_UNKNOWN_ID);
    assert_non_null(strstr(err, "42"));
    copy[4] = 2;
    assert_int_equal(evcodec_decode_customer(c, copy, len - 3, &ev, err, sizeof err), EVCODEC_E_AVRO);
    copy[len] = 0; /* one trailing byte */
    assert_int_equal(evcodec_decode_customer(c, copy, len + 1, &ev, err, sizeof err), EVCODEC_E_AVRO);
    /* corrupt the id: its first character sits after the 1-byte length prefix */
    copy[6] = 'z';
    assert_int_equal(evcodec_decode_customer(c, copy, len, &ev, err, sizeof err), EVCODEC_E_FIELD);
    assert_non_null(strstr(err, "id"));
    assert_null(ev.username);
    free(copy);
    free(buf);
    assert_non_null(evcodec_strerror(EVCODEC_E_UNKNOWN_ID));
}

static void t_encode_args(void **state)
{
    evcodec_t *c = *state;
    unsigned char *buf = NULL;
    size_t len = 0;
    evcodec_customer_t ev = {0};
    strcpy(ev.id, "not-a-uuid");
    ev.username = ev.first_name = ev.last_name = "x";
    assert_int_equal(evcodec_encode_customer(c, &ev, &buf, &len), EVCODEC_E_ARG);
    assert_null(buf);
    memcpy(ev.id, UUID1, 37);
    ev.last_name = NULL;
    assert_int_equal(evcodec_encode_customer(c, &ev, &buf, &len), EVCODEC_E_ARG);
    assert_true(uuidtext_valid(UUID1));
    assert_false(uuidtext_valid("d215b5f8-0249-4dc5-89a3-51fd148cfb4"));
    assert_false(uuidtext_valid("d215b5f8x0249-4dc5-89a3-51fd148cfb41"));
}

/* Random bytes behind a valid header never crash (ASan) and never decode as garbage. */
static void t_fuzz(void **state)
{
    evcodec_t *c = *state;
    unsigned char buf[64];
    unsigned int seed = 12345;
    for (int i = 0; i < 20000; i++) {
        evcodec_customer_t ev = {0};
        size_t len = 5 + (size_t)(rand_r(&seed) % 59);
        for (size_t j = 0; j < len; j++)
            buf[j] = (unsigned char)rand_r(&seed);
        buf[0] = 0;
        buf[1] = buf[2] = buf[3] = 0;
        buf[4] = (unsigned char)(1 + i % 2);
        evcodec_err_t rc = evcodec_decode_customer(c, buf, len, &ev, NULL, 0);
        assert_true(rc == EVCODEC_OK || rc == EVCODEC_E_AVRO || rc == EVCODEC_E_FIELD ||
                    rc == EVCODEC_E_NOMEM);
        evcodec_customer_clear(&ev);
    }
}

/* Mutations of a valid record (bit flips, byte and varint rewrites, truncation, junk
 * appended) reach deep into the decoder, where random bytes stop at the first field:
 * every outcome must be a result code, never a crash or a sanitizer report. */
static void t_fuzz_mutations(void **state)
{
    evcodec_t *c = *state;
    unsigned char *good = NULL, buf[512];
    size_t glen = 0;
    unsigned int seed = 4242;
    encode_sample(c, &good, &glen);
    assert_true(glen + 64 <= sizeof buf);
    static const unsigned char varints[][10] = {{0x01},
                                                {0x7f},
                                                {0x80, 0x01},
                                                {0xff, 0xff, 0xff, 0xff, 0x0f},
                                                {0xfe, 0xff, 0xff, 0xff, 0x0f},
                                                {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
                                                {0x80, 0x80, 0x80, 0x80, 0x80, 0x80}};
    for (int i = 0; i < 50000; i++) {
        evcodec_customer_t ev = {0};
        size_t len = glen;
        memcpy(buf, good, glen);
        int nmut = 1 + (int)(rand_r(&seed) % 4);
        for (int m = 0; m < nmut; m++) {
            size_t at = 5 + (size_t)rand_r(&seed) % (len > 5 ? len - 5 : 1); /* keep the frame */
            switch (rand_r(&seed) % 5) {
            case 0: /* flip a bit */
                buf[at] ^= (unsigned char)(1u << (rand_r(&seed) % 8));
                break;
            case 1: /* replace a byte */
                buf[at] = (unsigned char)rand_r(&seed);
                break;
            case 2: { /* write a varint (huge or negative lengths, long runs) */
                const unsigned char *v = varints[rand_r(&seed) % (sizeof varints / sizeof varints[0])];
                for (size_t k = 0; k < 10 && at + k < len; k++)
                    buf[at + k] = v[k];
                break;
            }
            case 3: /* truncate */
                len = at;
                break;
            default: /* append junk */
                for (int k = 0; k < 16 && len < sizeof buf; k++)
                    buf[len++] = (unsigned char)rand_r(&seed);
            }
        }
        evcodec_err_t rc = evcodec_decode_customer(c, buf, len, &ev, NULL, 0);
        assert_true(rc == EVCODEC_OK || rc == EVCODEC_E_AVRO || rc == EVCODEC_E_FIELD ||
                    rc == EVCODEC_E_NOMEM);
        evcodec_customer_clear(&ev);
    }
    free(good);
}

static void t_bad_catalog(void **state)
{
    static const unsigned char cat[] = "1\tcustomer-value\tmissing.avsc\n";
    const embed_file_t files[] = {{"catalog.tsv", cat, sizeof cat - 1}, {NULL, NULL, 0}};
    char err[256] = "";
    assert_null(evcodec_new(files, err, sizeof err));
    assert_non_null(strstr(err, "missing.avsc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_catalog),        cmocka_unit_test(t_roundtrip),   cmocka_unit_test(t_decode_v1),
        cmocka_unit_test(t_errors),         cmocka_unit_test(t_encode_args), cmocka_unit_test(t_fuzz),
        cmocka_unit_test(t_fuzz_mutations), cmocka_unit_test(t_bad_catalog),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
