/*
 * The packed form of a decoded record (sidik_fmr_pack, template.h): what a
 * gallery shard keeps per person. Every field of sidik_fmr, nothing else,
 * bit-packed with the widths each view needs:
 *
 *   u8 format, u8 nviews,
 *   per view 12 bytes: u16 width, u16 height (little-endian), u8 position,
 *     u8 impression, u8 quality, u8 count, u8 x bits, u8 y bits,
 *     u8 quality bits, u8 quality base;
 *   then every view's minutiae in order, least significant bit first: x, y
 *   (their widths), angle (8 bits), type (2), quality - base (its width);
 *   zero bits to the byte.
 *
 * Why not the ISO record: its 6 bytes a minutia (14-bit coordinates, a
 * quality byte) make ten fingers about 2.4 KB, just over what LMDB keeps in
 * a leaf page (about 2 KB; larger values take whole 4 KiB overflow pages);
 * packed, sidik_synth's persons average 1,753 bytes (4.5 bytes a minutia
 * with the view heads; tests/unit/matcher/test_codec_pack.c prints it).
 * Minutiae keep their order: the matcher breaks ties by index.
 */
#include "codec_int.h"
#include "sidik/template.h"

#include <endian.h>
#include <string.h>

#define HEAD      2
#define VIEW_HEAD 12
#define COORD_BITS_MAX   14 /* sidik_fmr_decode refuses coordinates beyond 14 bits */
#define QUALITY_BITS_MAX 7  /* qualities are 0..100 */

static int bit_width(unsigned v)
{
    return v == 0 ? 0 : 32 - __builtin_clz(v);
}

/* The widths one view's minutiae need. */
static void view_widths(const sidik_template *t, uint8_t w[4])
{
    unsigned xmax = 0, ymax = 0, qmin = 100, qmax = 0;
    for (unsigned j = 0; j < t->count; j++) {
        const sidik_minutia *m = &t->m[j];
        xmax = m->x > xmax ? m->x : xmax;
        ymax = m->y > ymax ? m->y : ymax;
        qmin = m->quality < qmin ? m->quality : qmin;
        qmax = m->quality > qmax ? m->quality : qmax;
    }
    if (t->count == 0)
        qmin = qmax = 0;
    w[0] = (uint8_t)bit_width(xmax);
    w[1] = (uint8_t)bit_width(ymax);
    w[2] = (uint8_t)bit_width(qmax - qmin);
    w[3] = (uint8_t)qmin;
}

static size_t minutia_bits(const uint8_t w[4])
{
    return (size_t)w[0] + w[1] + 8 + 2 + w[2];
}

/* ---- bits ------------------------------------------------------------------ */

/* Fields of up to 16 bits, least significant bit first. Whole bytes at a
 * time: a person's 400 minutiae are 2,000 fields, read at every cold start. */
typedef struct {
    uint8_t *p;
    size_t bit;
} bit_writer;

static void put_bits(bit_writer *b, unsigned v, int n)
{
    uint32_t x = (uint32_t)v << (b->bit & 7); /* n <= 16: at most 23 bits */
    uint8_t *q = b->p + (b->bit >> 3);
    for (int k = 0; k < (int)((b->bit & 7) + (unsigned)n + 7) / 8; k++)
        q[k] |= (uint8_t)(x >> (8 * k));
    b->bit += (size_t)n;
}

typedef struct {
    const uint8_t *p, *end;
    uint64_t acc; /* bits read ahead, the next one lowest */
    int have;
} bit_reader;

/* At least 56 bits in acc, or every bit left (zeros after the end). Eight
 * bytes at once where there are eight: the whole bytes that fit below bit
 * 63 are kept, and the bits of the next byte that also land in acc are that
 * byte's own, so reading it again ORs in the same bits. */
static void refill(bit_reader *b)
{
    if (b->end - b->p >= 8) {
        uint64_t w;
        memcpy(&w, b->p, sizeof w);
        b->acc |= le64toh(w) << b->have;
        b->p += (63 - b->have) >> 3;
        b->have |= 56;
        return;
    }
    while (b->have <= 56) {
        uint64_t byte = b->p < b->end ? *b->p++ : 0;
        b->acc |= byte << b->have;
        b->have += 8;
    }
}

_Static_assert(2 * COORD_BITS_MAX + 8 + 2 + QUALITY_BITS_MAX <= 56,
               "one refill holds a whole minutia");

/* The next n bits, which refill has made sure are there. */
static unsigned take_bits(bit_reader *b, int n)
{
    unsigned v = (unsigned)(b->acc & ((1u << n) - 1));
    b->acc >>= n;
    b->have -= n;
    return v;
}

/* ---- pack ------------------------------------------------------------------- */

