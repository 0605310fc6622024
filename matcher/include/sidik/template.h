/*
 * The matcher's internal finger template, and the record it is decoded from.
 *
 * Whatever format and resolution a device wrote, the matcher sees one form:
 *
 *  - Coordinates are 500 dpi pixels (1 unit = 50.8 um; 197 px/cm is the ISO
 *    spelling of 500 dpi), x to the right and y downward from the image's top
 *    left corner, as in both standards. Records at other resolutions are
 *    scaled on decode, x and y each by their own resolution.
 *  - Angles are 256 units per turn, measured counter-clockwise from the +x
 *    axis, the ISO/IEC 19794-2:2005 convention (1 unit = 1.40625 degrees).
 *    ANSI/INCITS 378's 2-degree units are converted on decode. A byte angle
 *    wraps for free: (uint8_t)(a - b) is the difference modulo one turn.
 *  - Minutia types keep the standards' codes: 0 other, 1 ridge ending,
 *    2 bifurcation.
 *  - Quality is 0..100 as in the 2005 standards; 0 means "not reported".
 *
 * Sizes: sidik_minutia is 8 bytes; sidik_template is 8 + 8 * 192 = 1,544
 * bytes whatever the count, so arrays of them need no indirection. The
 * gallery stores a packed form derived from this (see the matcher header).
 */
#ifndef SIDIK_TEMPLATE_H
#define SIDIK_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

/* A view with more minutiae than this is refused as implausible: flat
 * captures at 500 dpi carry 20-80 and rolled prints rarely above 150. */
#define SIDIK_TMPL_MAX_MINUTIAE 192

/* Views in one record: 10 fingers, up to two views each. */
#define SIDIK_FMR_MAX_VIEWS 20

#define SIDIK_TMPL_DPI 500

enum {
    SIDIK_MINUTIA_OTHER = 0,
    SIDIK_MINUTIA_ENDING = 1,
    SIDIK_MINUTIA_BIFURCATION = 2,
};

typedef struct sidik_minutia {
    uint16_t x;      /* 500 dpi pixels from the left edge */
    uint16_t y;      /* 500 dpi pixels from the top edge */
    uint8_t angle;   /* 256 units per turn, counter-clockwise from +x */
    uint8_t type;    /* SIDIK_MINUTIA_* */
    uint8_t quality; /* 0..100; 0 = not reported */
    uint8_t reserved;
} sidik_minutia;

typedef struct sidik_template {
    uint16_t width;     /* image width in 500 dpi pixels */
    uint16_t height;    /* image height in 500 dpi pixels */
    uint8_t position;   /* finger position, ISO code 0..10 (0 = unknown) */
    uint8_t impression; /* impression type code from the record */
    uint8_t quality;    /* finger quality 0..100 */
    uint8_t count;      /* minutiae in m[] */
    sidik_minutia m[SIDIK_TMPL_MAX_MINUTIAE];
} sidik_template;

_Static_assert(sizeof(sidik_minutia) == 8, "sidik_minutia layout");
_Static_assert(offsetof(sidik_minutia, angle) == 4, "sidik_minutia layout");
_Static_assert(offsetof(sidik_template, m) == 8, "sidik_template layout");
_Static_assert(sizeof(sidik_template) == 8 + 8 * SIDIK_TMPL_MAX_MINUTIAE, "sidik_template layout");

/* The record formats the codecs tell apart from the header. */
typedef enum {
    SIDIK_FMR_ISO_2005 = 1,  /* ISO/IEC 19794-2:2005 */
    SIDIK_FMR_ISO_2011 = 2,  /* ISO/IEC 19794-2:2011 */
    SIDIK_FMR_ANSI_2004 = 3, /* ANSI/INCITS 378-2004 */
    SIDIK_FMR_ANSI_2009 = 4, /* ANSI/INCITS 378-2009 */
} sidik_fmr_format;

/* A decoded finger minutiae record: one or more views. */
typedef struct sidik_fmr {
    sidik_fmr_format format;
    uint32_t nviews;
    sidik_template views[SIDIK_FMR_MAX_VIEWS];
} sidik_fmr;

/** "ISO/IEC 19794-2:2005" etc.; "unknown" for other values. */
const char *sidik_fmr_format_name(sidik_fmr_format f);

