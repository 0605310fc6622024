/*
 * Finger minutiae record codecs, part 2: ANSI/INCITS 378-2004 (both length
 * forms), ISO/IEC 19794-2:2011, version 030 records that are not ISO 2011,
 * and normalisation of other resolutions to 500 dpi.
 *
 * Some records built here are also fuzzing seeds (codec_save_seed).
 */
#include "codec_build.h"

#include <stdio.h>
#include <string.h>

#include "sidik/alloc.h"
#include "sidik/err.h"
#include "sidik/template.h"

static sidik_fmr *decode_ok(const uint8_t *p, size_t n, sidik_fmr_format format)
{
    sidik_fmr *f = sidik_xmalloc(sizeof *f);
    const char *why = NULL;
    int rc = sidik_fmr_decode(p, n, f, &why);
    if (rc != 0)
        fail_msg("decode: %s: %s", sidik_err_name(rc), why);
    assert_int_equal(f->format, format);
    return f;
}

/* ISO angle bytes as ANSI 2-degree units, rounded: what an ANSI writer holding
 * the same minutiae would store. */
static void to_ansi(const fmr_min *iso, fmr_min *ansi, size_t count)
{
    for (size_t j = 0; j < count; j++) {
        ansi[j] = iso[j];
        ansi[j].angle = (uint8_t)(((unsigned)iso[j].angle * 90 + 64) / 128 % 180);
    }
}

static void assert_same_but_angles(const sidik_fmr *a, const sidik_fmr *b)
{
    assert_int_equal(a->nviews, b->nviews);
    for (uint32_t i = 0; i < a->nviews; i++) {
        const sidik_template *s = &a->views[i], *t = &b->views[i];
        assert_int_equal(s->width, t->width);
        assert_int_equal(s->height, t->height);
        assert_int_equal(s->position, t->position);
        assert_int_equal(s->impression, t->impression);
        assert_int_equal(s->quality, t->quality);
        assert_int_equal(s->count, t->count);
        for (unsigned j = 0; j < s->count; j++) {
            assert_int_equal(s->m[j].x, t->m[j].x);
            assert_int_equal(s->m[j].y, t->m[j].y);
            assert_int_equal(s->m[j].type, t->m[j].type);
            assert_int_equal(s->m[j].quality, t->m[j].quality);
            uint8_t d = (uint8_t)(s->m[j].angle - t->m[j].angle);
            assert_true(d <= 1 || d == 255); /* within one unit, modulo a turn */
        }
    }
}

static void test_matcher_fmr_ansi2004_matches_iso2005(void **state)
{
    (void)state;
    fmr_min ansi_m[CODEC_DEMO_COUNT];
    to_ansi(codec_demo_minutiae, ansi_m, CODEC_DEMO_COUNT);
    fmr_view iso_v[2] = {{2, 0, 1, 70, CODEC_DEMO_COUNT, codec_demo_minutiae, 0},
                         {7, 0, 0, 30, 3, codec_demo_minutiae + 2, 5}};
    fmr_view ansi_v[2] = {{2, 0, 1, 70, CODEC_DEMO_COUNT, ansi_m, 0},
                          {7, 0, 0, 30, 3, ansi_m + 2, 5}};
    fmr_spec iso_s = codec_demo_spec(iso_v, 2), ansi_s = codec_demo_spec(ansi_v, 2);
    uint8_t iso[512], shrt[512], lng[512];
    size_t n_iso = build_iso2005(&iso_s, iso, sizeof iso);
    size_t n_short = build_ansi2004(&ansi_s, false, shrt, sizeof shrt);
    size_t n_long = build_ansi2004(&ansi_s, true, lng, sizeof lng);
    assert_int_equal(n_short, n_iso + 2);
    assert_int_equal(n_long, n_iso + 6);
    codec_save_seed("ansi2004_short.fmr", shrt, n_short);
    codec_save_seed("ansi2004_long_form_small.fmr", lng, n_long);

    sidik_fmr *want = decode_ok(iso, n_iso, SIDIK_FMR_ISO_2005);
    sidik_fmr *a = decode_ok(shrt, n_short, SIDIK_FMR_ANSI_2004);
    /* 378-2004 asks for the long form only above 65535 bytes; a small record
     * written long is still unambiguous and is read. */
    sidik_fmr *b = decode_ok(lng, n_long, SIDIK_FMR_ANSI_2004);
    assert_same_but_angles(want, a);
    assert_same_but_angles(want, b);
    assert_memory_equal(a->views, b->views, 2 * sizeof a->views[0]);
    sidik_free(want);
    sidik_free(a);
    sidik_free(b);
}

