/*
 * protobuf-c on sidik's allocator, so request decoding counts against the
 * same budget (and the same fault hook in tests) as everything else.
 */
#ifndef SIDIK_PB_H
#define SIDIK_PB_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern ProtobufCAllocator sidik_pb_alloc;

/* What the wire of a message of type d in p[0..n) holds, nested messages
 * included, beyond what protobuf-c's unpack checks: SIDIK_PB_NUL when a
 * string field holds a NUL byte (protobuf-c hands strings back
 * NUL-terminated, so "a\0bc" would be read as "a": an id that was never
 * sent), SIDIK_PB_MALFORMED for bytes that are not protobuf, a field number
 * outside 1 .. 2^29-1 included (protobuf-c's unpack keeps one, and its
 * pack writes bytes nothing reads back), else SIDIK_PB_CLEAN. Call it on
 * bytes that unpacked. text_clean: whether it is SIDIK_PB_CLEAN. */
enum { SIDIK_PB_CLEAN = 0, SIDIK_PB_NUL = 1, SIDIK_PB_MALFORMED = 2 };
int sidik_pb_check(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n);
bool sidik_pb_text_clean(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n);

/** Encodes m into a new buffer (*out, the caller's to sidik_free; one spare
 *  byte so an empty message is not a zero-byte allocation), *len its
 *  length. Errors: SIDIK_ENOMEM. */
int sidik_pb_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len);

#endif
