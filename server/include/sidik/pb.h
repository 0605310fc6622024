/*
 * protobuf-c on sidik's allocator, so request decoding counts against the
 * same budget (and the same fault hook in tests) as everything else.
 */
#ifndef SIDIK_PB_H
#define SIDIK_PB_H

#include <protobuf-c/protobuf-c.h>

extern ProtobufCAllocator sidik_pb_alloc;

#endif
