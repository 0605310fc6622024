/*
 * ISO/IEC 19794-2:2011 finger minutiae records, off-card form (decoder only).
 *
 * Layout (big-endian), as read and written by FingerprintIO
 * (github.com/robertvazan/fingerprintio-java: Iso19794p2v2011Template,
 * Iso19794p2v2011Fingerprint, Iso19794p2v2011Minutia and the
 * Iso19794p1v2011Template/Sample container they share); the representation
 * header is the ISO/IEC 19794-1:2011 one that MOSIP's 19794-4:2011 reader
 * (mosip/bio-utils, RepresentationHeader) also follows:
 *
 *   general header, 15 bytes
 *     0  4  "FMR\0"
 *     4  4  "030\0"
 *     8  4  record length, this header included
 *    12  2  number of finger representations
 *    14  1  certification flag, 0 or 1
 *   finger representation, repeated
 *     0  4  representation length, this field included
 *     4  9  capture date and time (year 2, month, day, hour, minute,
 *           second 1 each, millisecond 2; all 0xff when absent)
 *    13  1  capture device technology id
 *    14  2  capture device vendor id     16  2  capture device type id
 *    18  1  number of quality blocks, then 5 bytes each: score 0..100
 *           (255 failed; 254, the minutia code for "not computed", is
 *           read the same way), vendor 2, algorithm 2
 *     .  1  number of certification blocks, then 3 bytes each (authority 2,
 *           scheme 1); both present only when the certification flag is 1
 *     .  1  finger position 0..10     .  1  representation number
 *     .  2  x sampling rate (px/cm)   .  2  y sampling rate (px/cm)
 *     .  1  impression type
 *     .  2  image width               .  2  image height
 *     .  1  minutia field length (high nibble, 5 or 6), ridge ending type
 *           (low nibble)
 *     .  1  number of minutiae
 *     .  5n or 6n minutiae: 2-bit type + 14-bit x, 2 reserved bits + 14-bit
 *           y, angle (256 units per turn), quality only in the 6-byte form
 *           (0..100, 254 not computed, 255 failed)
 *     .  2  extended data length, then that many bytes; the representation
 *           ends exactly there
 *
 * The finger quality kept is the first quality block's score (0 when there
 * is none or it is 254/255): the template holds one, and the blocks are
 * alternatives from different algorithms, listed in the writer's order.
 */
#include "codec_int.h"

#include <string.h>

/* 2011 minutia and quality scores: 254 and 255 say "no score", which the
 * template spells 0. Anything else above 100 is left for the range check. */
static uint8_t quality_2011(uint8_t q)
{
    return q >= 254 ? 0 : q;
}

bool sidik__fmr_iso2011_chains(const uint8_t *p, size_t n)
{
    if (n < SIDIK__FMR_ISO2011_HEADER)
        return false;
    uint32_t count = sidik__be16(p + 12);
    size_t off = SIDIK__FMR_ISO2011_HEADER;
    for (uint32_t i = 0; i < count; i++) {
        if (n - off < 4)
            return false;
        uint32_t len = sidik__be32(p + off);
        if (len < 4 || len > n - off)
            return false;
        off += len;
    }
    return off == n;
}