/* A record above 65535 bytes needs the long form; ISO reads its first four
 * length bytes as n >> 16, which is not n. */
static void test_matcher_fmr_ansi2004_long_record(void **state)
{
    (void)state;
    fmr_min ansi_m[CODEC_DEMO_COUNT];
    to_ansi(codec_demo_minutiae, ansi_m, CODEC_DEMO_COUNT);
    fmr_view iso_v[2] = {{1, 0, 0, 0, CODEC_DEMO_COUNT, codec_demo_minutiae, 40000},
                         {1, 1, 0, 0, CODEC_DEMO_COUNT, codec_demo_minutiae, 40000}};
    fmr_view ansi_v[2] = {{1, 0, 0, 0, CODEC_DEMO_COUNT, ansi_m, 40000},
                          {1, 1, 0, 0, CODEC_DEMO_COUNT, ansi_m, 40000}};
    fmr_spec iso_s = codec_demo_spec(iso_v, 2), ansi_s = codec_demo_spec(ansi_v, 2);
    size_t cap = 100000;
    uint8_t *iso = sidik_xmalloc(cap), *ansi = sidik_xmalloc(cap);
    size_t n_iso = build_iso2005(&iso_s, iso, cap);
    size_t n = build_ansi2004(&ansi_s, true, ansi, cap);
    assert_true(n > 65535);
    sidik_fmr *want = decode_ok(iso, n_iso, SIDIK_FMR_ISO_2005);
    sidik_fmr *got = decode_ok(ansi, n, SIDIK_FMR_ANSI_2004);
    assert_same_but_angles(want, got);
    const char *longer = "input ends before the record length its header declares";
    for (size_t k = 12; k < n; k += 997)
        assert_decode_fails(ansi, k, SIDIK_ETRUNCATED, longer);
    assert_decode_fails(ansi, n - 1, SIDIK_ETRUNCATED, longer);
    sidik_free(want);
    sidik_free(got);
    sidik_free(iso);
    sidik_free(ansi);
}

