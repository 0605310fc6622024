/*
 * Finger minutiae record codecs, part 1: the real FVC2002 records, the ISO
 * 2005 decoder against hostile input, format dispatch and the encoder.
 * test_codec_formats.c covers ANSI 378-2004, ISO 2011 and resolution scaling.
 */
#include "codec_build.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sidik/alloc.h"
#include "sidik/err.h"
#include "sidik/template.h"

#ifndef SIDIK_FVC2002_DIR
#error "CMake passes SIDIK_FVC2002_DIR, the shared FVC2002 template folder"
#endif

/* The largest FVC record is 24 + 4 + 69 * 6 + 2 = 444 bytes. */
#define FVC_MAX 1024

static bool fvc_present(void)
{
    struct stat st;
    return stat(SIDIK_FVC2002_DIR "/DB1_B/101_1.iso", &st) == 0;
}

static size_t fvc_load(int db, int finger, int impression, uint8_t *buf)
{
    char path[512];
    snprintf(path, sizeof path, "%s/DB%d_B/%d_%d.iso", SIDIK_FVC2002_DIR, db, finger, impression);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    size_t n = fread(buf, 1, FVC_MAX, f);
    assert_true(feof(f));
    fclose(f);
    return n;
}

static void test_matcher_fmr_fvc2002_round_trip(void **state)
{
    (void)state;
    if (!fvc_present()) {
        print_message("SKIP: %s not found (CI clones sidik next to shared/)\n", SIDIK_FVC2002_DIR);
        skip();
    }
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    uint8_t rec[FVC_MAX], out[FVC_MAX];
    unsigned decoded = 0;
    for (int db = 1; db <= 4; db++) {
        for (int finger = 101; finger <= 110; finger++) {
            for (int imp = 1; imp <= 8; imp++) {
                size_t n = fvc_load(db, finger, imp, rec);
                const char *why = "unset";
                int rc = sidik_fmr_decode(rec, n, f, &why);
                if (rc != 0)
                    fail_msg("DB%d %d_%d: %s: %s", db, finger, imp, sidik_err_name(rc), why);
                assert_null(why);
                assert_int_equal(f->format, SIDIK_FMR_ISO_2005);
                assert_int_equal(f->nviews, 1);
                assert_int_equal(f->views[0].width, 300);
                assert_int_equal(f->views[0].height, 400);
                assert_in_range(f->views[0].count, 13, 69);
                size_t len = 0;
                assert_int_equal(sidik_fmr_encode_iso2005(f, out, sizeof out, &len), 0);
                assert_int_equal(len, n);
                assert_memory_equal(out, rec, n);
                decoded++;
            }
        }
    }
    assert_int_equal(decoded, 320);
    sidik_free(f);
}

/* Truncating a real record anywhere must say so, never misread the rest:
 * every byte of every FVC2002 record. */
static void test_matcher_fmr_fvc2002_truncated_every_byte(void **state)
{
    (void)state;
    if (!fvc_present()) {
        print_message("SKIP: %s not found\n", SIDIK_FVC2002_DIR);
        skip();
    }
    uint8_t rec[FVC_MAX];
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    for (int db = 1; db <= 4; db++) {
        for (int finger = 101; finger <= 110; finger++) {
            for (int imp = 1; imp <= 8; imp++) {
                size_t n = fvc_load(db, finger, imp, rec);
                for (size_t k = 0; k < n; k++) {
                    const char *why = NULL;
                    assert_int_equal(sidik_fmr_decode(rec, k, f, &why), SIDIK_ETRUNCATED);
                    assert_non_null(why);
                    const char *expected =
                        k < 8    ? "input ends inside the format identifier or version"
                        : k < 12 ? "input ends inside the record length field"
                                 : "input ends before the record length its header declares";
                    assert_string_equal(why, expected);
                }
            }
        }
    }
    sidik_free(f);
}