static int read_representation(sidik__rd *v, bool certified, sidik_template *t, const char **why)
{
    int rc;
    /* date and time 9, device technology 1, vendor 2, type 2, quality count 1 */
    if (!sidik__rd_has(v, 15))
        return sidik__fmr_fail(why, SIDIK_EFORMAT,
                               "representation header runs past the representation length");
    v->off += 14;
    uint8_t nquality = sidik__rd_u8(v);
    if (!sidik__rd_has(v, (size_t)nquality * 5))
        return sidik__fmr_fail(why, SIDIK_EFORMAT,
                               "quality blocks run past the representation length");
    uint8_t quality = 0;
    for (unsigned j = 0; j < nquality; j++) {
        uint8_t score = sidik__rd_u8(v);
        v->off += 4; /* quality algorithm vendor and id */
        if (quality_2011(score) > 100)
            return sidik__fmr_fail(why, SIDIK_ERANGE, "quality block score is above 100");
        if (j == 0)
            quality = quality_2011(score);
    }
    if (certified) {
        if (!sidik__rd_has(v, 1))
            return sidik__fmr_fail(why, SIDIK_EFORMAT,
                                   "certification block count runs past the representation "
                                   "length");
        uint8_t ncert = sidik__rd_u8(v);
        if (!sidik__rd_has(v, (size_t)ncert * 3))
            return sidik__fmr_fail(why, SIDIK_EFORMAT,
                                   "certification blocks run past the representation length");
        v->off += (size_t)ncert * 3;
    }
    /* position 1, number 1, rates 2+2, impression 1, size 2+2, field length
     * 1, minutiae count 1 */
    if (!sidik__rd_has(v, 13))
        return sidik__fmr_fail(why, SIDIK_EFORMAT,
                               "finger view fields run past the representation length");
    uint8_t position = sidik__rd_u8(v);
    (void)sidik__rd_u8(v); /* representation number: the encoder renumbers */
    sidik__fmr_geom g;
    g.xres = sidik__rd_u16(v);
    g.yres = sidik__rd_u16(v);
    uint8_t impression = sidik__rd_u8(v);
    g.width = sidik__rd_u16(v);
    g.height = sidik__rd_u16(v);
    uint8_t field = sidik__rd_u8(v) >> 4; /* the ridge ending type nibble is not kept */
    uint8_t count = sidik__rd_u8(v);
    if ((rc = sidik__fmr_view_fields(position, impression, quality, t, why)) != 0)
        return rc;
    if ((rc = sidik__fmr_geom_apply(&g, t, why)) != 0)
        return rc;
    if (field != 5 && field != 6)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "minutia field length is neither 5 nor 6");
    if (count > SIDIK_TMPL_MAX_MINUTIAE)
        return sidik__fmr_fail(why, SIDIK_ERANGE, "finger view holds more than 192 minutiae");
    if (!sidik__rd_has(v, (size_t)count * field))
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "minutiae run past the representation length");
    for (unsigned j = 0; j < count; j++) {
        uint16_t xword = sidik__rd_u16(v);
        uint16_t yword = sidik__rd_u16(v);
        uint8_t angle = sidik__rd_u8(v);
        uint8_t mq = field == 6 ? quality_2011(sidik__rd_u8(v)) : 0;
        if ((rc = sidik__fmr_minutia(&g, t, xword, yword, angle, mq, &t->m[j], why)) != 0)
            return rc;
    }
    t->count = count;
    if (!sidik__rd_has(v, SIDIK__FMR_EXT_LENGTH))
        return sidik__fmr_fail(why, SIDIK_EFORMAT,
                               "extended data length field runs past the representation length");
    uint16_t ext = sidik__rd_u16(v);
    if (!sidik__rd_has(v, ext))
        return sidik__fmr_fail(why, SIDIK_EFORMAT,
                               "extended data block runs past the representation length");
    v->off += ext;
    if (v->off != v->n)
        return sidik__fmr_fail(why, SIDIK_EFORMAT,
                               "representation length exceeds the finger view it holds");
    return 0;
}

int sidik__fmr_decode_iso2011(const uint8_t *p, size_t n, sidik_fmr *out, const char **why)
{
    /* sidik__fmr_iso2011_chains() has proved the header and every
     * representation length field are there and end exactly at n. */
    sidik__rd r = {p, n, 12};
    uint16_t count = sidik__rd_u16(&r);
    uint8_t certified = sidik__rd_u8(&r);
    if (certified > 1)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "certification flag is neither 0 nor 1");
    int rc = sidik__fmr_view_count(count, why);
    if (rc != 0)
        return rc;
    out->format = SIDIK_FMR_ISO_2011;
    out->nviews = 0;
    for (uint32_t i = 0; i < count; i++) {
        sidik_template *t = &out->views[i];
        memset(t, 0, sizeof *t);
        size_t start = r.off;
        uint32_t len = sidik__rd_u32(&r);
        /* A reader bounded by this representation, so nothing in it can
         * read into the next one. */
        sidik__rd v = {p, start + len, r.off};
        if ((rc = read_representation(&v, certified, t, why)) != 0)
            return rc;
        r.off = start + len;
    }
    out->nviews = count;
    return sidik__fmr_views_per_finger(out, why);
}