static void test_matcher_fmr_ansi2004_hostile(void **state)
{
    (void)state;
    fmr_min ansi_m[CODEC_DEMO_COUNT];
    to_ansi(codec_demo_minutiae, ansi_m, CODEC_DEMO_COUNT);
    fmr_view v = {1, 0, 0, 0, CODEC_DEMO_COUNT, ansi_m, 0};
    fmr_spec s = codec_demo_spec(&v, 1);
    uint8_t rec[512];
    size_t n = build_ansi2004(&s, false, rec, sizeof rec);
    const char *longer = "input ends before the record length its header declares";
    const char *shorter = "bytes follow the end of the record its length field declares";
    for (size_t k = 0; k < n; k++) {
        sidik_fmr *f = sidik_xmalloc(sizeof *f);
        const char *why = NULL;
        assert_int_equal(sidik_fmr_decode(rec, k, f, &why), SIDIK_ETRUNCATED);
        assert_non_null(why);
        sidik_free(f);
    }
    memset(rec + n, 0, 10);
    assert_decode_fails(rec, n + 10, SIDIK_ETRAILING, shorter);
    put_be16(rec + 8, (unsigned)n + 1);
    assert_decode_fails(rec, n, SIDIK_ETRUNCATED, longer);
    put_be16(rec + 8, (unsigned)n - 1);
    assert_decode_fails(rec, n, SIDIK_ETRAILING, shorter);
    put_be16(rec + 8, (unsigned)n);

    /* 180 two-degree units would be a full turn: not an ANSI angle. */
    uint8_t bad[512];
    memcpy(bad, rec, n);
    bad[26 + 4 + 4] = 180;
    assert_decode_fails(bad, n, SIDIK_ERANGE, "minutia angle is above 179 (ANSI 2-degree units)");
    bad[26 + 4 + 4] = 255;
    assert_decode_fails(bad, n, SIDIK_ERANGE, "minutia angle is above 179 (ANSI 2-degree units)");
    memcpy(bad, rec, n);
    bad[25] = 1;
    assert_decode_fails(bad, n, SIDIK_EFORMAT, "reserved byte of the general header is not 0");
    memcpy(bad, rec, n);
    put_be16(bad + 20, 0); /* x resolution */
    assert_decode_fails(bad, n, SIDIK_EFORMAT, "horizontal resolution is zero");
    memcpy(bad, rec, n);
    bad[24] = 21;
    assert_decode_fails(bad, n, SIDIK_ERANGE, "record holds more than 20 finger views");
}

static const uint8_t rep_quality[] = {60, 255};

static void test_matcher_fmr_iso2011_decodes(void **state)
{
    (void)state;
    /* The same minutiae, once with 6-byte minutiae and special qualities,
     * once with 5-byte minutiae at 1000 dpi and doubled coordinates. */
    fmr_min six[CODEC_DEMO_COUNT];
    memcpy(six, codec_demo_minutiae, sizeof six);
    six[0].quality = 254; /* not computed */
    six[2].quality = 255; /* failed */
    fmr_min five[CODEC_DEMO_COUNT];
    for (unsigned j = 0; j < CODEC_DEMO_COUNT; j++) {
        five[j] = codec_demo_minutiae[j];
        five[j].x = (uint16_t)(2 * five[j].x);
        five[j].y = (uint16_t)(2 * five[j].y);
    }
    fmr11_rep reps[2] = {
        {2, 0, 1, 197, 197, 300, 400, 2, rep_quality, 2, 6, CODEC_DEMO_COUNT, six, 7},
        {3, 0, 0, 394, 394, 600, 800, 0, NULL, 0, 5, CODEC_DEMO_COUNT, five, 0},
    };
    uint8_t rec[512];
    size_t n = build_iso2011(reps, 2, true, rec, sizeof rec);
    codec_save_seed("iso2011_two_reps.fmr", rec, n);
    sidik_fmr *f = decode_ok(rec, n, SIDIK_FMR_ISO_2011);
    assert_int_equal(f->nviews, 2);
    const sidik_template *a = &f->views[0], *b = &f->views[1];
    assert_int_equal(a->position, 2);
    assert_int_equal(a->impression, 1);
    assert_int_equal(a->quality, 60);
    assert_int_equal(b->position, 3);
    assert_int_equal(b->quality, 0);
    assert_int_equal(a->width, 300);
    assert_int_equal(b->width, 300);
    assert_int_equal(b->height, 400);
    assert_int_equal(a->count, CODEC_DEMO_COUNT);
    assert_int_equal(b->count, CODEC_DEMO_COUNT);
    for (unsigned j = 0; j < CODEC_DEMO_COUNT; j++) {
        const fmr_min *m = &codec_demo_minutiae[j];
        assert_int_equal(a->m[j].x, m->x);
        assert_int_equal(a->m[j].y, m->y);
        assert_int_equal(a->m[j].angle, m->angle);
        assert_int_equal(a->m[j].type, m->type);
        assert_int_equal(a->m[j].quality, j == 0 || j == 2 ? 0 : m->quality);
        assert_int_equal(b->m[j].x, m->x);
        assert_int_equal(b->m[j].y, m->y);
        assert_int_equal(b->m[j].angle, m->angle);
        assert_int_equal(b->m[j].quality, 0); /* 5-byte minutiae carry none */
    }
    /* Same sizes after normalisation, so it re-encodes as ISO 2005. */
    uint8_t out[512];
    size_t len = 0;
    assert_int_equal(sidik_fmr_encode_iso2005(f, out, sizeof out, &len), 0);
    sidik_fmr *g = decode_ok(out, len, SIDIK_FMR_ISO_2005);
    assert_memory_equal(g->views, f->views, 2 * sizeof f->views[0]);
    sidik_free(g);
    sidik_free(f);

    /* Without the certification flag there are no certification counts. */
    n = build_iso2011(reps, 1, false, rec, sizeof rec);
    codec_save_seed("iso2011_uncertified.fmr", rec, n);
    f = decode_ok(rec, n, SIDIK_FMR_ISO_2011);
    assert_int_equal(f->nviews, 1);
    assert_int_equal(f->views[0].count, CODEC_DEMO_COUNT);
    sidik_free(f);
}

