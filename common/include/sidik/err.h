/*
 * sidik error codes.
 *
 * Every fallible function in sidik returns an int: 0 on success, a negative
 * value on failure. Failures from the OS (and io_uring) pass through as
 * -errno. sidik's own codes live at -20000 and below, far outside the errno
 * range (Linux MAX_ERRNO is 4095), so the two can never collide.
 *
 * The list below is the single source for the enum, the names, the messages
 * and the gRPC status each code is reported as. Library errors (LMDB,
 * nghttp2, OpenSSL) are translated into these where they enter sidik's code,
 * once.
 *
 * Thread safety: every function here is thread-safe and returns static
 * strings that live for the whole process.
 */
#ifndef SIDIK_ERR_H
#define SIDIK_ERR_H

#include <stddef.h>

/* XX(name, value, grpc status, message) */
#define SIDIK_ERR_MAP(XX)                                                                 \
    XX(INVAL, -20001, INVALID_ARGUMENT, "invalid argument")                               \
    XX(NOMEM, -20002, RESOURCE_EXHAUSTED, "out of memory")                                \
    XX(TRUNCATED, -20003, INVALID_ARGUMENT, "input ends before its declared length")      \
    XX(FORMAT, -20004, INVALID_ARGUMENT, "malformed input")                               \
    XX(VERSION, -20005, INVALID_ARGUMENT, "unsupported format version")                   \
    XX(TOOBIG, -20006, RESOURCE_EXHAUSTED, "input larger than the configured limit")      \
    XX(RANGE, -20007, INVALID_ARGUMENT, "value out of its valid range")                   \
    XX(TRAILING, -20008, INVALID_ARGUMENT, "unexpected bytes after the end of the input") \
    XX(UNSUPPORTED, -20009, UNIMPLEMENTED, "operation or feature not supported")          \
    XX(NOCPU, -20010, FAILED_PRECONDITION, "CPU lacks the requested instruction set")     \
    XX(NOTFOUND, -20011, NOT_FOUND, "not found")                                          \
    XX(EXISTS, -20012, ALREADY_EXISTS, "already exists with different content")           \
    XX(DENIED, -20013, PERMISSION_DENIED, "caller's role does not allow this")            \
    XX(UNAUTH, -20014, UNAUTHENTICATED, "caller is not authenticated")                    \
    XX(CORRUPT, -20015, DATA_LOSS, "stored data failed its integrity check")              \
    XX(FULL, -20016, RESOURCE_EXHAUSTED, "storage is full")                               \
    XX(BUSY, -20017, UNAVAILABLE, "overloaded, retry later")                              \
    XX(TIMEOUT, -20018, DEADLINE_EXCEEDED, "deadline exceeded")                           \
    XX(CANCELLED, -20019, CANCELLED, "cancelled")                                         \
    XX(SHUTDOWN, -20020, UNAVAILABLE, "shutting down")                                    \
    XX(STATE, -20021, FAILED_PRECONDITION, "not allowed in the current state")            \
    XX(INTERNAL, -20022, INTERNAL, "internal error")                                      \
    XX(BADSIG, -20023, INVALID_ARGUMENT, "signature does not verify")

typedef enum {
#define SIDIK__ERR_ENUM(name, value, grpc, msg) SIDIK_E##name = (value),
    SIDIK_ERR_MAP(SIDIK__ERR_ENUM)
#undef SIDIK__ERR_ENUM
} sidik_err;

/* gRPC status codes, numbered as on the wire (grpc/doc/statuscodes.md). */
typedef enum {
    SIDIK_GRPC_OK = 0,
    SIDIK_GRPC_CANCELLED = 1,
    SIDIK_GRPC_UNKNOWN = 2,
    SIDIK_GRPC_INVALID_ARGUMENT = 3,
    SIDIK_GRPC_DEADLINE_EXCEEDED = 4,
    SIDIK_GRPC_NOT_FOUND = 5,
    SIDIK_GRPC_ALREADY_EXISTS = 6,
    SIDIK_GRPC_PERMISSION_DENIED = 7,
    SIDIK_GRPC_RESOURCE_EXHAUSTED = 8,
    SIDIK_GRPC_FAILED_PRECONDITION = 9,
    SIDIK_GRPC_ABORTED = 10,
    SIDIK_GRPC_OUT_OF_RANGE = 11,
    SIDIK_GRPC_UNIMPLEMENTED = 12,
    SIDIK_GRPC_INTERNAL = 13,
    SIDIK_GRPC_UNAVAILABLE = 14,
    SIDIK_GRPC_DATA_LOSS = 15,
    SIDIK_GRPC_UNAUTHENTICATED = 16,
} sidik_grpc_status;

/** Human-readable message for rc: sidik's own, strerror's for -errno, and
 *  "success" for 0. Never NULL. */
const char *sidik_strerror(int rc);

/** Symbolic name for rc: "SIDIK_EINVAL", "ENOSPC", "OK". Unknown codes give
 *  "UNKNOWN". Never NULL. */
const char *sidik_err_name(int rc);

/** The gRPC status a call failing with rc reports to its client. OS errors a
 *  client can do something about map to RESOURCE_EXHAUSTED (ENOSPC, ENOMEM,
 *  EMFILE), DEADLINE_EXCEEDED (ETIMEDOUT) or UNAVAILABLE (connection errors);
 *  every other OS error is INTERNAL. Unknown negative codes are UNKNOWN. */
sidik_grpc_status sidik_err_grpc(int rc);

/** Formats a reason into the caller's why buffer (nothing when why is NULL
 *  or cap 0) and returns rc, so a failure path reads
 *  `return sidik_why(why, cap, SIDIK_EINVAL, "...", ...);`. */
int sidik_why(char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** The canonical gRPC name of a status: "INVALID_ARGUMENT". Never NULL. */
const char *sidik_grpc_status_name(sidik_grpc_status s);

#endif