int sidik_fmr_pack(const sidik_fmr *in, uint8_t *buf, size_t cap, size_t *len)
{
    if (in == NULL || len == NULL || (buf == NULL && cap > 0))
        return SIDIK_EINVAL;
    /* Only what sidik_fmr_decode could have produced. */
    if (in->format < SIDIK_FMR_ISO_2005 || in->format > SIDIK_FMR_ANSI_2009 ||
        sidik__fmr_view_count(in->nviews, NULL) != 0 ||
        sidik__fmr_views_per_finger(in, NULL) != 0)
        return SIDIK_ERANGE;
    for (uint32_t i = 0; i < in->nviews; i++)
        if (!sidik__fmr_view_valid(&in->views[i]))
            return SIDIK_ERANGE;

    size_t bits = 0;
    for (uint32_t i = 0; i < in->nviews; i++) {
        uint8_t w[4];
        view_widths(&in->views[i], w);
        bits += in->views[i].count * minutia_bits(w);
    }
    *len = HEAD + in->nviews * VIEW_HEAD + (bits + 7) / 8;
    if (cap < *len)
        return SIDIK_ETOOBIG;

    memset(buf, 0, *len);
    buf[0] = (uint8_t)in->format;
    buf[1] = (uint8_t)in->nviews;
    bit_writer b = {buf + HEAD + in->nviews * VIEW_HEAD, 0};
    for (uint32_t i = 0; i < in->nviews; i++) {
        const sidik_template *t = &in->views[i];
        uint8_t *h = buf + HEAD + i * VIEW_HEAD, w[4];
        view_widths(t, w);
        h[0] = (uint8_t)t->width, h[1] = (uint8_t)(t->width >> 8);
        h[2] = (uint8_t)t->height, h[3] = (uint8_t)(t->height >> 8);
        h[4] = t->position, h[5] = t->impression, h[6] = t->quality, h[7] = t->count;
        memcpy(h + 8, w, 4);
        for (unsigned j = 0; j < t->count; j++) {
            const sidik_minutia *m = &t->m[j];
            put_bits(&b, m->x, w[0]);
            put_bits(&b, m->y, w[1]);
            put_bits(&b, m->angle, 8);
            put_bits(&b, m->type, 2);
            put_bits(&b, (unsigned)(m->quality - w[3]), w[2]);
        }
    }
    return 0;
}

/* ---- unpack ------------------------------------------------------------------ */

int sidik_fmr_unpack(const uint8_t *p, size_t n, sidik_fmr *out, const char **why)
{
    const char *ignore;
    if (why == NULL)
        why = &ignore;
    *why = NULL;
    if (out == NULL || (p == NULL && n > 0))
        return SIDIK_EINVAL;
    if (n < HEAD)
        return sidik__fmr_fail(why, SIDIK_ETRUNCATED, "packed record shorter than its head");
    if (p[0] < SIDIK_FMR_ISO_2005 || p[0] > SIDIK_FMR_ANSI_2009)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "packed record of an unknown format");
    int rc = sidik__fmr_view_count(p[1], why);
    if (rc != 0)
        return rc;
    const uint32_t nviews = p[1];
    if (n < HEAD + nviews * VIEW_HEAD)
        return sidik__fmr_fail(why, SIDIK_ETRUNCATED, "packed record shorter than its views");
    size_t bits = 0;
    for (uint32_t i = 0; i < nviews; i++) {
        const uint8_t *h = p + HEAD + i * VIEW_HEAD;
        if (h[8] > COORD_BITS_MAX || h[9] > COORD_BITS_MAX || h[10] > QUALITY_BITS_MAX)
            return sidik__fmr_fail(why, SIDIK_EFORMAT, "packed view with a field width too wide");
        bits += h[7] * minutia_bits(h + 8);
    }
    const size_t want = HEAD + nviews * VIEW_HEAD + (bits + 7) / 8;
    if (n < want)
        return sidik__fmr_fail(why, SIDIK_ETRUNCATED, "packed record shorter than its minutiae");
    if (n > want)
        return sidik__fmr_fail(why, SIDIK_ETRAILING, "bytes after the packed minutiae");
    if ((bits & 7) != 0 && (p[n - 1] >> (bits & 7)) != 0)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "packed record's padding bits are not zero");

    out->format = (sidik_fmr_format)p[0];
    out->nviews = nviews;
    bit_reader b = {p + HEAD + nviews * VIEW_HEAD, p + n, 0, 0};
    for (uint32_t i = 0; i < nviews; i++) {
        const uint8_t *h = p + HEAD + i * VIEW_HEAD;
        sidik_template *t = &out->views[i];
        memset(t, 0, sizeof *t);
        t->width = (uint16_t)(h[0] | h[1] << 8);
        t->height = (uint16_t)(h[2] | h[3] << 8);
        if (t->width == 0 || t->height == 0)
            return sidik__fmr_fail(why, SIDIK_EFORMAT, "packed view of zero image size");
        if ((rc = sidik__fmr_view_fields(h[4], h[5], h[6], t, why)) != 0)
            return rc;
        if (h[7] > SIDIK_TMPL_MAX_MINUTIAE)
            return sidik__fmr_fail(why, SIDIK_ERANGE, "packed view with too many minutiae");
        t->count = h[7];
        for (unsigned j = 0; j < t->count; j++) {
            sidik_minutia *m = &t->m[j];
            /* One refill per minutia: its fields are at most 45 bits. */
            if (b.have < (int)minutia_bits(h + 8))
                refill(&b);
            m->x = (uint16_t)take_bits(&b, h[8]);
            m->y = (uint16_t)take_bits(&b, h[9]);
            m->angle = (uint8_t)take_bits(&b, 8);
            m->type = (uint8_t)take_bits(&b, 2);
            unsigned q = h[11] + take_bits(&b, h[10]);
            if (m->x >= t->width || m->y >= t->height)
                return sidik__fmr_fail(why, SIDIK_ERANGE, "packed minutia outside the image");
            if (m->type > SIDIK_MINUTIA_BIFURCATION)
                return sidik__fmr_fail(why, SIDIK_ERANGE, "packed minutia of type 3");
            if (q > 100)
                return sidik__fmr_fail(why, SIDIK_ERANGE, "packed minutia quality above 100");
            m->quality = (uint8_t)q;
        }
    }
    return sidik__fmr_views_per_finger(out, why);
}
