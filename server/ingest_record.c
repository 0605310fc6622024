/* The journal record of an accepted enrollment (sidik/ingest.h). */
#include "sidik/common.h"
#include "sidik/ingest.h"

#include <string.h>

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void sidik_ingest_record_header(const sidik_ingest_record *r,
                                uint8_t hdr[SIDIK_INGEST_RECORD_HEADER])
{
    put_le32(hdr, SIDIK_INGEST_RECORD_VERSION);
    put_le32(hdr + 4, 0);
    put_le64(hdr + 8, (uint64_t)r->received_ms);
    memcpy(hdr + 16, r->sha256, 32);
}

int sidik_ingest_record_parse(const void *p, size_t n, sidik_ingest_record *out)
{
    const uint8_t *b = p;
    if (b == NULL || n < SIDIK_INGEST_RECORD_HEADER)
        return SIDIK_ETRUNCATED;
    if (get_le32(b) != SIDIK_INGEST_RECORD_VERSION)
        return SIDIK_EVERSION;
    if (get_le32(b + 4) != 0)
        return SIDIK_EFORMAT;
    out->received_ms = (int64_t)get_le64(b + 8);
    memcpy(out->sha256, b + 16, 32);
    out->enrollment = b + SIDIK_INGEST_RECORD_HEADER;
    out->enrollment_len = n - SIDIK_INGEST_RECORD_HEADER;
    return 0;
}
