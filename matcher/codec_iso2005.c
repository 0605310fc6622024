/*
 * ISO/IEC 19794-2:2005 finger minutiae records: decoder and encoder, and the
 * finger view layout ANSI/INCITS 378-2004 shares with it.
 *
 * Layout (big-endian), as read by NIST BiomDI's fmr library (FMR_STD_ISO,
 * FMR_ISO_HEADER_LENGTH 24) and FingerprintIO's Iso19794p2v2005Template:
 *
 *   general header, 24 bytes
 *     0  4  "FMR\0"
 *     4  4  " 20\0"
 *     8  4  record length, this header included
 *    12  2  capture equipment: 4-bit certification, 12-bit device type
 *    14  2  image width (pixels)       16  2  image height
 *    18  2  x resolution (px/cm)       20  2  y resolution
 *    22  1  number of finger views     23  1  reserved, 0
 *   finger view, repeated
 *     0  1  finger position 0..10
 *     1  1  view number (high nibble), impression type (low nibble)
 *     2  1  finger quality 0..100
 *     3  1  number of minutiae
 *     4  6n minutiae: 2-bit type + 14-bit x, 2 reserved bits + 14-bit y,
 *           angle (256 units per turn, counter-clockwise), quality 0..100
 *     .  2  extended data length, then that many bytes
 *
 * The extended data area is skipped as a whole after checking its length
 * fits. Its blocks are not walked: implementations disagree on whether a
 * block's own length counts its 4-byte type/length header (BiomDI's FED
 * stores length - 4 data bytes; FingerprintIO's 2005 reader reads length
 * data bytes after it), and nothing in them reaches the template.
 */
#include "codec_int.h"

#include <string.h>

/* ANSI 378 angles are 2-degree units 0..179; 256 units per turn is
 * round(a * 2 * 256 / 360) = round(a * 64 / 45), halves up, at most 255. */
static uint8_t ansi_angle(uint8_t a)
{
    return (uint8_t)((128u * a + 45u) / 90u);
}

static int read_views(sidik__rd *r, const sidik__fmr_geom *g, uint32_t nviews, bool ansi,
                      sidik_fmr *out, const char **why)
{
    int rc;
    for (uint32_t i = 0; i < nviews; i++) {
        sidik_template *t = &out->views[i];
        memset(t, 0, sizeof *t);
        if ((rc = sidik__fmr_geom_apply(g, t, why)) != 0)
            return rc;
        if (!sidik__rd_has(r, SIDIK__FMR_VIEW2005_HEADER))
            return sidik__fmr_fail(why, SIDIK_EFORMAT,
                                   "finger view header runs past the record length");
        uint8_t position = sidik__rd_u8(r);
        uint8_t view_impression = sidik__rd_u8(r);
        uint8_t quality = sidik__rd_u8(r);
        uint8_t count = sidik__rd_u8(r);
        /* The view number (high nibble) is not kept: the encoder numbers the
         * views of each finger 0, 1, ... in record order, as the standard
         * asks of a writer. */
        if ((rc = sidik__fmr_view_fields(position, view_impression & 0x0f, quality, t, why)) != 0)
            return rc;
        if (count > SIDIK_TMPL_MAX_MINUTIAE)
            return sidik__fmr_fail(why, SIDIK_ERANGE, "finger view holds more than 192 minutiae");
        if (!sidik__rd_has(r, (size_t)count * SIDIK__FMR_MINUTIA2005))
            return sidik__fmr_fail(why, SIDIK_EFORMAT, "minutiae run past the record length");
        for (unsigned j = 0; j < count; j++) {
            uint16_t xword = sidik__rd_u16(r);
            uint16_t yword = sidik__rd_u16(r);
            uint8_t angle = sidik__rd_u8(r);
            uint8_t mq = sidik__rd_u8(r);
            if (ansi) {
                if (angle > 179)
                    return sidik__fmr_fail(why, SIDIK_ERANGE,
                                           "minutia angle is above 179 (ANSI 2-degree units)");
                angle = ansi_angle(angle);
            }
            if ((rc = sidik__fmr_minutia(g, t, xword, yword, angle, mq, &t->m[j], why)) != 0)
                return rc;
        }
        t->count = count;
        if (!sidik__rd_has(r, SIDIK__FMR_EXT_LENGTH))
            return sidik__fmr_fail(why, SIDIK_EFORMAT,
                                   "extended data length field runs past the record length");
        uint16_t ext = sidik__rd_u16(r);
        if (!sidik__rd_has(r, ext))
            return sidik__fmr_fail(why, SIDIK_EFORMAT,
                                   "extended data block runs past the record length");
        r->off += ext;
    }
    if (r->off != r->n)
        return sidik__fmr_fail(why, SIDIK_EFORMAT,
                               "record length exceeds the finger views it holds");
    out->nviews = nviews;
    return sidik__fmr_views_per_finger(out, why);
}