/* Representations of different image sizes decode, but ISO 2005 has one
 * size per record, so the encoder refuses them: the one documented case where
 * a decoded record does not re-encode. */
static void test_matcher_fmr_iso2011_sizes_differ(void **state)
{
    (void)state;
    fmr11_rep reps[2] = {
        {.position = 2,
         .xres = 197,
         .yres = 197,
         .width = 300,
         .height = 400,
         .field = 5,
         .count = CODEC_DEMO_COUNT,
         .m = codec_demo_minutiae},
        {.position = 3,
         .xres = 197,
         .yres = 197,
         .width = 320,
         .height = 400,
         .field = 5,
         .count = CODEC_DEMO_COUNT,
         .m = codec_demo_minutiae},
    };
    uint8_t rec[512];
    size_t n = build_iso2011(reps, 2, false, rec, sizeof rec);
    codec_save_seed("iso2011_sizes_differ.fmr", rec, n);
    sidik_fmr *f = decode_ok(rec, n, SIDIK_FMR_ISO_2011);
    assert_int_equal(f->views[0].width, 300);
    assert_int_equal(f->views[1].width, 320);
    uint8_t out[512];
    size_t len = 0;
    assert_int_equal(sidik_fmr_encode_iso2005(f, out, sizeof out, &len), SIDIK_ERANGE);
    f->views[1].width = 300;
    assert_int_equal(sidik_fmr_encode_iso2005(f, out, sizeof out, &len), 0);
    sidik_free(f);
}

static size_t one_rep(fmr11_rep *r, uint8_t *rec, size_t cap)
{
    *r = (fmr11_rep){.position = 1,
                     .xres = 197,
                     .yres = 197,
                     .width = 300,
                     .height = 400,
                     .nquality = 2,
                     .quality = rep_quality,
                     .ncert = 1,
                     .field = 6,
                     .count = CODEC_DEMO_COUNT,
                     .m = codec_demo_minutiae};
    return build_iso2011(r, 1, true, rec, cap);
}

/* Offsets inside a one_rep() record: representation at 15, two quality
 * blocks and one certification block before the finger fields. */
enum {
    R11_LEN = 15,
    R11_NQUALITY = 15 + 18,
    R11_QUALITY0 = R11_NQUALITY + 1,
    R11_POSITION = R11_NQUALITY + 1 + 10 + 1 + 3,
    R11_IMPRESSION = R11_POSITION + 6,
    R11_FIELD = R11_POSITION + 11,
    R11_COUNT = R11_FIELD + 1,
    R11_MINUTIAE = R11_COUNT + 1,
};