static void test_matcher_fmr_built_truncated_every_byte(void **state)
{
    (void)state;
    fmr_view v = {3, 0, 1, 80, CODEC_DEMO_COUNT, codec_demo_minutiae, 10};
    fmr_spec s = codec_demo_spec(&v, 1);
    uint8_t rec[256];
    size_t n = build_iso2005(&s, rec, sizeof rec);
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    const char *why = NULL;
    assert_int_equal(sidik_fmr_decode(rec, n, f, &why), 0);
    for (size_t k = 0; k < n; k++) {
        why = NULL;
        assert_int_equal(sidik_fmr_decode(rec, k, f, &why), SIDIK_ETRUNCATED);
        assert_non_null(why);
    }
    sidik_free(f);
}

static void test_matcher_fmr_decodes_demo_exactly(void **state)
{
    (void)state;
    fmr_view v = {7, 0, 2, 61, CODEC_DEMO_COUNT, codec_demo_minutiae, 0};
    fmr_spec s = codec_demo_spec(&v, 1);
    uint8_t rec[256];
    size_t n = build_iso2005(&s, rec, sizeof rec);
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    const char *why = NULL;
    assert_int_equal(sidik_fmr_decode(rec, n, f, &why), 0);
    const sidik_template *t = &f->views[0];
    assert_int_equal(t->position, 7);
    assert_int_equal(t->impression, 2);
    assert_int_equal(t->quality, 61);
    assert_int_equal(t->count, CODEC_DEMO_COUNT);
    for (unsigned j = 0; j < CODEC_DEMO_COUNT; j++) {
        assert_int_equal(t->m[j].x, codec_demo_minutiae[j].x);
        assert_int_equal(t->m[j].y, codec_demo_minutiae[j].y);
        assert_int_equal(t->m[j].type, codec_demo_minutiae[j].type);
        assert_int_equal(t->m[j].angle, codec_demo_minutiae[j].angle);
        assert_int_equal(t->m[j].quality, codec_demo_minutiae[j].quality);
        assert_int_equal(t->m[j].reserved, 0);
    }
    sidik_free(f);
}

static size_t demo_record(uint8_t *rec, size_t cap, uint16_t ext)
{
    fmr_view v = {1, 0, 0, 50, CODEC_DEMO_COUNT, codec_demo_minutiae, ext};
    fmr_spec s = codec_demo_spec(&v, 1);
    return build_iso2005(&s, rec, cap);
}

static void test_matcher_fmr_lying_record_length(void **state)
{
    (void)state;
    uint8_t rec[256];
    size_t n = demo_record(rec, sizeof rec, 0);
    const char *longer = "input ends before the record length its header declares";
    const char *shorter = "bytes follow the end of the record its length field declares";
    const uint32_t too_big[] = {(uint32_t)n + 1, (uint32_t)n + 1000, 0x0000ffff, 0x7fffffff,
                                0xffffffff};
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
        put_be32(rec + ISO_OFF_LEN, too_big[i]);
        assert_decode_fails(rec, n, SIDIK_ETRUNCATED, longer);
    }
    const uint32_t too_small[] = {(uint32_t)n - 1, (uint32_t)n - 6, 24};
    for (size_t i = 0; i < sizeof too_small / sizeof too_small[0]; i++) {
        put_be32(rec + ISO_OFF_LEN, too_small[i]);
        assert_decode_fails(rec, n, SIDIK_ETRAILING, shorter);
    }
    /* 0 is no record's length in either reading: ISO's is below its header,
     * and ANSI's long form (0x0000 then the width, 300) is below 64 KiB. */
    put_be32(rec + ISO_OFF_LEN, 0);
    assert_decode_fails(rec, n, SIDIK_EFORMAT, "record length field is smaller than any header");
}