/**
 * Decodes one finger minutiae record of exactly n bytes (ISO/IEC 19794-2:2005
 * or :2011, ANSI/INCITS 378-2004), telling the version from the header's
 * version and length fields, into *out (caller's storage). ANSI/INCITS
 * 378-2009 shares ISO 2011's version bytes and is refused (matcher/README.md,
 * "Template formats", says why). p may be NULL when n is 0; why may be NULL.
 *
 * Returns 0 with *why set to NULL, or one of these with *why pointing at a
 * static sentence that names the offending field:
 *   SIDIK_ETRUNCATED  n ends before the record header, or before the record
 *                     length the header declares;
 *   SIDIK_ETRAILING   n goes past the record length the header declares;
 *   SIDIK_EFORMAT     wrong magic; a record length below the header size; a
 *                     record whose length matches n but whose contents do
 *                     not fill it exactly (a view, minutia list, extended
 *                     data block or representation running past its
 *                     enclosing length, or bytes left over); reserved bits or
 *                     bytes that are not zero; zero image size or resolution;
 *                     a certification flag or minutia field length the
 *                     standard does not define;
 *   SIDIK_EVERSION    a version this decoder does not read ("035", anything
 *                     unknown, or a "030" record that is not ISO 2011);
 *   SIDIK_ERANGE      a value outside its domain: minutia outside the image,
 *                     type 3, ANSI angle above 179, quality above 100, more
 *                     than SIDIK_TMPL_MAX_MINUTIAE minutiae, no views or more
 *                     than SIDIK_FMR_MAX_VIEWS, more than 16 views of one
 *                     finger position, finger position above 10, impression
 *                     type above 15, a normalised size beyond 16 bits or
 *                     coordinate beyond 14 bits;
 *   SIDIK_EINVAL      out is NULL, or p is NULL with n > 0.
 * Every template that decodes can be re-encoded by sidik_fmr_encode_iso2005
 * (unless its views differ in image size, see there). On error *out is
 * unspecified. Thread-safe; no allocation.
 */
int sidik_fmr_decode(const uint8_t *p, size_t n, sidik_fmr *out, const char **why);

/**
 * Encodes in as an ISO/IEC 19794-2:2005 record at 197 px/cm (500 dpi), so
 * decode(encode(x)) == x for every view (in->format is not written; the
 * decoded record says SIDIK_FMR_ISO_2005). Views of the same finger position
 * are numbered 0, 1, ... in order. Writes at most cap bytes to buf and the
 * record's size to *len. Returns 0; SIDIK_ETOOBIG when cap is too small
 * (*len then holds the size needed); SIDIK_ERANGE when in holds no views or
 * more than SIDIK_FMR_MAX_VIEWS, views of different image sizes (ISO 2005
 * has one per record), or anything sidik_fmr_decode would refuse;
 * SIDIK_EINVAL for NULL in or len, or NULL buf with cap > 0.
 */
int sidik_fmr_encode_iso2005(const sidik_fmr *in, uint8_t *buf, size_t cap, size_t *len);

/* The packed form's largest size: every view full, every field at its widest. */
#define SIDIK_FMR_PACKED_MAX                                                                     \
    (2 + SIDIK_FMR_MAX_VIEWS * (12 + (SIDIK_TMPL_MAX_MINUTIAE * (14 + 14 + 8 + 2 + 7) + 7) / 8))

/**
 * Packs a decoded record into the compact form a gallery shard stores
 * (layout in matcher/codec_pack.c): every field of in, minutiae in their
 * order, each field in as few bits as the view needs; about 4.5 bytes a
 * minutia with the view heads where ISO 2005 takes 6. sidik_fmr_unpack(pack(x)) == x, format
 * included. Writes at most cap bytes to buf and the size to *len. Returns 0;
 * SIDIK_ETOOBIG when cap is too small (*len then holds the size needed);
 * SIDIK_ERANGE when in is not something sidik_fmr_decode could have produced
 * (views out of range, a field outside its domain, an unknown format);
 * SIDIK_EINVAL for NULL in or len, or NULL buf with cap > 0.
 */
int sidik_fmr_pack(const sidik_fmr *in, uint8_t *buf, size_t cap, size_t *len);

/**
 * Unpacks sidik_fmr_pack's form into *out, checking it as sidik_fmr_decode
 * checks a record. Returns 0, or with *why (may be NULL) saying what:
 *   SIDIK_ETRUNCATED  shorter than its head, views or minutiae say;
 *   SIDIK_ETRAILING   bytes after the minutiae;
 *   SIDIK_EFORMAT     an unknown format, a field width beyond its domain's
 *                     (coordinates 14 bits, quality 7), padding bits not
 *                     zero, an image size of zero;
 *   SIDIK_ERANGE      no views or more than SIDIK_FMR_MAX_VIEWS, a value
 *                     outside its domain (as sidik_fmr_decode's ERANGE);
 *   SIDIK_EINVAL      out is NULL, or p is NULL with n > 0.
 * On error *out is unspecified. Thread-safe; no allocation.
 */
int sidik_fmr_unpack(const uint8_t *p, size_t n, sidik_fmr *out, const char **why);

#endif
