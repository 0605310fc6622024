/*
 * common/: the pieces every sidik module stands on. Include this one header.
 *
 *   err.h    error codes, messages, gRPC status mapping
 *   alloc.h  the allocation wrapper (jemalloc, counters, fault hook)
 *   log.h    structured logging to stderr
 *   cpu.h    CPU features and the SIMD level
 */
#ifndef SIDIK_COMMON_H
#define SIDIK_COMMON_H

#include <stddef.h>

#include "sidik/alloc.h"
#include "sidik/cpu.h"
#include "sidik/err.h"
#include "sidik/log.h"

/* The struct that embeds member `member` at address ptr (libuv's
 * container_of): how a callback gets from an embedded request to its owner. */
#define SIDIK_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define SIDIK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
