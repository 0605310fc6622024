/*
 * The packed form a gallery shard stores (sidik_fmr_pack / sidik_fmr_unpack,
 * matcher/codec_pack.c): round trips of real, synthetic and extreme records,
 * its size against ISO 2005's, and every malformed input with its exact
 * error: truncated at every byte, trailing bytes, unknown formats, widths
 * beyond their domain, padding, values outside their domain.
 */
#include "test_support.h"

#include "sidik/common.h"
#include "sidik/template.h"
#include "synth.h"
#include "fvc2002.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[SIDIK_FMR_PACKED_MAX + 8];

static void assert_fmr_equal(const sidik_fmr *a, const sidik_fmr *b)
{
    assert_int_equal(a->format, b->format);
    assert_int_equal(a->nviews, b->nviews);
    for (uint32_t i = 0; i < a->nviews; i++) {
        const sidik_template *x = &a->views[i], *y = &b->views[i];
        assert_memory_equal(x, y, 8 + x->count * sizeof x->m[0]);
    }
}

/* pack, unpack, pack again: the same record and the same bytes. */
static size_t round_trip(const sidik_fmr *in)
{
    static sidik_fmr back;
    static uint8_t again[SIDIK_FMR_PACKED_MAX];
    size_t len = 0, len2 = 0;
    assert_int_equal(sidik_fmr_pack(in, buf, sizeof buf, &len), 0);
    const char *why = "unset";
    assert_int_equal(sidik_fmr_unpack(buf, len, &back, &why), 0);
    assert_null(why);
    assert_fmr_equal(in, &back);
    assert_int_equal(sidik_fmr_pack(&back, again, sizeof again, &len2), 0);
    assert_int_equal(len2, len);
    assert_memory_equal(again, buf, len);
    return len;
}

static void test_pack_round_trips_synthetic_persons(void **state)
{
    (void)state;
    sidik_synth_params p;
    sidik_synth_params_default(&p);
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    static uint8_t iso[65536];
    size_t packed = 0, encoded = 0, minutiae = 0;
    for (uint64_t person = 1; person <= 200; person++) {
        assert_int_equal(sidik_synth_impression(&p, 3, person, 0, r, NULL, NULL), 0);
        packed += round_trip(r);
        size_t len;
        assert_int_equal(sidik_fmr_encode_iso2005(r, iso, sizeof iso, &len), 0);
        encoded += len;
        for (uint32_t v = 0; v < r->nviews; v++)
            minutiae += r->views[v].count;
    }
    print_message("200 synthetic persons: packed %.0f bytes each (%.2f a minutia), ISO 2005 %.0f\n",
                  packed / 200.0, (double)packed / (double)minutiae, encoded / 200.0);
    /* 34 bits a minutia at these widths against ISO's 48. */
    assert_true(packed * 10 < encoded * 8);
    sidik_free(r);
}

static void round_trip_each(void *ctx, const sidik_fmr *r)
{
    (void)ctx;
    round_trip(r);
}

static void test_pack_round_trips_fvc2002(void **state)
{
    (void)state;
    if (sidik_test_fvc2002_each(NULL, round_trip_each, NULL) == 0)
        print_message("FVC2002 data not found at %s; real-template part skipped\n",
                      SIDIK_FVC2002_DIR);
}

/* Every format, the most views, the most minutiae, the widest values, views
 * of different sizes, a view with no minutiae, qualities all equal. */
static void extreme(sidik_fmr *r, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    r->format = SIDIK_FMR_ANSI_2009;
    r->nviews = SIDIK_FMR_MAX_VIEWS;
    for (uint32_t v = 0; v < r->nviews; v++) {
        sidik_template *t = &r->views[v];
        t->width = v == 0 ? 16384 : (uint16_t)(100 + v * 37);
        t->height = v == 0 ? 16384 : (uint16_t)(1 + v * 53);
        t->position = (uint8_t)(v % 11);
        t->impression = (uint8_t)(v % 16);
        t->quality = (uint8_t)(v * 5);
        t->count = v == 1 ? 0 : v % 2 ? (uint8_t)(v * 9) : SIDIK_TMPL_MAX_MINUTIAE;
        for (unsigned j = 0; j < t->count; j++) {
            sidik_minutia *m = &t->m[j];
            m->x = (uint16_t)(j == 0 ? (uint64_t)(t->width - 1) : sidik_test_rand(&seed) % t->width);
            m->y = (uint16_t)(j == 0 ? (uint64_t)(t->height - 1) : sidik_test_rand(&seed) % t->height);
            m->angle = (uint8_t)sidik_test_rand(&seed);
            m->type = (uint8_t)(sidik_test_rand(&seed) % 3);
            m->quality = v == 2 ? 77 : (uint8_t)(sidik_test_rand(&seed) % 101);
        }
    }
}

