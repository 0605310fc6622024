/* protobuf-c on sidik's allocator, and a wire check for NULs in text (sidik/pb.h). */
#include "sidik/common.h"
#include "sidik/pb.h"

#include <string.h>

static void *pb_alloc(void *unused, size_t n)
{
    (void)unused;
    return sidik_trymalloc(n);
}

static void pb_free(void *unused, void *p)
{
    (void)unused;
    sidik_free(p);
}

ProtobufCAllocator sidik_pb_alloc = {pb_alloc, pb_free, NULL};

#define NEST_MAX 16 /* sidik.proto nests three deep */

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return true;
    }
    return false;
}

/* Field numbers protobuf allows: 1 .. 2^29 - 1. protobuf-c's unpack keeps
 * any other as an unknown field and its pack writes it back out, in bytes
 * no reader (protobuf-c included) takes again: found by fuzz_enrollment. */
#define FIELD_MAX ((UINT64_C(1) << 29) - 1)

static int check(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, int depth)
{
    const uint8_t *end = p + n;
    while (p < end) {
        uint64_t tag, len;
        if (!varint(&p, end, &tag) || tag >> 3 == 0 || tag >> 3 > FIELD_MAX)
            return SIDIK_PB_MALFORMED;
        switch (tag & 7) {
        case 0:
            if (!varint(&p, end, &len))
                return SIDIK_PB_MALFORMED;
            continue;
        case 1:
        case 5: {
            size_t w = (tag & 7) == 1 ? 8 : 4;
            if ((size_t)(end - p) < w)
                return SIDIK_PB_MALFORMED;
            p += w;
            continue;
        }
        case 2:
            break;
        default:
            return SIDIK_PB_MALFORMED; /* groups: not proto3 */
        }
        if (!varint(&p, end, &len) || len > (uint64_t)(end - p))
            return SIDIK_PB_MALFORMED;
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
        if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, len) != NULL)
            return SIDIK_PB_NUL;
        if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (depth == NEST_MAX)
                return SIDIK_PB_MALFORMED;
            int rc = check(f->descriptor, p, len, depth + 1);
            if (rc != SIDIK_PB_CLEAN)
                return rc;
        }
        p += len;
    }
    return SIDIK_PB_CLEAN;
}

int sidik_pb_check(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
    return d != NULL && (p != NULL || n == 0) ? check(d, p, n, 0) : SIDIK_PB_MALFORMED;
}

bool sidik_pb_text_clean(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
    return sidik_pb_check(d, p, n) == SIDIK_PB_CLEAN;
}

int sidik_pb_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = sidik_trymalloc(n + 1);
    if (buf == NULL)
        return SIDIK_ENOMEM;
    *len = protobuf_c_message_pack(m, buf);
    *out = buf;
    return 0;
}
