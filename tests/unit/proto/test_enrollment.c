/* The generated sidik.v1 code round-trips a full Enrollment and refuses a
 * truncated one. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "sidik.pb-c.h"

/* Everything the test enrollment points at, in one place. */
struct fixture {
    Sidik__V1__Enrollment e;
    Sidik__V1__Demographics d;
    Sidik__V1__FingerRecord f[10];
    Sidik__V1__FingerRecord *fp[10];
    uint8_t tmpl[10][300];
    Sidik__V1__Attachment a[2];
    Sidik__V1__Attachment *ap[2];
    uint8_t photo[5000];
    uint8_t sig[800];
    uint8_t hash[2][32];
};

static void build(struct fixture *x)
{
    memset(x, 0, sizeof *x);
    sidik__v1__enrollment__init(&x->e);
    sidik__v1__demographics__init(&x->d);
    x->e.enrollment_id = "0b6f2c1e-8d3a-4c55-9a57-2f4e1b9d7c10";
    x->e.office_code = "3171-KEBAYORAN";
    x->e.capture_time_ms = 1795000000123;
    x->e.station_id = "station-07";
    x->d.nik = "3171012505900001";
    x->d.full_name = "Siti Rahayu";
    x->d.birth_place = "Jakarta";
    x->d.birth_date = "1990-05-25";
    x->d.sex = SIDIK__V1__SEX__FEMALE;
    x->d.address = "Jl. Melawai 10";
    x->d.region_code = "317101";
    x->e.demographics = &x->d;
    for (int i = 0; i < 10; i++) {
        sidik__v1__finger_record__init(&x->f[i]);
        x->f[i].position = (Sidik__V1__FingerPosition)(i + 1);
        x->f[i].format = SIDIK__V1__TEMPLATE_FORMAT__ISO_19794_2_2005;
        for (int k = 0; k < 300; k++)
            x->tmpl[i][k] = (uint8_t)(k * 7 + i);
        x->f[i].template_.data = x->tmpl[i];
        x->f[i].template_.len = 100 + 20 * (size_t)i;
        x->f[i].nfiq = (uint32_t)(i % 5 + 1);
        x->fp[i] = &x->f[i];
    }
    x->e.n_fingers = 10;
    x->e.fingers = x->fp;
    for (int i = 0; i < 2; i++) {
        sidik__v1__attachment__init(&x->a[i]);
        memset(x->hash[i], 0xa0 + i, 32);
        x->a[i].sha256.data = x->hash[i];
        x->a[i].sha256.len = 32;
        x->ap[i] = &x->a[i];
    }
    memset(x->photo, 0x5a, sizeof x->photo);
    memset(x->sig, 0x3c, sizeof x->sig);
    x->a[0].kind = SIDIK__V1__ATTACHMENT_KIND__FACE;
    x->a[0].media_type = "image/jpeg";
    x->a[0].data.data = x->photo;
    x->a[0].data.len = sizeof x->photo;
    x->a[1].kind = SIDIK__V1__ATTACHMENT_KIND__SIGNATURE;
    x->a[1].media_type = "image/png";
    x->a[1].data.data = x->sig;
    x->a[1].data.len = sizeof x->sig;
    x->e.n_attachments = 2;
    x->e.attachments = x->ap;
}

static uint8_t *pack(const Sidik__V1__Enrollment *e, size_t *n)
{
    *n = sidik__v1__enrollment__get_packed_size(e);
    uint8_t *buf = malloc(*n);
    assert_non_null(buf);
    assert_int_equal(sidik__v1__enrollment__pack(e, buf), *n);
    return buf;
}