static void test_matcher_fmr_iso2011_hostile(void **state)
{
    (void)state;
    fmr11_rep r;
    uint8_t rec[512], bad[512];
    size_t n = one_rep(&r, rec, sizeof rec);
    sidik_fmr *f = decode_ok(rec, n, SIDIK_FMR_ISO_2011);
    assert_int_equal(f->views[0].position, 1);
    sidik_free(f);
    assert_int_equal(rec[R11_POSITION], 1);
    assert_int_equal(rec[R11_FIELD] >> 4, 6);

    for (size_t k = 0; k < n; k++) {
        f = sidik_xmalloc(sizeof *f);
        const char *why = NULL;
        assert_int_equal(sidik_fmr_decode(rec, k, f, &why), SIDIK_ETRUNCATED);
        assert_non_null(why);
        sidik_free(f);
    }
    memset(rec + n, 0xee, 3);
    assert_decode_fails(rec, n + 3, SIDIK_ETRAILING,
                        "bytes follow the end of the record its length field declares");

#define BAD(mutation, len, rc, why)                   \
    do {                                              \
        memcpy(bad, rec, n);                          \
        mutation;                                     \
        assert_decode_fails(bad, (len), (rc), (why)); \
    } while (0)
    BAD(put_be32(bad + 8, 14), n, SIDIK_EFORMAT,
        "record length is smaller than the 15-byte ISO 2011 header");
    BAD(put_be32(bad + 8, 0), n, SIDIK_EFORMAT,
        "record length is smaller than the 15-byte ISO 2011 header");
    BAD(bad[14] = 2, n, SIDIK_EFORMAT, "certification flag is neither 0 nor 1");
    BAD(bad[R11_FIELD] = 0x41, n, SIDIK_EFORMAT, "minutia field length is neither 5 nor 6");
    BAD(bad[R11_FIELD] = 0x71, n, SIDIK_EFORMAT, "minutia field length is neither 5 nor 6");
    BAD(bad[R11_QUALITY0] = 150, n, SIDIK_ERANGE, "quality block score is above 100");
    BAD(bad[R11_QUALITY0 + 5] = 101, n, SIDIK_ERANGE, "quality block score is above 100");
    BAD(bad[R11_POSITION] = 11, n, SIDIK_ERANGE, "finger position is above 10");
    BAD(bad[R11_IMPRESSION] = 24, n, SIDIK_ERANGE, "impression type is above 15");
    BAD(bad[R11_MINUTIAE + 5] = 200, n, SIDIK_ERANGE, "minutia quality is above 100");
    BAD(bad[R11_MINUTIAE] |= 0xc0, n, SIDIK_ERANGE, "minutia type is 3, which no standard defines");
    BAD(bad[R11_COUNT] = 193, n, SIDIK_ERANGE, "finger view holds more than 192 minutiae");
    BAD(bad[R11_COUNT] += 1, n, SIDIK_EFORMAT, "minutiae run past the representation length");
    BAD(bad[R11_NQUALITY] = 40, n, SIDIK_EFORMAT,
        "quality blocks run past the representation length");
    BAD(put_be16(bad + R11_POSITION + 2, 0), n, SIDIK_EFORMAT, "horizontal resolution is zero");
    BAD(put_be16(bad + R11_POSITION + 9, 0), n, SIDIK_EFORMAT, "image height is zero");
    /* A representation length that breaks the chain: not ISO 2011 at all. */
    const char *not_iso =
        "version 030 record whose representation lengths do not add up to its length: not "
        "ISO/IEC 19794-2:2011, and ANSI/INCITS 378-2009 (also 030) is not supported";
    BAD(put_be32(bad + R11_LEN, (uint32_t)(n - 15 - 1)), n, SIDIK_EVERSION, not_iso);
    BAD(put_be32(bad + R11_LEN, 3), n, SIDIK_EVERSION, not_iso);
    BAD(put_be16(bad + 12, 2), n, SIDIK_EVERSION, not_iso);

    /* One byte of padding inside the representation, both lengths grown. */
    memcpy(bad, rec, n);
    bad[n] = 0;
    put_be32(bad + 8, (uint32_t)n + 1);
    put_be32(bad + R11_LEN, (uint32_t)(n + 1 - 15));
    assert_decode_fails(bad, n + 1, SIDIK_EFORMAT,
                        "representation length exceeds the finger view it holds");
    /* The extended data length claims the padding and more. */
    put_be16(bad + n - 2, 2);
    assert_decode_fails(bad, n + 1, SIDIK_EFORMAT,
                        "extended data block runs past the representation length");
    put_be16(bad + n - 2, 1);
    f = decode_ok(bad, n + 1, SIDIK_FMR_ISO_2011);
    sidik_free(f);

    /* No representations: the chain is trivially complete, the count not. */
    uint8_t empty[15];
    memcpy(empty, rec, 15);
    put_be32(empty + 8, 15);
    put_be16(empty + 12, 0);
    assert_decode_fails(empty, 15, SIDIK_ERANGE, "record holds no finger views");
#undef BAD
}

