/*
 * Finger minutiae records: telling the format apart, and the checks and
 * normalisation every format shares. The layouts themselves live in
 * codec_iso2005.c, codec_ansi2004.c and codec_iso2011.c; matcher/README.md
 * ("Template formats") says where each layout was established from.
 */
#include "codec_int.h"

#include <string.h>

static const uint8_t fmr_magic[4] = {'F', 'M', 'R', 0};

/* Rounds v * 197 / res to the nearest integer, halves up: a coordinate or
 * size at res pixels per centimetre expressed in 500 dpi pixels. v < 2^16 and
 * res > 0, so the product fits 32 bits. */
static uint32_t to_500dpi(uint32_t v, uint32_t res)
{
    return (v * SIDIK__FMR_PX_PER_CM + res / 2) / res;
}

int sidik__fmr_geom_apply(const sidik__fmr_geom *g, sidik_template *t, const char **why)
{
    if (g->width == 0)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "image width is zero");
    if (g->height == 0)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "image height is zero");
    if (g->xres == 0)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "horizontal resolution is zero");
    if (g->yres == 0)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "vertical resolution is zero");
    uint32_t w = to_500dpi(g->width, g->xres);
    uint32_t h = to_500dpi(g->height, g->yres);
    if (w > UINT16_MAX)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "image width exceeds 65535 pixels at 500 dpi");
    if (h > UINT16_MAX)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "image height exceeds 65535 pixels at 500 dpi");
    /* A one-pixel image at a resolution far above 500 dpi rounds to zero;
     * keep it one pixel wide so every minutia still has a place inside it
     * and the template re-encodes into a record that decodes. */
    t->width = (uint16_t)(w > 0 ? w : 1);
    t->height = (uint16_t)(h > 0 ? h : 1);
    return 0;
}

int sidik__fmr_minutia(const sidik__fmr_geom *g, const sidik_template *t, uint16_t xword,
                       uint16_t yword, uint8_t angle, uint8_t quality, sidik_minutia *m,
                       const char **why)
{
    unsigned type = xword >> 14;
    uint32_t x = xword & SIDIK__FMR_COORD_MAX;
    uint32_t y = yword & SIDIK__FMR_COORD_MAX;
    if (type == 3)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "minutia type is 3, which no standard defines");
    if (yword >> 14 != 0)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "reserved bits above minutia y are not zero");
    if (x >= g->width)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "minutia outside the image: x >= image width");
    if (y >= g->height)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "minutia outside the image: y >= image height");
    if (quality > 100)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "minutia quality is above 100");
    uint32_t sx = to_500dpi(x, g->xres);
    uint32_t sy = to_500dpi(y, g->yres);
    /* Rounding x and the width separately can put a minutia from the last
     * column onto the normalised edge; it was inside, so it stays inside. */
    if (sx >= t->width)
        sx = t->width - 1u;
    if (sy >= t->height)
        sy = t->height - 1u;
    /* Below 500 dpi coordinates grow; the 14 bits every format stores them
     * in must still hold them, or the template could not be re-encoded. */
    if (sx > SIDIK__FMR_COORD_MAX)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "minutia x exceeds 14 bits at 500 dpi");
    if (sy > SIDIK__FMR_COORD_MAX)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "minutia y exceeds 14 bits at 500 dpi");
    m->x = (uint16_t)sx;
    m->y = (uint16_t)sy;
    m->angle = angle;
    m->type = (uint8_t)type;
    m->quality = quality;
    m->reserved = 0;
    return 0;
}

int sidik__fmr_view_fields(uint8_t position, uint8_t impression, uint8_t quality, sidik_template *t,
                           const char **why)
{
    if (position > 10)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "finger position is above 10");
    /* The 2005 formats keep the impression type in 4 bits; a 2011 code that
     * does not fit could not be re-encoded, so it is refused by name. */
    if (impression > 15)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "impression type is above 15");
    if (quality > 100)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "finger quality is above 100");
    t->position = position;
    t->impression = impression;
    t->quality = quality;
    return 0;
}

