/*
 * Enrollment validation: a valid upload passes; each broken field is
 * refused with exactly its field path and reason code; many problems are
 * all reported (up to the cap); the content hash follows the content.
 */
#include "test_support.h"

#include "sidik/common.h"
#include "sidik/matcher.h"
#include "sidik/validate.h"
#include "enrollment_fixture.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static const sidik_identity office = {SIDIK_ROLE_OFFICE, "JKT-01"};
static const sidik_validate_limits limits = {.now_ms = NOW_MS};

static void test_server_validate_valid(void **state)
{
    (void)state;
    fixture *x = copy();
    sidik_validation v;
    int rc = sidik_enrollment_validate(&x->e, &office, &limits, &v);
    for (uint32_t i = 0; i < v.nerrors; i++)
        print_error("%s %s\n", v.err[i].field, v.err[i].reason_code);
    assert_int_equal(rc, 0);
    assert_int_equal(v.fingers, 10);
    /* One amputated finger, no signature: still valid. */
    x->f[9].amputated = 1;
    x->f[9].template_.len = 0;
    x->e.n_attachments = 1;
    assert_int_equal(sidik_enrollment_validate(&x->e, &office, &limits, &v), 0);
    assert_int_equal(v.fingers, 9);
    free(x);
}

static void test_server_validate_each_field(void **state)
{
    (void)state;
    const struct {
        const char *field, *code;
    } want[] = {
        {"enrollment_id", "ENROLLMENT_ID_FORMAT"},
        {"office_code", "OFFICE_NOT_CALLER"},
        {"capture_time_ms", "CAPTURE_TIME_RANGE"},
        {"capture_time_ms", "CAPTURE_TIME_RANGE"},
        {"station_id", "STATION_ID_INVALID"},
        {"demographics", "DEMOGRAPHICS_MISSING"},
        {"demographics.nik", "NIK_FORMAT"},
        {"demographics.nik", "NIK_STRUCTURE"},
        {"demographics.nik", "NIK_BIRTH_DATE_MISMATCH"}, /* a man's NIK day for a woman */
        {"demographics.full_name", "NAME_INVALID"},
        {"demographics.birth_date", "BIRTH_DATE_FORMAT"},
        {"demographics.sex", "SEX_MISSING"},
        {"demographics.region_code", "REGION_CODE_FORMAT"},
        {"fingers", "FINGERS_COUNT"},
        {"fingers[3].position", "FINGER_POSITION_INVALID"},
        {"fingers[4].position", "FINGER_POSITION_DUPLICATE"},
        {"fingers[2].nfiq", "NFIQ_RANGE"},
        {"fingers[1].template", "TEMPLATE_TRUNCATED"},
        {"fingers[1].template", "TEMPLATE_TRAILING_BYTES"},
        {"fingers[1].template", "TEMPLATE_MALFORMED"},
        {"fingers[0].format", "TEMPLATE_FORMAT_MISMATCH"},
        {"fingers[6].template", "AMPUTATED_WITH_TEMPLATE"},
        {"attachments[0].sha256", "ATTACHMENT_HASH_MISMATCH"},
        {"attachments[1].media_type", "ATTACHMENT_MEDIA_TYPE"},
        {"attachments[1].kind", "ATTACHMENT_DUPLICATE"},
        {"attachments[0].data", "ATTACHMENT_SIZE"},
        {"attachments", "FACE_MISSING"},
        {"demographics.full_name", "NAME_INVALID"}, /* broken UTF-8 */
        {"demographics.birth_date", "BIRTH_DATE_FORMAT"}, /* 29 February of a common year */
    };
    for (size_t c = 0; c < SIDIK_ARRAY_SIZE(want); c++) {
        fixture *x = copy();
        switch (c) {
        case 0: x->id[8] = 'x'; break;
        case 1: x->e.office_code = "BDG-02"; break;
        case 2: x->e.capture_time_ms = 1000; break;
        case 3: x->e.capture_time_ms = NOW_MS + 2LL * 86400 * 1000; break;
        case 4: x->e.station_id = ""; break;
        case 5: x->e.demographics = NULL; break;
        case 6: strcpy(x->nik, "31710165059000A1"); break;
        case 7: x->nik[8] = '1', x->nik[9] = '3'; break; /* month 13 */
        case 8: x->nik[6] = '2', x->nik[7] = '5'; break;
        case 9: x->d.full_name = ""; break;
        case 10: strcpy(x->birth, "1990-5-25"); break;
        case 11: x->d.sex = SIDIK__V1__SEX__SEX_UNSPECIFIED; break;
        case 12: x->d.region_code = "31710"; break;
        case 13: x->e.n_fingers = 0; break;
        case 14: x->f[3].position = (Sidik__V1__FingerPosition)11; break;
        case 15: x->f[4].position = x->f[0].position; break;
        case 16: x->f[2].nfiq = 6; break;
        case 17: x->f[1].template_.len -= 1; break;
        case 18: x->f[1].template_.len += 1; break;
        case 19: memcpy(x->tmpl[1], "XMR\0", 4); break;
        case 20: x->f[0].format = SIDIK__V1__TEMPLATE_FORMAT__ANSI_378_2004; break;
        case 21: x->f[6].amputated = 1; break;
        case 22: x->face[100] ^= 1; break;
        case 23: x->a[1].media_type = "application/pdf"; break;
        case 24: x->a[1].kind = SIDIK__V1__ATTACHMENT_KIND__FACE, x->a[1].sha256.data = x->hash[1]; break;
        case 25: x->a[0].data.len = 0; break;
        case 26: x->e.n_attachments = 0; break;
        case 27: x->d.full_name = "Siti \xc3\x28"; break;
        case 28: strcpy(x->birth, "1990-02-29"); break;
        }
        sidik_validation v;
        assert_int_equal(sidik_enrollment_validate(&x->e, &office, &limits, &v), SIDIK_EINVAL);
        /* Every case breaks one rule and gets exactly one error. */
        if (v.nerrors != 1 || strcmp(v.err[0].field, want[c].field) != 0 ||
            strcmp(v.err[0].reason_code, want[c].code) != 0)
            for (uint32_t i = 0; i < v.nerrors; i++)
                print_error("case %zu: %s %s\n", c, v.err[i].field, v.err[i].reason_code);
        assert_int_equal(v.nerrors, 1);
        assert_string_equal(v.err[0].field, want[c].field);
        assert_string_equal(v.err[0].reason_code, want[c].code);
        assert_non_null(v.err[0].detail);
        free(x);
    }
}