/* A representation cut short at each of its parts, with the representation
 * and record lengths shrunk to match, so only the inner structure lies. */
static void test_matcher_fmr_iso2011_short_representation(void **state)
{
    (void)state;
    fmr11_rep r;
    uint8_t rec[512], bad[512];
    size_t n = one_rep(&r, rec, sizeof rec);
    assert_int_equal(n, 15 + 84);
    struct {
        size_t rep_len;
        const char *why;
    } cuts[] = {
        {18, "representation header runs past the representation length"},
        {28, "quality blocks run past the representation length"},
        {29, "certification block count runs past the representation length"},
        {31, "certification blocks run past the representation length"},
        {45, "finger view fields run past the representation length"},
        {46, "minutiae run past the representation length"},
        {81, "minutiae run past the representation length"},
        {82, "extended data length field runs past the representation length"},
        {83, "extended data length field runs past the representation length"},
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t len = 15 + cuts[i].rep_len;
        memcpy(bad, rec, len);
        put_be32(bad + 8, (uint32_t)len);
        put_be32(bad + R11_LEN, (uint32_t)cuts[i].rep_len);
        assert_decode_fails(bad, len, SIDIK_EFORMAT, cuts[i].why);
    }
}

static void test_matcher_fmr_iso2011_view_limit(void **state)
{
    (void)state;
    fmr11_rep reps[21];
    for (unsigned i = 0; i < 21; i++)
        reps[i] = (fmr11_rep){.position = (uint8_t)(i % 11),
                              .xres = 197,
                              .yres = 197,
                              .width = 300,
                              .height = 400,
                              .field = 5,
                              .count = 2,
                              .m = codec_demo_minutiae};
    uint8_t rec[2048];
    size_t n = build_iso2011(reps, 20, false, rec, sizeof rec);
    sidik_fmr *f = decode_ok(rec, n, SIDIK_FMR_ISO_2011);
    assert_int_equal(f->nviews, 20);
    sidik_free(f);
    n = build_iso2011(reps, 21, false, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "record holds more than 20 finger views");
}

/* An ANSI/INCITS 378-2009 record as FingerprintIO writes one (21-byte header,
 * per-view geometry): version 030 like ISO 2011, refused as unsupported. */
