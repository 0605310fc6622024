/*
 * Test-side writers for finger minutiae records, written from the layouts in
 * matcher/codec_*.c independently of the encoder, so the decoder is tested
 * against records the code under test did not produce. Every builder writes
 * a well-formed record; tests make it hostile by patching bytes at the
 * offsets named below.
 */
#ifndef SIDIK_TEST_CODEC_BUILD_H
#define SIDIK_TEST_CODEC_BUILD_H

#include "test_support.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ISO/IEC 19794-2:2005 offsets. */
enum {
    ISO_OFF_LEN = 8,
    ISO_OFF_WIDTH = 14,
    ISO_OFF_HEIGHT = 16,
    ISO_OFF_XRES = 18,
    ISO_OFF_YRES = 20,
    ISO_OFF_NVIEWS = 22,
    ISO_OFF_RESERVED = 23,
    ISO_OFF_VIEW = 24, /* first view: position, view/impression, quality, count */
    ISO_OFF_MINUTIAE = 28,
};

typedef struct fmr_min {
    uint16_t x, y; /* record units */
    uint8_t type;
    uint8_t angle; /* the byte as written: 256ths of a turn (ISO) or 2-degree units (ANSI) */
    uint8_t quality;
} fmr_min;

typedef struct fmr_view {
    uint8_t position, view, impression, quality;
    uint8_t count;
    const fmr_min *m;
    uint16_t ext; /* bytes of extended data written after the length field */
} fmr_view;

typedef struct fmr_spec {
    uint16_t width, height, xres, yres;
    uint8_t nviews;
    const fmr_view *v;
} fmr_spec;

/* One ISO/IEC 19794-2:2011 finger representation. */
typedef struct fmr11_rep {
    uint8_t position, number, impression;
    uint16_t xres, yres, width, height;
    uint8_t nquality;
    const uint8_t *quality; /* nquality scores */
    uint8_t ncert;          /* written only when the record's flag is set */
    uint8_t field;          /* minutia field length, 5 or 6 */
    uint8_t count;
    const fmr_min *m;
    uint16_t ext;
} fmr11_rep;

typedef struct tbuf {
    uint8_t *p;
    size_t n, cap;
} tbuf;

static inline void tb_u8(tbuf *b, unsigned v)
{
    assert_true(b->n < b->cap);
    b->p[b->n++] = (uint8_t)v;
}

static inline void tb_u16(tbuf *b, unsigned v)
{
    tb_u8(b, v >> 8);
    tb_u8(b, v);
}

static inline void tb_u32(tbuf *b, uint32_t v)
{
    tb_u16(b, v >> 16);
    tb_u16(b, v & 0xffff);
}

static inline void put_be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    put_be16(p, v >> 16);
    put_be16(p + 2, v & 0xffff);
}

/* Views and minutiae exactly as ISO 2005 and ANSI 2004 share them. */
static inline void tb_views2005(tbuf *b, const fmr_spec *s)
{
    for (unsigned i = 0; i < s->nviews; i++) {
        const fmr_view *v = &s->v[i];
        tb_u8(b, v->position);
        tb_u8(b, (unsigned)v->view << 4 | v->impression);
        tb_u8(b, v->quality);
        tb_u8(b, v->count);
        for (unsigned j = 0; j < v->count; j++) {
            tb_u16(b, (unsigned)v->m[j].type << 14 | v->m[j].x);
            tb_u16(b, v->m[j].y);
            tb_u8(b, v->m[j].angle);
            tb_u8(b, v->m[j].quality);
        }
        tb_u16(b, v->ext);
        for (unsigned k = 0; k < v->ext; k++)
            tb_u8(b, 0xa5 ^ k);
    }
}

static inline size_t build_iso2005(const fmr_spec *s, uint8_t *buf, size_t cap)
{
    tbuf b = {buf, 0, cap};
    tb_u32(&b, 0x464d5200); /* "FMR\0" */
    tb_u32(&b, 0x20323000); /* " 20\0" */
    tb_u32(&b, 0);          /* length, patched below */
    tb_u16(&b, 0);          /* capture equipment */
    tb_u16(&b, s->width);
    tb_u16(&b, s->height);
    tb_u16(&b, s->xres);
    tb_u16(&b, s->yres);
    tb_u8(&b, s->nviews);
    tb_u8(&b, 0);
    tb_views2005(&b, s);
    put_be32(buf + ISO_OFF_LEN, (uint32_t)b.n);
    return b.n;
}

/* ANSI/INCITS 378-2004; long_form writes 0x0000 + a 4-byte length whatever
 * the size (a test decides whether that is conforming). */