static void test_server_validate_many_problems(void **state)
{
    (void)state;
    fixture *x = copy();
    x->id[0] = 'z';
    x->e.office_code = NULL;
    x->e.station_id = NULL;
    strcpy(x->nik, "1");
    for (int i = 0; i < 10; i++)
        x->f[i].template_.len = 3; /* ten truncated templates */
    x->face[0] ^= 1;
    x->d.region_code = "x";
    x->e.capture_time_ms = 0;
    sidik_validation v;
    assert_int_equal(sidik_enrollment_validate(&x->e, &office, &limits, &v), SIDIK_EINVAL);
    assert_int_equal(v.nerrors, SIDIK_VALIDATE_MAX_ERRORS);
    assert_int_equal(v.dropped, 6 + 10 + 1 - SIDIK_VALIDATE_MAX_ERRORS);
    /* A caller that is no office is refused the office field too. */
    sidik_identity auditor = {SIDIK_ROLE_AUDITOR, "JKT-01"};
    fixture *y = copy();
    assert_int_equal(sidik_enrollment_validate(&y->e, &auditor, &limits, &v), SIDIK_EINVAL);
    assert_string_equal(v.err[0].reason_code, "OFFICE_NOT_CALLER");
    assert_int_equal(sidik_enrollment_validate(NULL, &office, &limits, &v), SIDIK_EINVAL);
    free(x);
    free(y);
}

static void test_server_validate_content_hash(void **state)
{
    (void)state;
    fixture *x = copy();
    uint8_t h1[32], h2[32], h3[32];
    assert_int_equal(sidik_enrollment_hash(&x->e, h1), 0);
    /* Through the wire and back: the same hash. */
    size_t n = sidik__v1__enrollment__get_packed_size(&x->e);
    uint8_t *buf = malloc(n);
    sidik__v1__enrollment__pack(&x->e, buf);
    Sidik__V1__Enrollment *back = sidik__v1__enrollment__unpack(NULL, n, buf);
    assert_non_null(back);
    assert_int_equal(sidik_enrollment_hash(back, h2), 0);
    assert_memory_equal(h1, h2, 32);
    sidik__v1__enrollment__free_unpacked(back, NULL);
    free(buf);
    /* One byte of one template: another hash. */
    x->tmpl[5][40] ^= 1;
    assert_int_equal(sidik_enrollment_hash(&x->e, h3), 0);
    assert_memory_not_equal(h1, h3, 32);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_validate_valid),
        SIDIK_TEST(test_server_validate_each_field),
        SIDIK_TEST(test_server_validate_many_problems),
        SIDIK_TEST(test_server_validate_content_hash),
    };
    return cmocka_run_group_tests(tests, make_base, NULL);
}
