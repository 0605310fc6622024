/* sidik_pb_text_clean: a NUL byte in any string field, however deep, is
 * found; bytes fields may hold anything; malformed wire answers false. */
#include "test_support.h"

#include <string.h>

#include "sidik.pb-c.h"
#include "sidik/pb.h"

static const ProtobufCMessageDescriptor *const enrollment = &sidik__v1__enrollment__descriptor;

/* An Enrollment with id, demographics.full_name and one attachment whose
 * data is data[0..ndata), packed into out (room 512). */
static size_t pack_enrollment(const char *full_name, const uint8_t *data, size_t ndata,
                              uint8_t *out)
{
    Sidik__V1__Enrollment e = SIDIK__V1__ENROLLMENT__INIT;
    Sidik__V1__Demographics d = SIDIK__V1__DEMOGRAPHICS__INIT;
    Sidik__V1__Attachment a = SIDIK__V1__ATTACHMENT__INIT, *ap = &a;
    e.enrollment_id = "2f1c4d7e-0000-4000-8000-000000000001";
    d.full_name = (char *)full_name;
    e.demographics = &d;
    a.media_type = "image/jpeg";
    a.data.data = (uint8_t *)data;
    a.data.len = ndata;
    e.n_attachments = 1;
    e.attachments = &ap;
    assert_true(protobuf_c_message_get_packed_size(&e.base) <= 512);
    return protobuf_c_message_pack(&e.base, out);
}

/* The offset of needle in p[0..n); the test fails if absent. */
static size_t find(const uint8_t *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return i;
    fail_msg("%s not in the packed message", needle);
    return 0;
}

static void test_server_pb_clean_message(void **state)
{
    (void)state;
    uint8_t buf[512];
    const uint8_t data[] = {0, 1, 0, 2, 0}; /* NULs in bytes are data, not text */
    size_t n = pack_enrollment("Siti Rahayu", data, sizeof data, buf);
    assert_true(sidik_pb_text_clean(enrollment, buf, n));
    assert_true(sidik_pb_text_clean(enrollment, NULL, 0)); /* the empty message */
}

static void test_server_pb_nul_at_every_depth(void **state)
{
    (void)state;
    uint8_t buf[512];
    const uint8_t data[] = {7};
    size_t n = pack_enrollment("Siti Rahayu", data, sizeof data, buf);
    /* Top level (enrollment_id), nested once (demographics.full_name),
     * nested in a repeated message (attachments[0].media_type). */
    const char *where[] = {"2f1c4d7e", "Rahayu", "jpeg"};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        uint8_t copy[512];
        memcpy(copy, buf, n);
        copy[find(copy, n, where[i]) + 1] = 0;
        /* protobuf-c itself takes it, and would hand back a shorter string. */
        ProtobufCMessage *m = protobuf_c_message_unpack(enrollment, NULL, n, copy);
        assert_non_null(m);
        protobuf_c_message_free_unpacked(m, NULL);
        assert_false(sidik_pb_text_clean(enrollment, copy, n));
    }
}

static void test_server_pb_malformed(void **state)
{
    (void)state;
    uint8_t buf[512];
    const uint8_t data[] = {7};
    size_t n = pack_enrollment("Siti Rahayu", data, sizeof data, buf);
    /* Every proper prefix that cuts a field short is refused; a cut that
     * falls between fields is a valid shorter message. */
    size_t refused = 0;
    for (size_t k = 0; k < n; k++) {
        ProtobufCMessage *m = protobuf_c_message_unpack(enrollment, NULL, k, buf);
        bool parses = m != NULL;
        if (m != NULL)
            protobuf_c_message_free_unpacked(m, NULL);
        assert_int_equal(sidik_pb_text_clean(enrollment, buf, k), parses);
        refused += !parses;
    }
    assert_true(refused > n / 2);
    const uint8_t group[] = {0x0b, 0x0c};                     /* field 1, start group */
    const uint8_t long_varint[] = {0x18, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0x01}; /* 11 bytes */
    const uint8_t lying_len[] = {0x0a, 0x7f, 'a'};
    assert_false(sidik_pb_text_clean(enrollment, group, sizeof group));
    assert_false(sidik_pb_text_clean(enrollment, long_varint, sizeof long_varint));
    assert_false(sidik_pb_text_clean(enrollment, lying_len, sizeof lying_len));
    assert_false(sidik_pb_text_clean(NULL, buf, n));
    assert_false(sidik_pb_text_clean(enrollment, NULL, 1));
    /* Field numbers protobuf has no room for: protobuf-c unpacks them as
     * unknown fields, then packs bytes it cannot read back (fuzz_enrollment
     * found it). Refused as malformed, not as a NUL. */
    const uint8_t field0[] = {0x00, 0x05};                          /* field 0, varint 5 */
    const uint8_t field0_nested[] = {0x2a, 0x02, 0x00, 0x05};       /* demographics { field 0 } */
    const uint8_t field_huge[] = {0x80, 0x80, 0x80, 0x80, 0x10, 0x01}; /* 2^29, varint 1 */
    const uint8_t field_max[] = {0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01};  /* 2^29 - 1: allowed */
    assert_int_equal(sidik_pb_check(enrollment, field0, sizeof field0), SIDIK_PB_MALFORMED);
    assert_int_equal(sidik_pb_check(enrollment, field0_nested, sizeof field0_nested),
                     SIDIK_PB_MALFORMED);
    assert_int_equal(sidik_pb_check(enrollment, field_huge, sizeof field_huge), SIDIK_PB_MALFORMED);
    assert_int_equal(sidik_pb_check(enrollment, field_max, sizeof field_max), SIDIK_PB_CLEAN);
    const uint8_t nul[] = {0x0a, 0x02, 'a', 0x00};                  /* enrollment_id "a\0" */
    assert_int_equal(sidik_pb_check(enrollment, nul, sizeof nul), SIDIK_PB_NUL);
    assert_int_equal(sidik_pb_check(enrollment, buf, n), SIDIK_PB_CLEAN);
}

/* Unknown fields are skipped whatever they hold: a newer client's extra
 * field is not text this server reads. */
static void test_server_pb_unknown_field(void **state)
{
    (void)state;
    const uint8_t unknown[] = {0xa2, 0x06, 0x02, 'a', 0x00}; /* field 100, "a\0" */
    assert_true(sidik_pb_text_clean(enrollment, unknown, sizeof unknown));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_pb_clean_message),
        cmocka_unit_test(test_server_pb_nul_at_every_depth),
        cmocka_unit_test(test_server_pb_malformed),
        cmocka_unit_test(test_server_pb_unknown_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