static void test_proto_enrollment_round_trip(void **state)
{
    (void)state;
    struct fixture *x = malloc(sizeof *x);
    assert_non_null(x);
    build(x);
    size_t n;
    uint8_t *buf = pack(&x->e, &n);

    Sidik__V1__Enrollment *d = sidik__v1__enrollment__unpack(NULL, n, buf);
    assert_non_null(d);
    assert_string_equal(d->enrollment_id, x->e.enrollment_id);
    assert_string_equal(d->office_code, x->e.office_code);
    assert_int_equal(d->capture_time_ms, x->e.capture_time_ms);
    assert_string_equal(d->station_id, "station-07");
    assert_non_null(d->demographics);
    assert_string_equal(d->demographics->nik, "3171012505900001");
    assert_string_equal(d->demographics->full_name, "Siti Rahayu");
    assert_string_equal(d->demographics->birth_date, "1990-05-25");
    assert_int_equal(d->demographics->sex, SIDIK__V1__SEX__FEMALE);
    assert_string_equal(d->demographics->region_code, "317101");
    assert_int_equal(d->n_fingers, 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(d->fingers[i]->position, i + 1);
        assert_int_equal(d->fingers[i]->format, SIDIK__V1__TEMPLATE_FORMAT__ISO_19794_2_2005);
        assert_int_equal(d->fingers[i]->template_.len, 100 + 20 * i);
        assert_memory_equal(d->fingers[i]->template_.data, x->tmpl[i], 100 + 20 * i);
        assert_int_equal(d->fingers[i]->nfiq, i % 5 + 1);
    }
    assert_int_equal(d->n_attachments, 2);
    assert_int_equal(d->attachments[0]->kind, SIDIK__V1__ATTACHMENT_KIND__FACE);
    assert_string_equal(d->attachments[0]->media_type, "image/jpeg");
    assert_int_equal(d->attachments[0]->data.len, sizeof x->photo);
    assert_memory_equal(d->attachments[0]->data.data, x->photo, sizeof x->photo);
    assert_int_equal(d->attachments[1]->sha256.len, 32);
    assert_memory_equal(d->attachments[1]->sha256.data, x->hash[1], 32);

    /* Re-encoding the decoded message gives the same bytes. */
    size_t n2;
    uint8_t *buf2 = pack(d, &n2);
    assert_int_equal(n2, n);
    assert_memory_equal(buf2, buf, n);

    free(buf2);
    sidik__v1__enrollment__free_unpacked(d, NULL);
    free(buf);
    free(x);
}

/* Offsets where a top-level field ends in a well-formed message: the only
 * places a cut leaves something protobuf itself cannot tell from a shorter
 * message (sidik's own validation catches those by the missing fields). */
static size_t top_level_ends(const uint8_t *p, size_t n, size_t *ends, size_t max)
{
    size_t k = 0, i = 0;
    while (i < n && k < max) {
        uint64_t key = 0;
        for (int s = 0; i < n; s += 7) {
            key |= (uint64_t)(p[i] & 0x7f) << s;
            if ((p[i++] & 0x80) == 0)
                break;
        }
        uint64_t len = 0;
        switch (key & 7) {
        case 0:
            while (i < n && (p[i++] & 0x80))
                ;
            break;
        case 2:
            for (int s = 0; i < n; s += 7) {
                len |= (uint64_t)(p[i] & 0x7f) << s;
                if ((p[i++] & 0x80) == 0)
                    break;
            }
            i += len;
            break;
        default:
            fail_msg("unexpected wire type %d", (int)(key & 7));
        }
        ends[k++] = i;
    }
    return k;
}

static void test_proto_enrollment_truncated_refused(void **state)
{
    (void)state;
    struct fixture *x = malloc(sizeof *x);
    assert_non_null(x);
    build(x);
    size_t n;
    uint8_t *buf = pack(&x->e, &n);
    size_t ends[64];
    size_t nends = top_level_ends(buf, n, ends, 64);
    assert_int_equal(ends[nends - 1], n);

    size_t refused = 0;
    for (size_t cut = 1; cut < n; cut++) {
        Sidik__V1__Enrollment *d = sidik__v1__enrollment__unpack(NULL, cut, buf);
        bool at_boundary = false;
        for (size_t j = 0; j < nends; j++)
            at_boundary |= ends[j] == cut;
        if (d != NULL) {
            assert_true(at_boundary); /* accepted only where a field ends */
            /* ...and then it is visibly incomplete. */
            assert_true(d->n_attachments < 2 || d->n_fingers < 10 || d->demographics == NULL);
            sidik__v1__enrollment__free_unpacked(d, NULL);
        } else {
            assert_false(at_boundary);
            refused++;
        }
    }
    assert_true(refused > n - 20);
    /* A message cut inside the face photo is refused. */
    assert_null(sidik__v1__enrollment__unpack(NULL, n - 1000, buf));
    free(buf);
    free(x);
}

static void test_proto_garbage_refused(void **state)
{
    (void)state;
    uint8_t junk[256];
    uint64_t s = 42;
    int refused = 0;
    for (int round = 0; round < 1000; round++) {
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)sidik_test_rand(&s);
        Sidik__V1__Enrollment *d = sidik__v1__enrollment__unpack(NULL, sizeof junk, junk);
        if (d == NULL)
            refused++;
        else
            sidik__v1__enrollment__free_unpacked(d, NULL);
    }
    assert_true(refused > 990);
    /* A length prefix claiming 2 GiB of bytes that are not there. */
    const uint8_t lying[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x07, 'a'};
    assert_null(sidik__v1__enrollment__unpack(NULL, sizeof lying, lying));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_enrollment_round_trip),
        cmocka_unit_test(test_proto_enrollment_truncated_refused),
        cmocka_unit_test(test_proto_garbage_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