static void test_pack_round_trips_extremes(void **state)
{
    (void)state;
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    for (int f = SIDIK_FMR_ISO_2005; f <= SIDIK_FMR_ANSI_2009; f++) {
        extreme(r, (uint64_t)f);
        r->format = (sidik_fmr_format)f;
        round_trip(r);
    }
    /* The largest size the header names is an upper bound. */
    extreme(r, 9);
    for (uint32_t v = 0; v < r->nviews; v++) {
        r->views[v].width = r->views[v].height = 16384;
        r->views[v].count = SIDIK_TMPL_MAX_MINUTIAE;
        for (unsigned j = 0; j < SIDIK_TMPL_MAX_MINUTIAE; j++)
            r->views[v].m[j] = (sidik_minutia){16383, 16383, 255, 2, (uint8_t)(j % 2 ? 100 : 0), 0};
    }
    size_t len = round_trip(r);
    assert_true(len <= SIDIK_FMR_PACKED_MAX);
    sidik_free(r);
}

static void test_pack_refuses_what_decode_would(void **state)
{
    (void)state;
    sidik_fmr *r = sidik_xcalloc(1, sizeof *r);
    size_t len = 0;
    extreme(r, 1);
    assert_int_equal(sidik_fmr_pack(NULL, buf, sizeof buf, &len), SIDIK_EINVAL);
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_fmr_pack(r, NULL, 10, &len), SIDIK_EINVAL);
    /* Too small: nothing written past cap, the size needed told. */
    size_t need;
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, &need), 0);
    memset(buf, 0xee, sizeof buf);
    assert_int_equal(sidik_fmr_pack(r, buf, need - 1, &len), SIDIK_ETOOBIG);
    assert_int_equal(len, need);
    assert_int_equal(buf[0], 0xee);
    assert_int_equal(sidik_fmr_pack(r, NULL, 0, &len), SIDIK_ETOOBIG);
    /* Each field outside its domain. */
    r->format = 0;
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, &len), SIDIK_ERANGE);
    extreme(r, 1);
    r->nviews = 0;
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, &len), SIDIK_ERANGE);
    extreme(r, 1);
    r->views[3].m[0].x = r->views[3].width;
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, &len), SIDIK_ERANGE);
    extreme(r, 1);
    r->views[4].m[1].quality = 101;
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, &len), SIDIK_ERANGE);
    extreme(r, 1);
    r->views[4].m[1].type = 3;
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, &len), SIDIK_ERANGE);
    extreme(r, 1);
    r->views[5].count = SIDIK_TMPL_MAX_MINUTIAE + 1;
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, &len), SIDIK_ERANGE);
    extreme(r, 1);
    r->views[0].width = 16385; /* coordinates beyond 14 bits */
    r->views[0].m[0].x = 16384;
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, &len), SIDIK_ERANGE);
    extreme(r, 1);
    for (uint32_t v = 0; v < r->nviews; v++)
        r->views[v].position = 3; /* 20 views of one finger */
    assert_int_equal(sidik_fmr_pack(r, buf, sizeof buf, &len), SIDIK_ERANGE);
    sidik_free(r);
}

/* A small valid packed record: one view of 5 x 4 pixels, three minutiae;
 * widths x 3, y 2, quality 2 bits from 10: 3 + 2 + 8 + 2 + 2 = 17 bits a
 * minutia, 51 bits, 7 bytes (5 padding bits). */
static size_t small(uint8_t *p)
{
    static sidik_fmr r;
    memset(&r, 0, sizeof r);
    r.format = SIDIK_FMR_ISO_2011;
    r.nviews = 1;
    r.views[0] = (sidik_template){.width = 5, .height = 4, .position = 2, .count = 3};
    r.views[0].m[0] = (sidik_minutia){4, 3, 200, 1, 10, 0};
    r.views[0].m[1] = (sidik_minutia){0, 0, 0, 2, 13, 0};
    r.views[0].m[2] = (sidik_minutia){2, 1, 7, 0, 12, 0};
    size_t len = 0;
    assert_int_equal(sidik_fmr_pack(&r, p, SIDIK_FMR_PACKED_MAX, &len), 0);
    assert_int_equal(len, 2 + 12 + 7);
    assert_int_equal(p[2 + 8], 3);
    assert_int_equal(p[2 + 9], 2);
    assert_int_equal(p[2 + 10], 2);
    assert_int_equal(p[2 + 11], 10);
    return len;
}

