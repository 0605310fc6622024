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
 * or :2011, ANSI/INCITS 378-2004 or -2009), telling the version from the
 * header's version and length fields, into *out (caller's storage).
 *
 * Returns 0, or one of these with *why pointing at a static sentence that
 * names the offending field:
 *   SIDIK_ETRUNCATED  the input ends before a field or declared length;
 *   SIDIK_EFORMAT     wrong magic, a length field that disagrees with the
 *                     structure or with n, reserved values, a zero resolution;
 *   SIDIK_EVERSION    a known magic with a version this decoder does not read;
 *   SIDIK_ERANGE      a value outside its domain: minutia outside the image,
 *                     bad type or angle, more than SIDIK_TMPL_MAX_MINUTIAE
 *                     minutiae or SIDIK_FMR_MAX_VIEWS views, finger position
 *                     above 10, normalised size beyond 16 bits;
 *   SIDIK_ETRAILING   bytes after the record's declared end.
 * On error *out is unspecified. Thread-safe; no allocation.
 */
int sidik_fmr_decode(const uint8_t *p, size_t n, sidik_fmr *out, const char **why);

/**
 * Encodes in as an ISO/IEC 19794-2:2005 record at 197 px/cm (500 dpi), so
 * decode(encode(x)) == x. Writes at most cap bytes to buf and the record's
 * size to *len. Returns 0; SIDIK_ETOOBIG when cap is too
 * small (*len then holds the size needed); SIDIK_ERANGE when in holds no
 * views or more than SIDIK_FMR_MAX_VIEWS.
 */
int sidik_fmr_encode_iso2005(const sidik_fmr *in, uint8_t *buf, size_t cap, size_t *len);

#endif
