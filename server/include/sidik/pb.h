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

/* Whether no string field of the message of type d encoded in p[0..n),
 * nested messages included, holds a NUL byte. protobuf-c hands strings
 * back NUL-terminated, so "a\0bc" would otherwise be read as "a": an id
 * that was never sent. Call it on bytes that unpacked; malformed bytes
 * answer false. */
bool sidik_pb_text_clean(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n);

/** Encodes m into a new buffer (*out, the caller's to sidik_free; one spare
 *  byte so an empty message is not a zero-byte allocation), *len its
 *  length. Errors: SIDIK_ENOMEM. */
int sidik_pb_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len);

#endif