bool sidik__fmr_view_valid(const sidik_template *t)
{
    if (t->width == 0 || t->height == 0 || t->position > 10 || t->impression > 15 ||
        t->quality > 100 || t->count > SIDIK_TMPL_MAX_MINUTIAE)
        return false;
    for (unsigned j = 0; j < t->count; j++) {
        const sidik_minutia *m = &t->m[j];
        if (m->type > SIDIK_MINUTIA_BIFURCATION || m->x >= t->width || m->y >= t->height ||
            m->x > SIDIK__FMR_COORD_MAX || m->y > SIDIK__FMR_COORD_MAX || m->quality > 100)
            return false;
    }
    return true;
}

int sidik__fmr_view_count(uint32_t nviews, const char **why)
{
    if (nviews == 0)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "record holds no finger views");
    if (nviews > SIDIK_FMR_MAX_VIEWS)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "record holds more than 20 finger views");
    return 0;
}

int sidik__fmr_views_per_finger(const sidik_fmr *f, const char **why)
{
    uint8_t seen[11] = {0};
    for (uint32_t i = 0; i < f->nviews; i++) {
        if (++seen[f->views[i].position] > SIDIK__FMR_MAX_VIEWS_PER_FINGER)
            return sidik__fmr_fail(why, SIDIK_ERANGE, "more than 16 views of one finger position");
    }
    return 0;
}

/*
 * Version " 20": ISO/IEC 19794-2:2005 or ANSI/INCITS 378-2004. Both start
 * "FMR\0 20\0"; they differ in the record length field that follows:
 *
 *   ISO 2005:  4 bytes at offset 8.
 *   ANSI 2004: 2 bytes at offset 8, or, when those are 0x0000, 4 bytes at
 *              offset 10 (meant for records above 65535 bytes).
 *
 * For a well-formed record exactly one reading equals n, so the format is
 * told by arithmetic, never guessed:
 *  - an ISO record below 64 KiB has 0x0000 in bytes 8-9 (the high half of its
 *    length), so ANSI reads the long form: (n << 16) | width, never n;
 *  - an ISO record of 64 KiB or more has n >> 16 in bytes 8-9: as an ANSI
 *    short length that is less than n;
 *  - an ANSI short record has n in bytes 8-9, so ISO reads (n << 16) | ...,
 *    more than n;
 *  - an ANSI long record has 0x0000 then n, so ISO reads n >> 16, less than n.
 *
 * When no reading equals n the input is refused, and the error is chosen
 * from the readings a conforming writer could have produced (ISO at least 24,
 * ANSI short at least 26, ANSI long above 65535): if one declares less than n
 * the input has trailing bytes, if one declares more it is truncated, and if
 * none is plausible the length field itself is malformed. That reads a
 * truncated or padded record correctly for every record size up to 1.7 MB
 * (26 << 16), far above the largest record this decoder accepts.
 */
static int decode_v20(const uint8_t *p, size_t n, sidik_fmr *out, const char **why)
{
    if (n < 12)
        return sidik__fmr_fail(why, SIDIK_ETRUNCATED, "input ends inside the record length field");
    uint32_t iso = sidik__be32(p + 8);
    uint16_t ansi_short = sidik__be16(p + 8);
    bool ansi_known = ansi_short != 0 || n >= 14;
    uint32_t ansi = ansi_short != 0 ? ansi_short : (n >= 14 ? sidik__be32(p + 10) : 0);
    size_t ansi_header = ansi_short != 0 ? SIDIK__FMR_ANSI2004_HEADER : SIDIK__FMR_ANSI2004_LONG;

    if (iso == n) {
        if (n < SIDIK__FMR_ISO2005_HEADER)
            return sidik__fmr_fail(why, SIDIK_EFORMAT,
                                   "record length is smaller than the 24-byte ISO 2005 header");
        return sidik__fmr_decode_iso2005(p, n, out, why);
    }
    if (ansi_known && ansi == n) {
        /* The long form for a record under 64 KiB is not what 378-2004 asks
         * for, but it is unambiguous, and NIST's BiomDI reads it too. */
        if (n < ansi_header)
            return sidik__fmr_fail(why, SIDIK_EFORMAT,
                                   "record length is smaller than the ANSI 378-2004 header");
        return sidik__fmr_decode_ansi2004(p, n, ansi_header, out, why);
    }

    bool shorter = false;
    bool longer = !ansi_known; /* the long ANSI length is not all there yet */
    if (iso >= SIDIK__FMR_ISO2005_HEADER) {
        shorter |= iso < n;
        longer |= iso > n;
    }
    if (ansi_short >= SIDIK__FMR_ANSI2004_HEADER) {
        shorter |= ansi_short < n;
        longer |= ansi_short > n;
    }
    if (ansi_short == 0 && ansi_known && ansi > UINT16_MAX) {
        shorter |= ansi < n;
        longer |= ansi > n;
    }
    if (shorter)
        return sidik__fmr_fail(why, SIDIK_ETRAILING,
                               "bytes follow the end of the record its length field declares");
    if (longer)
        return sidik__fmr_fail(why, SIDIK_ETRUNCATED,
                               "input ends before the record length its header declares");
    return sidik__fmr_fail(why, SIDIK_EFORMAT, "record length field is smaller than any header");
}