static void test_matcher_fmr_ansi2009_refused(void **state)
{
    (void)state;
    uint8_t rec[256];
    tbuf b = {rec, 0, sizeof rec};
    tb_u32(&b, 0x464d5200);
    tb_u32(&b, 0x30333000);
    tb_u32(&b, 0);
    tb_u16(&b, 0x0033); /* vendor */
    tb_u16(&b, 0);      /* subformat */
    tb_u8(&b, 0x80);    /* certified sensor */
    tb_u16(&b, 0x0123); /* sensor id */
    tb_u8(&b, 1);       /* views */
    tb_u8(&b, 0);
    tb_u8(&b, 2);         /* position */
    tb_u8(&b, 0);         /* view */
    tb_u8(&b, 0);         /* impression */
    tb_u8(&b, 80);        /* quality */
    tb_u32(&b, 0x330001); /* quality algorithm vendor, id */
    tb_u16(&b, 300);
    tb_u16(&b, 400);
    tb_u16(&b, 197);
    tb_u16(&b, 197);
    tb_u8(&b, CODEC_DEMO_COUNT);
    for (unsigned j = 0; j < CODEC_DEMO_COUNT; j++) {
        tb_u16(&b, (unsigned)codec_demo_minutiae[j].type << 14 | codec_demo_minutiae[j].x);
        tb_u16(&b, codec_demo_minutiae[j].y);
        tb_u8(&b, codec_demo_minutiae[j].angle % 180);
        tb_u8(&b, 254);
    }
    tb_u16(&b, 0);
    put_be32(rec + 8, (uint32_t)b.n);
    codec_save_seed("ansi2009_refused.fmr", rec, b.n);
    assert_decode_fails(rec, b.n, SIDIK_EVERSION,
                        "version 030 record whose representation lengths do not add up to its "
                        "length: not ISO/IEC 19794-2:2011, and ANSI/INCITS 378-2009 (also 030) is "
                        "not supported");
}

/* A 1000 dpi record (394 px/cm) with doubled coordinates is the same finger
 * as the 500 dpi one. */
static void test_matcher_fmr_resolution_scaling(void **state)
{
    (void)state;
    fmr_min dbl[CODEC_DEMO_COUNT];
    for (unsigned j = 0; j < CODEC_DEMO_COUNT; j++) {
        dbl[j] = codec_demo_minutiae[j];
        dbl[j].x = (uint16_t)(2 * dbl[j].x);
        dbl[j].y = (uint16_t)(2 * dbl[j].y);
    }
    fmr_view v500 = {1, 0, 0, 0, CODEC_DEMO_COUNT, codec_demo_minutiae, 0};
    fmr_view v1000 = {1, 0, 0, 0, CODEC_DEMO_COUNT, dbl, 0};
    fmr_spec s500 = codec_demo_spec(&v500, 1);
    fmr_spec s1000 = {600, 800, 394, 394, 1, &v1000};
    uint8_t a[512], b[512];
    size_t na = build_iso2005(&s500, a, sizeof a);
    size_t nb = build_iso2005(&s1000, b, sizeof b);
    codec_save_seed("iso2005_1000dpi.fmr", b, nb);
    sidik_fmr *fa = decode_ok(a, na, SIDIK_FMR_ISO_2005);
    sidik_fmr *fb = decode_ok(b, nb, SIDIK_FMR_ISO_2005);
    assert_memory_equal(&fa->views[0], &fb->views[0], sizeof fa->views[0]);
    sidik_free(fb);

    /* Each axis by its own resolution: x at 1000 dpi, y at 500. */
    fmr_min xonly[CODEC_DEMO_COUNT];
    for (unsigned j = 0; j < CODEC_DEMO_COUNT; j++) {
        xonly[j] = codec_demo_minutiae[j];
        xonly[j].x = (uint16_t)(2 * xonly[j].x);
    }
    fmr_view vx = {1, 0, 0, 0, CODEC_DEMO_COUNT, xonly, 0};
    fmr_spec sx = {600, 400, 394, 197, 1, &vx};
    nb = build_iso2005(&sx, b, sizeof b);
    fb = decode_ok(b, nb, SIDIK_FMR_ISO_2005);
    assert_memory_equal(&fa->views[0], &fb->views[0], sizeof fa->views[0]);
    sidik_free(fb);
    sidik_free(fa);
}