/* The record length agrees with n but the structure inside does not. */
static void test_matcher_fmr_structure_disagrees_with_length(void **state)
{
    (void)state;
    uint8_t rec[256];
    size_t n = demo_record(rec, sizeof rec, 0);
    rec[ISO_OFF_VIEW + 3] = CODEC_DEMO_COUNT + 1;
    assert_decode_fails(rec, n, SIDIK_EFORMAT, "minutiae run past the record length");
    rec[ISO_OFF_VIEW + 3] = CODEC_DEMO_COUNT;

    rec[ISO_OFF_NVIEWS] = 2;
    assert_decode_fails(rec, n, SIDIK_EFORMAT, "finger view header runs past the record length");
    rec[ISO_OFF_NVIEWS] = 1;

    /* Two bytes of padding inside the declared length. */
    uint8_t padded[256];
    memcpy(padded, rec, n);
    padded[n] = padded[n + 1] = 0;
    put_be32(padded + ISO_OFF_LEN, (uint32_t)n + 2);
    assert_decode_fails(padded, n + 2, SIDIK_EFORMAT,
                        "record length exceeds the finger views it holds");

    /* A view whose minutiae end exactly at the record's end: no room for the
     * extended data length. */
    put_be32(rec + ISO_OFF_LEN, (uint32_t)n - 2);
    assert_decode_fails(rec, n - 2, SIDIK_EFORMAT,
                        "extended data length field runs past the record length");
}

static void test_matcher_fmr_extended_data(void **state)
{
    (void)state;
    uint8_t plain[256], ext[512];
    size_t n0 = demo_record(plain, sizeof plain, 0);
    size_t n = demo_record(ext, sizeof ext, 100);
    codec_save_seed("iso2005_extended_data.fmr", ext, n);
    assert_int_equal(n, n0 + 100);
    sidik_fmr *a = sidik_xmalloc(sizeof *a);
    sidik_fmr *b = sidik_xmalloc(sizeof *b);
    const char *why = NULL;
    assert_int_equal(sidik_fmr_decode(plain, n0, a, &why), 0);
    assert_int_equal(sidik_fmr_decode(ext, n, b, &why), 0);
    assert_memory_equal(&a->views[0], &b->views[0], sizeof a->views[0]);

    /* The extended data length says more than the record holds. */
    size_t ext_field = n0 - 2;
    put_be16(ext + ext_field, 101);
    assert_decode_fails(ext, n, SIDIK_EFORMAT, "extended data block runs past the record length");
    put_be16(ext + ext_field, 0xffff);
    assert_decode_fails(ext, n, SIDIK_EFORMAT, "extended data block runs past the record length");
    /* ... or less: the rest is left over inside the record. */
    put_be16(ext + ext_field, 99);
    assert_decode_fails(ext, n, SIDIK_EFORMAT, "record length exceeds the finger views it holds");
    sidik_free(a);
    sidik_free(b);
}

static void test_matcher_fmr_trailing_bytes(void **state)
{
    (void)state;
    uint8_t rec[512];
    size_t n = demo_record(rec, sizeof rec, 0);
    const char *shorter = "bytes follow the end of the record its length field declares";
    memset(rec + n, 0, 200);
    assert_decode_fails(rec, n + 1, SIDIK_ETRAILING, shorter);
    assert_decode_fails(rec, n + 200, SIDIK_ETRAILING, shorter);
    /* Trailing bytes that happen to look like another record change nothing. */
    memcpy(rec + n, rec, n);
    assert_decode_fails(rec, 2 * n, SIDIK_ETRAILING, shorter);
}

static void test_matcher_fmr_minutia_outside_image(void **state)
{
    (void)state;
    fmr_min m[2] = {{10, 10, 1, 0, 0}, {299, 399, 1, 0, 0}};
    fmr_view v = {1, 0, 0, 0, 2, m, 0};
    fmr_spec s = codec_demo_spec(&v, 1);
    uint8_t rec[256];
    size_t n = build_iso2005(&s, rec, sizeof rec);
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    const char *why = NULL;
    assert_int_equal(sidik_fmr_decode(rec, n, f, &why), 0); /* the last pixel is inside */
    sidik_free(f);

    m[1].x = 300;
    n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "minutia outside the image: x >= image width");
    m[1].x = 0x3fff;
    n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "minutia outside the image: x >= image width");
    m[1].x = 5;
    m[1].y = 400;
    n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "minutia outside the image: y >= image height");
}

