/*
 * Fuzz target: an uploaded Enrollment message as sidikd's ingest reads it,
 * on arbitrary bytes: protobuf-c's unpack with sidik's allocator, the
 * text-field NUL check, validation (which runs every finger template
 * through the matcher's decoders) and the content hash.
 *
 * Beyond "no crash, no sanitizer report", it checks the contract:
 *  - validation answers 0 or SIDIK_EINVAL (allocation aside), and a refusal
 *    names at least one field, each error with a field, a reason code and a
 *    detail;
 *  - for every message the ingest takes (the wire check clean), the content
 *    hash is a function of the decoded message: hashing it twice, and
 *    hashing its re-encoding decoded again, give the same bytes (a field
 *    number 0, which protobuf-c unpacks and packs into bytes it cannot read
 *    back, is why the wire check refuses such numbers: corpus/enrollment/
 *    field_number_0).
 * Any breach aborts, which libFuzzer reports as a crash with the input saved.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidik/alloc.h"
#include "sidik/err.h"
#include "sidik/pb.h"
#include "sidik/validate.h"
#include "sidik.pb-c.h"

static void breach(const char *what, int rc)
{
    fprintf(stderr, "fuzz_enrollment: %s (%s)\n", what, sidik_err_name(rc));
    abort();
}

static const sidik_identity office = {SIDIK_ROLE_OFFICE, "JKT-01"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Sidik__V1__Enrollment *e = sidik__v1__enrollment__unpack(&sidik_pb_alloc, size, data);
    if (e == NULL)
        return 0;
    /* What the ingest refuses before validation; the rest is what it takes. */
    int wire = sidik_pb_check(&sidik__v1__enrollment__descriptor, data, size);
    if (wire != SIDIK_PB_CLEAN && wire != SIDIK_PB_NUL && wire != SIDIK_PB_MALFORMED)
        breach("the wire check answered something else", wire);
    /* The clock the seeds were captured near, so their times are plausible. */
    sidik_validate_limits lim = {.now_ms = 1796207703000LL};
    sidik_validation v;
    int rc = sidik_enrollment_validate(e, &office, &lim, &v);
    if (rc != 0 && rc != SIDIK_EINVAL && rc != SIDIK_ENOMEM)
        breach("validation answered a code it does not document", rc);
    if (rc == SIDIK_EINVAL) {
        if (v.nerrors == 0)
            breach("a refusal that names no field", rc);
        for (uint32_t i = 0; i < v.nerrors && i < SIDIK_VALIDATE_MAX_ERRORS; i++)
            if (v.err[i].field[0] == 0 || v.err[i].reason_code == NULL || v.err[i].detail == NULL)
                breach("a field error without its field, code or detail", rc);
    }
    uint8_t h1[32], h2[32], h3[32];
    if (wire == SIDIK_PB_CLEAN && sidik_enrollment_hash(e, h1) == 0 &&
        sidik_enrollment_hash(e, h2) == 0) {
        if (memcmp(h1, h2, 32) != 0)
            breach("the content hash of one message changed", 0);
        uint8_t *packed = NULL;
        size_t len = 0;
        if (sidik_pb_pack(&e->base, &packed, &len) == 0) {
            Sidik__V1__Enrollment *again =
                sidik__v1__enrollment__unpack(&sidik_pb_alloc, len, packed);
            if (again == NULL)
                breach("a canonical encoding does not decode", 0);
            if (sidik_enrollment_hash(again, h3) == 0 && memcmp(h1, h3, 32) != 0)
                breach("a re-encoded message hashes differently", 0);
            sidik__v1__enrollment__free_unpacked(again, &sidik_pb_alloc);
            sidik_free(packed);
        }
    }
    sidik__v1__enrollment__free_unpacked(e, &sidik_pb_alloc);
    return 0;
}