static void test_matcher_fmr_resolution_rounding(void **state)
{
    (void)state;
    /* 394 px/cm halves: 3 -> 1.5 -> 2 (halves round up). */
    fmr_min m[2] = {{3, 5, 1, 0, 0}, {1, 1, 1, 0, 0}};
    fmr_view v = {1, 0, 0, 0, 1, m, 0};
    fmr_spec s = {11, 11, 394, 394, 1, &v};
    uint8_t rec[128];
    size_t n = build_iso2005(&s, rec, sizeof rec);
    sidik_fmr *f = decode_ok(rec, n, SIDIK_FMR_ISO_2005);
    assert_int_equal(f->views[0].width, 6);
    assert_int_equal(f->views[0].m[0].x, 2);
    assert_int_equal(f->views[0].m[0].y, 3);
    sidik_free(f);

    /* A 2-pixel-wide image at 1000 dpi is 1 pixel at 500; its minutia at
     * x = 1 rounds onto the edge and is kept on the last pixel. */
    s.width = 2;
    v.m = m + 1;
    n = build_iso2005(&s, rec, sizeof rec);
    f = decode_ok(rec, n, SIDIK_FMR_ISO_2005);
    assert_int_equal(f->views[0].width, 1);
    assert_int_equal(f->views[0].m[0].x, 0);
    uint8_t out[128];
    size_t len = 0;
    assert_int_equal(sidik_fmr_encode_iso2005(f, out, sizeof out, &len), 0);
    sidik_fmr *g = decode_ok(out, len, SIDIK_FMR_ISO_2005);
    assert_memory_equal(&g->views[0], &f->views[0], sizeof f->views[0]);
    sidik_free(g);
    sidik_free(f);

    /* Far above 500 dpi a 1-pixel image still has a pixel. */
    s.width = 1;
    s.xres = 2000;
    m[1].x = 0;
    n = build_iso2005(&s, rec, sizeof rec);
    f = decode_ok(rec, n, SIDIK_FMR_ISO_2005);
    assert_int_equal(f->views[0].width, 1);
    sidik_free(f);
}

/* Below 500 dpi sizes grow; what no longer fits is refused by name. */
static void test_matcher_fmr_resolution_overflow(void **state)
{
    (void)state;
    fmr_min m[1] = {{9000, 10, 1, 0, 0}};
    fmr_view v = {1, 0, 0, 0, 1, m, 0};
    fmr_spec s = {10000, 100, 98, 197, 1, &v};
    uint8_t rec[128];
    size_t n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "minutia x exceeds 14 bits at 500 dpi");
    s = (fmr_spec){100, 10000, 197, 98, 1, &v};
    m[0] = (fmr_min){10, 9000, 1, 0, 0};
    n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "minutia y exceeds 14 bits at 500 dpi");
    s = (fmr_spec){65535, 100, 98, 197, 1, &v};
    n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "image width exceeds 65535 pixels at 500 dpi");
    s = (fmr_spec){100, 65535, 197, 1, 1, &v};
    n = build_iso2005(&s, rec, sizeof rec);
    assert_decode_fails(rec, n, SIDIK_ERANGE, "image height exceeds 65535 pixels at 500 dpi");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_matcher_fmr_ansi2004_matches_iso2005),
        SIDIK_TEST(test_matcher_fmr_ansi2004_long_record),
        SIDIK_TEST(test_matcher_fmr_ansi2004_hostile),
        SIDIK_TEST(test_matcher_fmr_iso2011_decodes),
        SIDIK_TEST(test_matcher_fmr_iso2011_sizes_differ),
        SIDIK_TEST(test_matcher_fmr_iso2011_hostile),
        SIDIK_TEST(test_matcher_fmr_iso2011_short_representation),
        SIDIK_TEST(test_matcher_fmr_iso2011_view_limit),
        SIDIK_TEST(test_matcher_fmr_ansi2009_refused),
        SIDIK_TEST(test_matcher_fmr_resolution_scaling),
        SIDIK_TEST(test_matcher_fmr_resolution_rounding),
        SIDIK_TEST(test_matcher_fmr_resolution_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