static void test_matcher_fmr_zero_geometry(void **state)
{
    (void)state;
    uint8_t rec[256];
    size_t n = demo_record(rec, sizeof rec, 0);
    struct {
        size_t off;
        const char *why;
    } zero[] = {
        {ISO_OFF_XRES, "horizontal resolution is zero"},
        {ISO_OFF_YRES, "vertical resolution is zero"},
        {ISO_OFF_WIDTH, "image width is zero"},
        {ISO_OFF_HEIGHT, "image height is zero"},
    };
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
        uint8_t bad[256];
        memcpy(bad, rec, n);
        put_be16(bad + zero[i].off, 0);
        assert_decode_fails(bad, n, SIDIK_EFORMAT, zero[i].why);
    }
}

static void test_matcher_fmr_too_many_minutiae(void **state)
{
    (void)state;
    static fmr_min m[255];
    for (unsigned j = 0; j < 255; j++)
        m[j] = (fmr_min){(uint16_t)j, (uint16_t)(j % 400), 1, (uint8_t)j, 0};
    fmr_view v = {1, 0, 0, 0, 192, m, 0};
    fmr_spec s = codec_demo_spec(&v, 1);
    static uint8_t rec[2048];
    size_t n = build_iso2005(&s, rec, sizeof rec);
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    const char *why = NULL;
    assert_int_equal(sidik_fmr_decode(rec, n, f, &why), 0);
    assert_int_equal(f->views[0].count, 192);
    sidik_free(f);
    const uint8_t counts[] = {193, 255};
    for (size_t i = 0; i < sizeof counts; i++) {
        v.count = counts[i];
        n = build_iso2005(&s, rec, sizeof rec);
        assert_decode_fails(rec, n, SIDIK_ERANGE, "finger view holds more than 192 minutiae");
    }
}

static void test_matcher_fmr_view_counts(void **state)
{
    (void)state;
    fmr_view v[21];
    for (unsigned i = 0; i < 21; i++)
        v[i] = (fmr_view){(uint8_t)(i % 11), (uint8_t)(i / 11), 0, 0, 2, codec_demo_minutiae, 0};
    fmr_spec s = codec_demo_spec(v, 20);
    uint8_t rec[1024];
    size_t n = build_iso2005(&s, rec, sizeof rec);
    codec_save_seed("iso2005_20_views.fmr", rec, n);
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    const char *why = NULL;
    assert_int_equal(sidik_fmr_decode(rec, n, f, &why), 0);
    assert_int_equal(f->nviews, 20);
    sidik_free(f);

    s.nviews = 21;
    n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "record holds more than 20 finger views");
    s.nviews = 0;
    n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "record holds no finger views");

    /* Seventeen views of one finger cannot have distinct 4-bit view numbers. */
    for (unsigned i = 0; i < 17; i++)
        v[i].position = 4;
    s.nviews = 17;
    n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "more than 16 views of one finger position");
}

static void test_matcher_fmr_bad_magic_and_version(void **state)
{
    (void)state;
    uint8_t rec[256];
    size_t n = demo_record(rec, sizeof rec, 0);
    const char *magic = "format identifier is not \"FMR\\0\"";
    uint8_t bad[256];
    for (size_t i = 0; i < 4; i++) {
        memcpy(bad, rec, n);
        bad[i] ^= 0x20;
        assert_decode_fails(bad, n, SIDIK_EFORMAT, magic);
    }
    assert_decode_fails((const uint8_t *)"FIR", 3, SIDIK_EFORMAT, magic);
    assert_decode_fails((const uint8_t *)"FM", 2, SIDIK_ETRUNCATED,
                        "input ends inside the format identifier or version");
    assert_decode_fails(NULL, 0, SIDIK_ETRUNCATED,
                        "input ends inside the format identifier or version");

    const char *unknown = "version is neither \" 20\" (ISO 2005, ANSI 2004) nor \"030\" (ISO 2011)";
    const char *versions[] = {" 21", "020", " 20 ", "031", "\0\0\0", "200"};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        memcpy(bad, rec, n);
        memcpy(bad + 4, versions[i], 4);
        assert_decode_fails(bad, n, SIDIK_EVERSION, unknown);
    }
    memcpy(bad, rec, n);
    memcpy(bad + 4, "035", 4);
    assert_decode_fails(bad, n, SIDIK_EVERSION,
                        "version 035 (ANSI/INCITS 378-2009/AM1) is not supported");
}

