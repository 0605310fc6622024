/*
 * gRPC over HTTP/2: the pieces of the wire format that live above nghttp2.
 *
 * A gRPC message on an HTTP/2 stream is a 5-byte prefix (1 byte compressed
 * flag, 4 bytes big-endian length) followed by the message bytes. A call's
 * deadline arrives in the `grpc-timeout` header as up to 8 ASCII digits and a
 * unit letter (H, M, S, m, u, n). Both come from untrusted peers; these
 * functions validate them exactly as the gRPC HTTP/2 protocol spec words it
 * (doc/PROTOCOL-HTTP2.md in the grpc repository).
 *
 * Pure functions; thread-safe.
 */
#ifndef SIDIK_GRPC_FRAME_H
#define SIDIK_GRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIDIK_GRPC_PREFIX_BYTES 5

/**
 * Decodes a message prefix from p[0..5).
 * Returns 0 and sets *compressed and *len; or
 *   SIDIK_EFORMAT  the flag byte is neither 0 nor 1;
 *   SIDIK_ETOOBIG  the declared length exceeds max_len (the caller then
 *                  answers RESOURCE_EXHAUSTED without reading the body).
 * On error *why names the problem.
 */
int sidik_grpc_prefix_decode(const uint8_t p[SIDIK_GRPC_PREFIX_BYTES], uint32_t max_len,
                             bool *compressed, uint32_t *len, const char **why);

/** Writes the prefix for an uncompressed message of len bytes. */
void sidik_grpc_prefix_encode(uint8_t p[SIDIK_GRPC_PREFIX_BYTES], uint32_t len);

/**
 * Parses a grpc-timeout header value of n bytes (not NUL-terminated) into
 * nanoseconds. Returns 0; or SIDIK_EFORMAT for an empty value, more than 8
 * digits, a non-digit, or an unknown unit (*why says which).
 */
int sidik_grpc_timeout_parse(const char *v, size_t n, uint64_t *ns, const char **why);

#endif
