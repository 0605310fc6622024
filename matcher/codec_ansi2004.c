/*
 * ANSI/INCITS 378-2004 finger minutiae records (decoder only).
 *
 * Layout (big-endian), as read by NIST BiomDI's fmr library (FMR_STD_ANSI,
 * FMR_ANSI_SMALL_HEADER_LENGTH 26, FMR_ANSI_LARGE_HEADER_LENGTH 30) and
 * FingerprintIO's Ansi378v2004Template:
 *
 *   general header, 26 bytes (30 with the long length)
 *     0  4  "FMR\0"
 *     4  4  " 20\0"
 *     8  2  record length; or 0x0000 followed by a 4-byte length (offset 10)
 *           when the record exceeds 65535 bytes
 *     .  4  CBEFF product identifier (owner, type)
 *     .  2  capture equipment: 4-bit compliance, 12-bit scanner id
 *     .  2  image width    .  2  image height
 *     .  2  x resolution   .  2  y resolution (px/cm)
 *     .  1  number of finger views   .  1  reserved, 0
 *   finger views exactly as in ISO/IEC 19794-2:2005 (codec_iso2005.c), except
 *   that minutia angles are in 2-degree units, 0..179.
 *
 * codec.c has already told this format from ISO 2005 by its length field and
 * passes the header size the length form implies.
 */
#include "codec_int.h"

int sidik__fmr_decode_ansi2004(const uint8_t *p, size_t n, size_t header, sidik_fmr *out,
                               const char **why)
{
    /* The fields after the length take 16 bytes in both length forms. */
    sidik__rd r = {p, n, header - 16};
    (void)sidik__rd_u32(&r); /* CBEFF product id: who wrote it, not what it says */
    (void)sidik__rd_u16(&r); /* capture equipment */
    return sidik__fmr_read_body2005(&r, SIDIK_FMR_ANSI_2004, true, out, why);
}
