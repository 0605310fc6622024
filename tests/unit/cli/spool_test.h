/*
 * Shared by the spool tests: captures whose every byte follows from a
 * number (so a test can rebuild what it expects instead of keeping a
 * copy), their hash, and a spool opened with a deterministic jitter.
 * Include after storage_test.h.
 */
#ifndef SIDIK_SPOOL_TEST_H
#define SIDIK_SPOOL_TEST_H

#include <openssl/evp.h>

#include "sidik.pb-c.h"
#include "sidik/common.h"
#include "spool.h"

#define T0 1795000000000LL /* a Unix time in ms, the tests' "now" */

/* Capture number k, packed, with id id (NULL: "cap-%08llu" of k) and an
 * attachment of `size` bytes that follow from k. Plain malloc: the
 * caller frees it with free(). */
static inline uint8_t *capture_make(uint64_t k, const char *id, size_t size, size_t *n)
{
    char idbuf[32];
    if (id == NULL) {
        snprintf(idbuf, sizeof idbuf, "cap-%08llu", (unsigned long long)k);
        id = idbuf;
    }
    uint8_t *data = malloc(size + 1);
    payload_fill(k, data, size);
    Sidik__V1__Attachment a = SIDIK__V1__ATTACHMENT__INIT;
    Sidik__V1__Attachment *ap = &a;
    a.kind = SIDIK__V1__ATTACHMENT_KIND__FACE;
    a.media_type = "image/jpeg";
    a.data = (ProtobufCBinaryData){size, data};
    Sidik__V1__Enrollment e = SIDIK__V1__ENROLLMENT__INIT;
    e.enrollment_id = (char *)id;
    e.office_code = "JKT-01";
    e.capture_time_ms = T0 + (int64_t)k;
    e.station_id = "station-07";
    e.n_attachments = 1;
    e.attachments = &ap;
    *n = sidik__v1__enrollment__get_packed_size(&e);
    uint8_t *out = malloc(*n);
    sidik__v1__enrollment__pack(&e, out);
    free(data);
    return out;
}

static inline void capture_sha(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned len;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* The jitter source: splitmix64 over the state it is given. */
static inline uint64_t spool_test_rand(void *ctx)
{
    return sidik_test_rand(ctx);
}

static inline sidik_spool *spool_open_ok(const char *dir, sidik_spool_options *o)
{
    sidik_spool *sp = NULL;
    const char *why = NULL;
    int rc = sidik_spool_open(dir, o, &sp, &why);
    if (rc != 0)
        print_error("open %s: %s (%s)\n", dir, sidik_err_name(rc), why ? why : "");
    assert_int_equal(rc, 0);
    return sp;
}

#endif
