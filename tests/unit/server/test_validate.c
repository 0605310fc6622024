/*
 * Enrollment validation: a valid upload passes; each broken field is
 * refused with exactly its field path and reason code; many problems are
 * all reported (up to the cap); the content hash follows the content.
 */
#include "test_support.h"

#include "sidik/common.h"
#include "sidik/matcher.h"
#include "sidik/validate.h"
#include "synth.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS 1795000000000LL

typedef struct fixture {
    Sidik__V1__Enrollment e;
    Sidik__V1__Demographics d;
    Sidik__V1__FingerRecord f[10];
    Sidik__V1__FingerRecord *fp[10];
    uint8_t tmpl[10][4096];
    Sidik__V1__Attachment a[2];
    Sidik__V1__Attachment *ap[2];
    uint8_t face[3000], sig[700];
    uint8_t hash[2][32];
    char nik[17], birth[11], id[37];
} fixture;

static fixture base;
static const sidik_identity office = {SIDIK_ROLE_OFFICE, "JKT-01"};
static const sidik_validate_limits limits = {.now_ms = NOW_MS};

static void sha(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned len;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* Points x's pointers at x's own storage (after a struct copy). */
static void wire(fixture *x)
{
    x->e.demographics = &x->d;
    x->d.nik = x->nik;
    x->d.birth_date = x->birth;
    x->e.enrollment_id = x->id;
    for (int i = 0; i < 10; i++) {
        x->fp[i] = &x->f[i];
        x->f[i].template_.data = x->tmpl[i];
    }
    x->e.fingers = x->fp;
    x->a[0].data.data = x->face;
    x->a[0].sha256.data = x->hash[0];
    x->a[1].data.data = x->sig;
    x->a[1].sha256.data = x->hash[1];
    x->ap[0] = &x->a[0];
    x->ap[1] = &x->a[1];
    x->e.attachments = x->ap;
}

static int make_base(void **state)
{
    (void)state;
    fixture *x = &base;
    sidik__v1__enrollment__init(&x->e);
    sidik__v1__demographics__init(&x->d);
    strcpy(x->id, "0b6f2c1e-8d3a-4c55-9a57-2f4e1b9d7c10");
    x->e.office_code = "JKT-01";
    x->e.capture_time_ms = NOW_MS - 3600 * 1000;
    x->e.station_id = "station-07";
    strcpy(x->nik, "3171016505900001"); /* a woman born 1990-05-25 */
    strcpy(x->birth, "1990-05-25");
    x->d.full_name = "Siti Rahayu";
    x->d.birth_place = "Jakarta";
    x->d.sex = SIDIK__V1__SEX__FEMALE;
    x->d.address = "Jl. Melawai 10";
    x->d.region_code = "317101";
    /* Ten single-finger ISO records from a synthetic person. */
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    sidik_fmr *all = malloc(sizeof *all), *one = malloc(sizeof *one);
    if (sidik_synth_impression(&p, 3, 1, 0, all, NULL, NULL) != 0 || all->nviews != 10)
        return -1;
    for (int i = 0; i < 10; i++) {
        sidik__v1__finger_record__init(&x->f[i]);
        *one = (sidik_fmr){.format = SIDIK_FMR_ISO_2005, .nviews = 1};
        one->views[0] = all->views[i];
        size_t len;
        if (sidik_fmr_encode_iso2005(one, x->tmpl[i], sizeof x->tmpl[i], &len) != 0)
            return -1;
        x->f[i].position = (Sidik__V1__FingerPosition)all->views[i].position;
        x->f[i].format = SIDIK__V1__TEMPLATE_FORMAT__ISO_19794_2_2005;
        x->f[i].template_.len = len;
        x->f[i].nfiq = 2;
    }
    free(all);
    free(one);
    x->e.n_fingers = 10;
    for (int i = 0; i < 2; i++)
        sidik__v1__attachment__init(&x->a[i]);
    memset(x->face, 0xd8, sizeof x->face);
    memset(x->sig, 0x89, sizeof x->sig);
    x->a[0].kind = SIDIK__V1__ATTACHMENT_KIND__FACE;
    x->a[0].media_type = "image/jpeg";
    x->a[0].data.len = sizeof x->face;
    x->a[0].sha256.len = 32;
    sha(x->face, sizeof x->face, x->hash[0]);
    x->a[1].kind = SIDIK__V1__ATTACHMENT_KIND__SIGNATURE;
    x->a[1].media_type = "image/png";
    x->a[1].data.len = sizeof x->sig;
    x->a[1].sha256.len = 32;
    sha(x->sig, sizeof x->sig, x->hash[1]);
    x->e.n_attachments = 2;
    wire(x);
    return 0;
}

static fixture *copy(void)
{
    fixture *x = malloc(sizeof *x);
    *x = base;
    wire(x);
    return x;
}

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
