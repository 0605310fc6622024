/*
 * Fuzz target: sidik_fmr_decode, and sidik_fmr_unpack (the packed form
 * gallery shards store), on arbitrary bytes.
 *
 * Beyond "no crash, no sanitizer report", it checks the decoder's contract:
 *  - a refusal is one of the documented codes and always comes with a why;
 *  - anything accepted re-encodes as ISO/IEC 19794-2:2005 and decodes back to
 *    the identical templates, and encoding that again gives the same bytes.
 * The one documented exception: ISO 2005 has a single image size per record,
 * so a record whose views normalise to different sizes (possible in ISO 2011)
 * cannot be re-encoded, and the encoder says SIDIK_ERANGE.
 * The same bytes as a packed record: a refusal is documented and has a why;
 * anything accepted packs and unpacks back to itself. And every record that
 * decodes packs and unpacks back to itself, format included.
 * Any breach aborts, which libFuzzer reports as a crash with the input saved.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidik/err.h"
#include "sidik/template.h"

/* 24-byte header, then per view 4 + 6 * 192 + 2 bytes. */
#define MAX_ISO2005 (24 + SIDIK_FMR_MAX_VIEWS * (4 + 6 * SIDIK_TMPL_MAX_MINUTIAE + 2))

static void breach(const char *what, int rc)
{
    fprintf(stderr, "fuzz_fmr_decode: %s (%s)\n", what, sidik_err_name(rc));
    abort();
}

static int sizes_differ(const sidik_fmr *f)
{
    for (uint32_t i = 1; i < f->nviews; i++) {
        if (f->views[i].width != f->views[0].width || f->views[i].height != f->views[0].height)
            return 1;
    }
    return 0;
}

/* pack(f) unpacks to f. */
static void packs_back(const sidik_fmr *f)
{
    static uint8_t packed[SIDIK_FMR_PACKED_MAX];
    static sidik_fmr back;
    size_t len = 0;
    int rc = sidik_fmr_pack(f, packed, sizeof packed, &len);
    if (rc != 0)
        breach("a valid record does not pack", rc);
    if ((rc = sidik_fmr_unpack(packed, len, &back, NULL)) != 0)
        breach("a packed record does not unpack", rc);
    /* Unused minutia slots are not part of the record. */
    for (uint32_t i = 0; i < back.nviews; i++)
        if (memcmp(&back.views[i], &f->views[i], 8 + f->views[i].count * sizeof(sidik_minutia)) != 0)
            breach("unpack(pack(x)) differs from x", 0);
    if (back.format != f->format || back.nviews != f->nviews)
        breach("unpack(pack(x)) differs from x", 0);
}

static void unpack_contract(const uint8_t *data, size_t size)
{
    static sidik_fmr f;
    const char *why = NULL;
    int rc = sidik_fmr_unpack(data, size, &f, &why);
    if (rc != 0) {
        if (rc != SIDIK_ETRUNCATED && rc != SIDIK_EFORMAT && rc != SIDIK_ERANGE &&
            rc != SIDIK_ETRAILING)
            breach("unpack returned an undocumented error", rc);
        if (why == NULL || why[0] == '\0')
            breach("unpack refused without a why", rc);
        return;
    }
    packs_back(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unpack_contract(data, size);

    /* ~31 KB each: static keeps them off the (sanitizer-padded) stack. The
     * fuzzer runs one input at a time on one thread. */
    static sidik_fmr first, second;
    static uint8_t buf[MAX_ISO2005], again[MAX_ISO2005];

    const char *why = NULL;
    int rc = sidik_fmr_decode(data, size, &first, &why);
    if (rc != 0) {
        if (rc != SIDIK_ETRUNCATED && rc != SIDIK_EFORMAT && rc != SIDIK_EVERSION &&
            rc != SIDIK_ERANGE && rc != SIDIK_ETRAILING)
            breach("decode returned an undocumented error", rc);
        if (why == NULL || why[0] == '\0')
            breach("decode refused without a why", rc);
        return 0;
    }
    if (why != NULL)
        breach("decode succeeded but left a why", rc);
    if (first.nviews == 0 || first.nviews > SIDIK_FMR_MAX_VIEWS)
        breach("decode accepted a view count out of range", rc);
    packs_back(&first);

    size_t len = 0;
    rc = sidik_fmr_encode_iso2005(&first, buf, sizeof buf, &len);
    if (rc == SIDIK_ERANGE && sizes_differ(&first))
        return 0;
    if (rc != 0)
        breach("a decoded record does not re-encode", rc);

    rc = sidik_fmr_decode(buf, len, &second, &why);
    if (rc != 0) {
        fprintf(stderr, "why: %s\n", why);
        breach("a re-encoded record does not decode", rc);
    }
    if (second.format != SIDIK_FMR_ISO_2005 || second.nviews != first.nviews ||
        memcmp(second.views, first.views, first.nviews * sizeof first.views[0]) != 0)
        breach("decode(encode(x)) differs from x", rc);

    size_t len2 = 0;
    rc = sidik_fmr_encode_iso2005(&second, again, sizeof again, &len2);
    if (rc != 0 || len2 != len || memcmp(again, buf, len) != 0)
        breach("encoding is not deterministic", rc);
    return 0;
}