static void test_matcher_fmr_bad_fields(void **state)
{
    (void)state;
    uint8_t rec[256], bad[256];
    size_t n = demo_record(rec, sizeof rec, 0);
    /* Each case sets one byte (or ORs bits into it) of a good record. */
    struct {
        size_t off;
        uint8_t value;
        bool or_bits;
        int rc;
        const char *why;
    } cases[] = {
        {ISO_OFF_MINUTIAE, 0xc0, true, SIDIK_ERANGE,
         "minutia type is 3, which no standard defines"},
        {ISO_OFF_MINUTIAE + 6 * 4, 0xc0, true, SIDIK_ERANGE,
         "minutia type is 3, which no standard defines"},
        {ISO_OFF_MINUTIAE + 2, 0x40, true, SIDIK_EFORMAT,
         "reserved bits above minutia y are not zero"},
        {ISO_OFF_MINUTIAE + 2, 0x80, true, SIDIK_EFORMAT,
         "reserved bits above minutia y are not zero"},
        {ISO_OFF_RESERVED, 1, false, SIDIK_EFORMAT, "reserved byte of the general header is not 0"},
        {ISO_OFF_VIEW, 11, false, SIDIK_ERANGE, "finger position is above 10"},
        {ISO_OFF_VIEW, 0xff, false, SIDIK_ERANGE, "finger position is above 10"},
        {ISO_OFF_VIEW + 2, 101, false, SIDIK_ERANGE, "finger quality is above 100"},
        {ISO_OFF_MINUTIAE + 5, 101, false, SIDIK_ERANGE, "minutia quality is above 100"},
        {ISO_OFF_MINUTIAE + 5, 255, false, SIDIK_ERANGE, "minutia quality is above 100"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, rec, n);
        if (cases[i].or_bits)
            bad[cases[i].off] |= cases[i].value;
        else
            bad[cases[i].off] = cases[i].value;
        assert_decode_fails(bad, n, cases[i].rc, cases[i].why);
    }
}

/* A record of 64 KiB or more: bytes 8-9 are non-zero, so the ANSI reading is
 * a short length (n >> 16) that cannot equal n; it must still be ISO. */
static void test_matcher_fmr_large_iso_record(void **state)
{
    (void)state;
    fmr_view v[2] = {{1, 0, 0, 0, CODEC_DEMO_COUNT, codec_demo_minutiae, 60000},
                     {2, 0, 0, 0, CODEC_DEMO_COUNT, codec_demo_minutiae, 60000}};
    fmr_spec s = codec_demo_spec(v, 2);
    size_t cap = 130000;
    uint8_t *rec = sidik_xmalloc(cap);
    size_t n = build_iso2005(&s, rec, cap);
    assert_true(n > 65535);
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    const char *why = NULL;
    assert_int_equal(sidik_fmr_decode(rec, n, f, &why), 0);
    assert_int_equal(f->format, SIDIK_FMR_ISO_2005);
    assert_int_equal(f->nviews, 2);
    assert_int_equal(f->views[1].position, 2);
    assert_decode_fails(rec, n - 1, SIDIK_ETRUNCATED,
                        "input ends before the record length its header declares");
    assert_decode_fails(rec, 70000, SIDIK_ETRUNCATED,
                        "input ends before the record length its header declares");
    sidik_free(f);
    sidik_free(rec);
}

static void random_template(uint64_t *seed, sidik_template *t, uint16_t w, uint16_t h,
                            uint8_t position)
{
    memset(t, 0, sizeof *t);
    t->width = w;
    t->height = h;
    t->position = position;
    t->impression = (uint8_t)(sidik_test_rand(seed) % 16);
    t->quality = (uint8_t)(sidik_test_rand(seed) % 101);
    t->count = (uint8_t)(sidik_test_rand(seed) % (SIDIK_TMPL_MAX_MINUTIAE + 1));
    for (unsigned j = 0; j < t->count; j++) {
        sidik_minutia *m = &t->m[j];
        m->x = (uint16_t)(sidik_test_rand(seed) % w);
        m->y = (uint16_t)(sidik_test_rand(seed) % h);
        m->angle = (uint8_t)sidik_test_rand(seed);
        m->type = (uint8_t)(sidik_test_rand(seed) % 3);
        m->quality = (uint8_t)(sidik_test_rand(seed) % 101);
    }
}