static inline size_t build_ansi2004(const fmr_spec *s, bool long_form, uint8_t *buf, size_t cap)
{
    tbuf b = {buf, 0, cap};
    tb_u32(&b, 0x464d5200);
    tb_u32(&b, 0x20323000);
    if (long_form) {
        tb_u16(&b, 0);
        tb_u32(&b, 0);
    } else {
        tb_u16(&b, 0);
    }
    tb_u32(&b, 0x00330001); /* CBEFF product id: any owner/type */
    tb_u16(&b, 0x1abc);     /* compliance + scanner id */
    tb_u16(&b, s->width);
    tb_u16(&b, s->height);
    tb_u16(&b, s->xres);
    tb_u16(&b, s->yres);
    tb_u8(&b, s->nviews);
    tb_u8(&b, 0);
    tb_views2005(&b, s);
    if (long_form)
        put_be32(buf + 10, (uint32_t)b.n);
    else
        put_be16(buf + 8, (unsigned)b.n);
    return b.n;
}

static inline size_t build_iso2011(const fmr11_rep *r, uint16_t nreps, bool certified, uint8_t *buf,
                                   size_t cap)
{
    tbuf b = {buf, 0, cap};
    tb_u32(&b, 0x464d5200);
    tb_u32(&b, 0x30333000); /* "030\0" */
    tb_u32(&b, 0);
    tb_u16(&b, nreps);
    tb_u8(&b, certified);
    for (unsigned i = 0; i < nreps; i++) {
        const fmr11_rep *v = &r[i];
        size_t start = b.n;
        tb_u32(&b, 0);
        tb_u16(&b, 2026); /* capture date and time */
        tb_u8(&b, 11);
        tb_u8(&b, 22);
        tb_u8(&b, 11);
        tb_u8(&b, 2);
        tb_u8(&b, 3);
        tb_u16(&b, 456);
        tb_u8(&b, 1);       /* device technology */
        tb_u16(&b, 0x0033); /* vendor */
        tb_u16(&b, 7);      /* device type */
        tb_u8(&b, v->nquality);
        for (unsigned q = 0; q < v->nquality; q++) {
            tb_u8(&b, v->quality[q]);
            tb_u16(&b, 0x0033);
            tb_u16(&b, 1 + q);
        }
        if (certified) {
            tb_u8(&b, v->ncert);
            for (unsigned c = 0; c < v->ncert; c++) {
                tb_u16(&b, 0x0101);
                tb_u8(&b, 1);
            }
        }
        tb_u8(&b, v->position);
        tb_u8(&b, v->number);
        tb_u16(&b, v->xres);
        tb_u16(&b, v->yres);
        tb_u8(&b, v->impression);
        tb_u16(&b, v->width);
        tb_u16(&b, v->height);
        tb_u8(&b, (unsigned)v->field << 4 | 1);
        tb_u8(&b, v->count);
        for (unsigned j = 0; j < v->count; j++) {
            tb_u16(&b, (unsigned)v->m[j].type << 14 | v->m[j].x);
            tb_u16(&b, v->m[j].y);
            tb_u8(&b, v->m[j].angle);
            if (v->field == 6)
                tb_u8(&b, v->m[j].quality);
        }
        tb_u16(&b, v->ext);
        for (unsigned k = 0; k < v->ext; k++)
            tb_u8(&b, 0x5a ^ k);
        put_be32(buf + start, (uint32_t)(b.n - start));
    }
    put_be32(buf + 8, (uint32_t)b.n);
    return b.n;
}

/* With SIDIK_CODEC_CORPUS_OUT=<folder> set, tests write the records they
 * pass this into that folder: how the built seeds in
 * tests/fuzz/corpus/fmr_decode/ were made (the rest are FVC2002 records). */
static inline void codec_save_seed(const char *name, const uint8_t *p, size_t n)
{
    const char *dir = getenv("SIDIK_CODEC_CORPUS_OUT");
    if (dir == NULL)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* The minutiae most tests use: every type, corners of a 300 x 400 image,
 * angles across the turn. */
static const fmr_min codec_demo_minutiae[] = {
    {0, 0, 1, 0, 0},     {299, 399, 2, 255, 100}, {150, 200, 0, 64, 50},
    {1, 398, 1, 128, 1}, {298, 1, 2, 192, 99},    {42, 77, 1, 13, 0},
};
#define CODEC_DEMO_COUNT ((uint8_t)(sizeof codec_demo_minutiae / sizeof codec_demo_minutiae[0]))

static inline fmr_spec codec_demo_spec(const fmr_view *v, uint8_t nviews)
{
    fmr_spec s = {300, 400, 197, 197, nviews, v};
    return s;
}

/* Expects rc and a non-empty why; returns why for further checks. */
#define assert_decode_fails(p, n, rc_expected, why_expected)                       \
    do {                                                                           \
        sidik_fmr *f_ = sidik_xmalloc(sizeof *f_);                                 \
        const char *why_ = NULL;                                                   \
        int rc_ = sidik_fmr_decode((p), (n), f_, &why_);                           \
        sidik_free(f_);                                                            \
        if (rc_ != (rc_expected))                                                  \
            print_error("decode gave %s (%s), expected %s\n", sidik_err_name(rc_), \
                        why_ ? why_ : "no why", sidik_err_name(rc_expected));      \
        assert_int_equal(rc_, (rc_expected));                                      \
        assert_non_null(why_);                                                     \
        assert_string_equal(why_, (why_expected));                                 \
    } while (0)

#endif