int sidik__fmr_read_body2005(sidik__rd *r, sidik_fmr_format fmt, bool ansi, sidik_fmr *out,
                             const char **why)
{
    sidik__fmr_geom g;
    g.width = sidik__rd_u16(r);
    g.height = sidik__rd_u16(r);
    g.xres = sidik__rd_u16(r);
    g.yres = sidik__rd_u16(r);
    uint8_t nviews = sidik__rd_u8(r);
    uint8_t reserved = sidik__rd_u8(r);
    if (reserved != 0)
        return sidik__fmr_fail(why, SIDIK_EFORMAT, "reserved byte of the general header is not 0");
    int rc = sidik__fmr_view_count(nviews, why);
    if (rc != 0)
        return rc;
    out->format = fmt;
    out->nviews = 0;
    return read_views(r, &g, nviews, ansi, out, why);
}

int sidik__fmr_decode_iso2005(const uint8_t *p, size_t n, sidik_fmr *out, const char **why)
{
    sidik__rd r = {p, n, 12}; /* magic, version and length were checked */
    (void)sidik__rd_u16(&r);  /* capture equipment: nothing the matcher uses */
    return sidik__fmr_read_body2005(&r, SIDIK_FMR_ISO_2005, false, out, why);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Everything the decoder would refuse is refused here too
 * (sidik__fmr_view_valid), so a template that encodes always decodes back to
 * itself; ISO 2005 adds one image size for all views. */
static bool view_encodable(const sidik_template *t, const sidik_template *first)
{
    return t->width == first->width && t->height == first->height && sidik__fmr_view_valid(t);
}

int sidik_fmr_encode_iso2005(const sidik_fmr *in, uint8_t *buf, size_t cap, size_t *len)
{
    if (in == NULL || len == NULL || (buf == NULL && cap > 0))
        return SIDIK_EINVAL;
    if (in->nviews == 0 || in->nviews > SIDIK_FMR_MAX_VIEWS)
        return SIDIK_ERANGE;
    uint8_t per_finger[11] = {0};
    size_t size = SIDIK__FMR_ISO2005_HEADER;
    for (uint32_t i = 0; i < in->nviews; i++) {
        const sidik_template *t = &in->views[i];
        if (!view_encodable(t, &in->views[0]))
            return SIDIK_ERANGE;
        if (++per_finger[t->position] > SIDIK__FMR_MAX_VIEWS_PER_FINGER)
            return SIDIK_ERANGE;
        size += SIDIK__FMR_VIEW2005_HEADER + (size_t)t->count * SIDIK__FMR_MINUTIA2005 +
                SIDIK__FMR_EXT_LENGTH;
    }
    *len = size;
    if (cap < size)
        return SIDIK_ETOOBIG;

    uint8_t *w = buf;
    memcpy(w, "FMR\0 20\0", 8);
    put32(w + 8, (uint32_t)size);
    put16(w + 12, 0); /* no certification, device type unknown */
    put16(w + 14, in->views[0].width);
    put16(w + 16, in->views[0].height);
    put16(w + 18, SIDIK__FMR_PX_PER_CM);
    put16(w + 20, SIDIK__FMR_PX_PER_CM);
    w[22] = (uint8_t)in->nviews;
    w[23] = 0;
    w += SIDIK__FMR_ISO2005_HEADER;

    memset(per_finger, 0, sizeof per_finger);
    for (uint32_t i = 0; i < in->nviews; i++) {
        const sidik_template *t = &in->views[i];
        uint8_t view_number = per_finger[t->position]++;
        w[0] = t->position;
        w[1] = (uint8_t)(view_number << 4 | t->impression);
        w[2] = t->quality;
        w[3] = t->count;
        w += SIDIK__FMR_VIEW2005_HEADER;
        for (unsigned j = 0; j < t->count; j++) {
            const sidik_minutia *m = &t->m[j];
            put16(w, (uint32_t)m->type << 14 | m->x);
            put16(w + 2, m->y);
            w[4] = m->angle;
            w[5] = m->quality;
            w += SIDIK__FMR_MINUTIA2005;
        }
        put16(w, 0); /* no extended data */
        w += SIDIK__FMR_EXT_LENGTH;
    }
    return 0;
}