static void test_matcher_fmr_random_round_trip(void **state)
{
    (void)state;
    sidik_fmr *a = sidik_xmalloc(sizeof *a);
    sidik_fmr *b = sidik_xmalloc(sizeof *b);
    size_t cap = 24 + SIDIK_FMR_MAX_VIEWS * (6 + 6 * SIDIK_TMPL_MAX_MINUTIAE);
    uint8_t *buf = sidik_xmalloc(cap);
    uint8_t *again = sidik_xmalloc(cap);
    uint64_t seed = 0x5eed;
    for (int iter = 0; iter < 500; iter++) {
        memset(a, 0, sizeof *a);
        a->format = SIDIK_FMR_ISO_2005;
        a->nviews = 1 + (uint32_t)(sidik_test_rand(&seed) % SIDIK_FMR_MAX_VIEWS);
        uint16_t w = (uint16_t)(1 + sidik_test_rand(&seed) % 0x4000);
        uint16_t h = (uint16_t)(1 + sidik_test_rand(&seed) % 0x4000);
        for (uint32_t i = 0; i < a->nviews; i++)
            random_template(&seed, &a->views[i], w, h, (uint8_t)(sidik_test_rand(&seed) % 11));
        size_t len = 0;
        assert_int_equal(sidik_fmr_encode_iso2005(a, buf, cap, &len), 0);
        const char *why = NULL;
        int rc = sidik_fmr_decode(buf, len, b, &why);
        if (rc != 0)
            fail_msg("iteration %d: %s: %s", iter, sidik_err_name(rc), why);
        assert_int_equal(b->format, SIDIK_FMR_ISO_2005);
        assert_int_equal(b->nviews, a->nviews);
        assert_memory_equal(b->views, a->views, a->nviews * sizeof a->views[0]);
        size_t len2 = 0;
        assert_int_equal(sidik_fmr_encode_iso2005(b, again, cap, &len2), 0);
        assert_int_equal(len2, len);
        assert_memory_equal(again, buf, len);
    }
    sidik_free(again);
    sidik_free(buf);
    sidik_free(b);
    sidik_free(a);
}

/* The encoder numbers the views of each finger 0, 1, ... in record order. */
static void test_matcher_fmr_encoder_view_numbers(void **state)
{
    (void)state;
    sidik_fmr *a = sidik_xmalloc(sizeof *a);
    memset(a, 0, sizeof *a);
    a->nviews = 3;
    const uint8_t positions[3] = {2, 7, 2};
    for (unsigned i = 0; i < 3; i++) {
        a->views[i].width = 10;
        a->views[i].height = 10;
        a->views[i].position = positions[i];
        a->views[i].impression = 1;
    }
    uint8_t buf[64];
    size_t len = 0;
    assert_int_equal(sidik_fmr_encode_iso2005(a, buf, sizeof buf, &len), 0);
    assert_int_equal(len, 24 + 3 * 6);
    assert_int_equal(buf[24 + 1], 0x01);
    assert_int_equal(buf[30 + 1], 0x01);
    assert_int_equal(buf[36 + 1], 0x11);
    sidik_free(a);
}

