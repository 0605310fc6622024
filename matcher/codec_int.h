/*
 * Private to the finger minutiae record codecs (codec*.c): a bounds-checked
 * big-endian reader, the checks and normalisation every format shares, and
 * the per-format decoders that codec.c dispatches to.
 *
 * Error split used by every decoder here (see sidik_fmr_decode in template.h):
 *  - SIDIK_ETRUNCATED / SIDIK_ETRAILING compare n with the record length
 *    field, and are decided in codec.c before any format decoder runs;
 *  - once the record length equals n, anything inside that disagrees with it
 *    (a view, minutia list or block running past its enclosing length, bytes
 *    left over) is SIDIK_EFORMAT: the input is as long as it says, its
 *    structure is not.
 */
#ifndef SIDIK_CODEC_INT_H
#define SIDIK_CODEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sidik/err.h"
#include "sidik/template.h"

/* ISO spelling of 500 dpi: the resolution every template is normalised to. */
#define SIDIK__FMR_PX_PER_CM 197

/* Fixed sizes (bytes) of the parts of each layout. */
#define SIDIK__FMR_ISO2005_HEADER       24
#define SIDIK__FMR_ANSI2004_HEADER      26 /* with the 2-byte length; 30 with 0 + 4 bytes */
#define SIDIK__FMR_ANSI2004_LONG        30
#define SIDIK__FMR_ISO2011_HEADER       15
#define SIDIK__FMR_VIEW2005_HEADER      4 /* position, view/impression, quality, count */
#define SIDIK__FMR_MINUTIA2005          6
#define SIDIK__FMR_EXT_LENGTH           2
#define SIDIK__FMR_COORD_MAX            0x3fff /* 14-bit coordinates */
#define SIDIK__FMR_MAX_VIEWS_PER_FINGER 16     /* the view number is 4 bits */

/* A cursor over [p, p + n). Callers check room with rd_has() before each
 * group of reads, so the readers themselves never look past the end. */
typedef struct sidik__rd {
    const uint8_t *p;
    size_t n;
    size_t off;
} sidik__rd;

static inline bool sidik__rd_has(const sidik__rd *r, size_t k)
{
    return r->n - r->off >= k;
}

static inline uint8_t sidik__rd_u8(sidik__rd *r)
{
    return r->p[r->off++];
}

static inline uint16_t sidik__rd_u16(sidik__rd *r)
{
    uint16_t v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
    r->off += 2;
    return v;
}

static inline uint32_t sidik__rd_u32(sidik__rd *r)
{
    uint32_t v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
                 (uint32_t)r->p[r->off + 2] << 8 | r->p[r->off + 3];
    r->off += 4;
    return v;
}

static inline uint16_t sidik__be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t sidik__be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Sets *why (when why is not NULL) and returns rc, so a check reads as one
 * line: `return sidik__fmr_fail(why, SIDIK_EFORMAT, "...");`. */
static inline int sidik__fmr_fail(const char **why, int rc, const char *msg)
{
    if (why != NULL)
        *why = msg;
    return rc;
}

/* Image geometry of one view in the record's own units. */
typedef struct sidik__fmr_geom {
    uint16_t width, height; /* pixels */
    uint16_t xres, yres;    /* pixels per centimetre */
} sidik__fmr_geom;

/* Validates g (zero size or resolution is SIDIK_EFORMAT; a size that does not
 * fit 16 bits at 500 dpi is SIDIK_ERANGE) and writes the normalised width and
 * height into t. */
int sidik__fmr_geom_apply(const sidik__fmr_geom *g, sidik_template *t, const char **why);

/* Validates one minutia in record units and stores it normalised:
 *   xword  the record's first 16 bits (2-bit type, 14-bit x);
 *   yword  the second 16 bits (2 reserved bits, 14-bit y);
 *   angle  already in 256 units per turn;
 *   quality already mapped to 0..100 where the format has special values;
 *          anything above 100 is refused here. */
int sidik__fmr_minutia(const sidik__fmr_geom *g, const sidik_template *t, uint16_t xword,
                       uint16_t yword, uint8_t angle, uint8_t quality, sidik_minutia *m,
                       const char **why);

/* Shared finger-view checks: position, impression type, finger quality. */
int sidik__fmr_view_fields(uint8_t position, uint8_t impression, uint8_t quality, sidik_template *t,
                           const char **why);

/* Checks a view count from a header against 1..SIDIK_FMR_MAX_VIEWS. */
int sidik__fmr_view_count(uint32_t nviews, const char **why);

/* Whether a decoded view is one sidik_fmr_decode could have produced: image
 * size, position, impression, quality, count and every minutia in their
 * domains (the encoders and the packed form refuse anything else). */
bool sidik__fmr_view_valid(const sidik_template *t);

/* Views of one finger position may number at most 16 (4-bit view numbers);
 * the encoder relies on it to number them. Checked after all views decode. */
int sidik__fmr_views_per_finger(const sidik_fmr *f, const char **why);

/* Reads the rest of an ISO 2005 or ANSI 2004 record from its image size on:
 * the two share the tail of the general header (size, resolution, view
 * count, reserved byte) and the view layout, and differ only in angle units
 * (ansi: 2-degree units, 0..179). r is positioned at the image width; reads
 * to r->n exactly and sets out->format to fmt. */
int sidik__fmr_read_body2005(sidik__rd *r, sidik_fmr_format fmt, bool ansi, sidik_fmr *out,
                             const char **why);

/* The per-format decoders. p/n is exactly one record whose length field has
 * already been checked against n by codec.c. */
int sidik__fmr_decode_iso2005(const uint8_t *p, size_t n, sidik_fmr *out, const char **why);
int sidik__fmr_decode_ansi2004(const uint8_t *p, size_t n, size_t header, sidik_fmr *out,
                               const char **why);
int sidik__fmr_decode_iso2011(const uint8_t *p, size_t n, sidik_fmr *out, const char **why);

/* True when a version "030" record of n bytes (record length already equal to
 * n) is laid out as ISO/IEC 19794-2:2011: its representation lengths, walked
 * from the 15-byte general header, end exactly at n. */
bool sidik__fmr_iso2011_chains(const uint8_t *p, size_t n);

#endif