static void expect(const uint8_t *p, size_t n, int rc)
{
    static sidik_fmr out;
    const char *why = NULL;
    assert_int_equal(sidik_fmr_unpack(p, n, &out, &why), rc);
    assert_non_null(why);
    assert_true(why[0] != '\0');
}

static void test_unpack_refuses_malformed(void **state)
{
    (void)state;
    static sidik_fmr out;
    uint8_t p[64];
    size_t n = small(p);
    assert_int_equal(sidik_fmr_unpack(p, n, NULL, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_fmr_unpack(NULL, 1, &out, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_fmr_unpack(p, n, &out, NULL), 0);
    /* Truncated at every byte, and one byte too many. */
    for (size_t k = 0; k < n; k++)
        expect(p, k, SIDIK_ETRUNCATED);
    p[n] = 0;
    expect(p, n + 1, SIDIK_ETRAILING);
    /* Garbage: formats, view counts, widths, padding, sizes. */
    const struct {
        size_t at;
        uint8_t value;
        int rc;
    } cases[] = {
        {0, 0, SIDIK_EFORMAT},      {0, 5, SIDIK_EFORMAT},       {1, 0, SIDIK_ERANGE},
        {1, 21, SIDIK_ERANGE},      {2 + 8, 15, SIDIK_EFORMAT},  {2 + 9, 200, SIDIK_EFORMAT},
        {2 + 10, 8, SIDIK_EFORMAT}, {2 + 0, 0, SIDIK_EFORMAT},   /* width 0 (its high byte is 0) */
        {2 + 4, 11, SIDIK_ERANGE},  {2 + 5, 16, SIDIK_ERANGE},   {2 + 6, 101, SIDIK_ERANGE},
        {2 + 0, 4, SIDIK_ERANGE},   /* width 4: the first minutia's x = 4 is outside */
        {2 + 11, 99, SIDIK_ERANGE}, /* base 99: the second minutia's quality is 102 */
        {n - 1, 0xff, SIDIK_EFORMAT},                            /* padding bits set */
        {2 + 7, 2, SIDIK_ETRAILING},                              /* count says fewer */
        {2 + 7, 4, SIDIK_ETRUNCATED},                             /* count says more */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t q[64];
        memcpy(q, p, n);
        q[cases[c].at] = cases[c].value;
        expect(q, n, cases[c].rc);
    }
    /* Type 3: the first minutia's type bits (after x 3, y 2, angle 8). */
    uint8_t q[64];
    memcpy(q, p, n);
    q[14 + 1] |= 0x60; /* bits 13 and 14 of the stream */
    expect(q, n, SIDIK_ERANGE);
    /* More minutiae than a view may hold, with every width 0 (10 bits each). */
    uint8_t big[2 + 12 + 242];
    memset(big, 0, sizeof big);
    big[0] = SIDIK_FMR_ISO_2005, big[1] = 1, big[2] = 1, big[4] = 1, big[2 + 7] = 193;
    expect(big, sizeof big, SIDIK_ERANGE);
    /* 17 views of one finger position. */
    uint8_t views[2 + 17 * 12];
    memset(views, 0, sizeof views);
    views[0] = SIDIK_FMR_ISO_2005, views[1] = 17;
    for (int v = 0; v < 17; v++)
        views[2 + v * 12] = 1, views[2 + v * 12 + 2] = 1, views[2 + v * 12 + 4] = 6;
    expect(views, sizeof views, SIDIK_ERANGE);
    views[1] = 16;
    assert_int_equal(sidik_fmr_unpack(views, sizeof views - 12, &out, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_pack_round_trips_synthetic_persons),
        SIDIK_TEST(test_pack_round_trips_fvc2002),
        SIDIK_TEST(test_pack_round_trips_extremes),
        SIDIK_TEST(test_pack_refuses_what_decode_would),
        SIDIK_TEST(test_unpack_refuses_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