static void test_matcher_fmr_encoder_refusals(void **state)
{
    (void)state;
    sidik_fmr *a = sidik_xmalloc(sizeof *a);
    memset(a, 0, sizeof *a);
    a->nviews = 1;
    a->views[0].width = 300;
    a->views[0].height = 400;
    a->views[0].count = 1;
    a->views[0].m[0] = (sidik_minutia){299, 399, 7, SIDIK_MINUTIA_ENDING, 100, 0};
    uint8_t buf[64];
    size_t len = 0;
    assert_int_equal(sidik_fmr_encode_iso2005(a, buf, sizeof buf, &len), 0);
    assert_int_equal(len, 36);
    len = 0;
    assert_int_equal(sidik_fmr_encode_iso2005(a, buf, 35, &len), SIDIK_ETOOBIG);
    assert_int_equal(len, 36);
    assert_int_equal(sidik_fmr_encode_iso2005(a, NULL, 0, &len), SIDIK_ETOOBIG);
    assert_int_equal(sidik_fmr_encode_iso2005(NULL, buf, sizeof buf, &len), SIDIK_EINVAL);
    assert_int_equal(sidik_fmr_encode_iso2005(a, buf, sizeof buf, NULL), SIDIK_EINVAL);

    sidik_fmr *b = sidik_xmalloc(sizeof *b);
#define REFUSED(mutation)                                                                   \
    do {                                                                                    \
        memcpy(b, a, sizeof *a);                                                            \
        mutation;                                                                           \
        assert_int_equal(sidik_fmr_encode_iso2005(b, buf, sizeof buf, &len), SIDIK_ERANGE); \
    } while (0)
    REFUSED(b->nviews = 0);
    REFUSED(b->nviews = 21);
    REFUSED(b->views[0].m[0].x = 300);
    REFUSED(b->views[0].m[0].y = 400);
    REFUSED(b->views[0].m[0].type = 3);
    REFUSED(b->views[0].m[0].quality = 101);
    REFUSED(b->views[0].position = 11);
    REFUSED(b->views[0].impression = 16);
    REFUSED(b->views[0].quality = 101);
    REFUSED(b->views[0].count = 193);
    REFUSED(b->views[0].width = 0);
    REFUSED((b->views[0].width = 20000, b->views[0].m[0].x = 16384));
    /* ISO 2005 holds one image size per record. */
    REFUSED((b->nviews = 2, b->views[1] = b->views[0], b->views[1].height = 401));
#undef REFUSED
    sidik_free(b);
    sidik_free(a);
}

static void test_matcher_fmr_null_arguments(void **state)
{
    (void)state;
    uint8_t rec[256];
    size_t n = demo_record(rec, sizeof rec, 0);
    const char *why = NULL;
    assert_int_equal(sidik_fmr_decode(rec, n, NULL, &why), SIDIK_EINVAL);
    assert_string_equal(why, "record or output pointer is NULL");
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    assert_int_equal(sidik_fmr_decode(NULL, 10, f, &why), SIDIK_EINVAL);
    /* why itself may be NULL. */
    assert_int_equal(sidik_fmr_decode(rec, n, f, NULL), 0);
    assert_int_equal(sidik_fmr_decode(rec, n - 1, f, NULL), SIDIK_ETRUNCATED);
    sidik_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_matcher_fmr_fvc2002_round_trip),
        SIDIK_TEST(test_matcher_fmr_fvc2002_truncated_every_byte),
        SIDIK_TEST(test_matcher_fmr_built_truncated_every_byte),
        SIDIK_TEST(test_matcher_fmr_decodes_demo_exactly),
        SIDIK_TEST(test_matcher_fmr_lying_record_length),
        SIDIK_TEST(test_matcher_fmr_structure_disagrees_with_length),
        SIDIK_TEST(test_matcher_fmr_extended_data),
        SIDIK_TEST(test_matcher_fmr_trailing_bytes),
        SIDIK_TEST(test_matcher_fmr_minutia_outside_image),
        SIDIK_TEST(test_matcher_fmr_zero_geometry),
        SIDIK_TEST(test_matcher_fmr_too_many_minutiae),
        SIDIK_TEST(test_matcher_fmr_view_counts),
        SIDIK_TEST(test_matcher_fmr_bad_magic_and_version),
        SIDIK_TEST(test_matcher_fmr_bad_fields),
        SIDIK_TEST(test_matcher_fmr_large_iso_record),
        SIDIK_TEST(test_matcher_fmr_random_round_trip),
        SIDIK_TEST(test_matcher_fmr_encoder_view_numbers),
        SIDIK_TEST(test_matcher_fmr_encoder_refusals),
        SIDIK_TEST(test_matcher_fmr_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