/*
 * Version "030": ISO/IEC 19794-2:2011 uses it, and so does ANSI/INCITS
 * 378-2009 (FingerprintIO's Ansi378v2009Template; NIST BiomDI's "ANSI07").
 * Both put a 4-byte record length at offset 8, so truncation and trailing
 * bytes are decided first. What follows differs: ISO continues with a
 * representation count and a chain of 4-byte representation lengths that
 * must end exactly at n; a record whose chain does not is not ISO 2011. We
 * do not read ANSI 378-2009 (matcher/README.md says why), so such a record
 * is refused as an unsupported version rather than misread.
 */
static int decode_v30(const uint8_t *p, size_t n, sidik_fmr *out, const char **why)
{
    if (n < 12)
        return sidik__fmr_fail(why, SIDIK_ETRUNCATED, "input ends inside the record length field");
    uint32_t len = sidik__be32(p + 8);
    if (len < SIDIK__FMR_ISO2011_HEADER)
        return sidik__fmr_fail(why, SIDIK_EFORMAT,
                               "record length is smaller than the 15-byte ISO 2011 header");
    if (len > n)
        return sidik__fmr_fail(why, SIDIK_ETRUNCATED,
                               "input ends before the record length its header declares");
    if (len < n)
        return sidik__fmr_fail(why, SIDIK_ETRAILING,
                               "bytes follow the end of the record its length field declares");
    if (!sidik__fmr_iso2011_chains(p, n))
        return sidik__fmr_fail(why, SIDIK_EVERSION,
                               "version 030 record whose representation lengths do not add up to "
                               "its length: not ISO/IEC 19794-2:2011, and ANSI/INCITS 378-2009 "
                               "(also 030) is not supported");
    return sidik__fmr_decode_iso2011(p, n, out, why);
}

int sidik_fmr_decode(const uint8_t *p, size_t n, sidik_fmr *out, const char **why)
{
    if ((p == NULL && n > 0) || out == NULL)
        return sidik__fmr_fail(why, SIDIK_EINVAL, "record or output pointer is NULL");
    size_t k = n < sizeof fmr_magic ? n : sizeof fmr_magic;
    if (k > 0 && memcmp(p, fmr_magic, k) != 0)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "format identifier is not \"FMR\\0\"");
    if (n < 8)
        return sidik__fmr_fail(why, SIDIK_ETRUNCATED,
                               "input ends inside the format identifier or version");
    int rc;
    if (memcmp(p + 4, " 20\0", 4) == 0)
        rc = decode_v20(p, n, out, why);
    else if (memcmp(p + 4, "030\0", 4) == 0)
        rc = decode_v30(p, n, out, why);
    else if (memcmp(p + 4, "035\0", 4) == 0)
        rc = sidik__fmr_fail(why, SIDIK_EVERSION,
                             "version 035 (ANSI/INCITS 378-2009/AM1) is not supported");
    else
        rc = sidik__fmr_fail(why, SIDIK_EVERSION,
                             "version is neither \" 20\" (ISO 2005, ANSI 2004) nor \"030\" "
                             "(ISO 2011)");
    if (rc == 0 && why != NULL)
        *why = NULL;
    return rc;
}
