/* The one table of sidik error codes, and how they map to text and gRPC. */
#include "sidik/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *sidik_strerror(int rc)
{
    if (rc == 0)
        return "success";
    switch (rc) {
#define SIDIK__ERR_MSG(name, value, grpc, msg) \
    case value:                                \
        return msg;
        SIDIK_ERR_MAP(SIDIK__ERR_MSG)
#undef SIDIK__ERR_MSG
    }
    if (rc < 0 && rc > -4096) {
        /* strerrordesc_np (glibc >= 2.32) returns a static string and, unlike
         * strerror, is thread-safe. */
        const char *d = strerrordesc_np(-rc);
        if (d != NULL)
            return d;
    }
    return "unknown error";
}

const char *sidik_err_name(int rc)
{
    if (rc == 0)
        return "OK";
    switch (rc) {
#define SIDIK__ERR_NAME(name, value, grpc, msg) \
    case value:                                 \
        return "SIDIK_E" #name;
        SIDIK_ERR_MAP(SIDIK__ERR_NAME)
#undef SIDIK__ERR_NAME
    }
    if (rc < 0 && rc > -4096) {
        const char *n = strerrorname_np(-rc);
        if (n != NULL)
            return n;
    }
    return "UNKNOWN";
}

sidik_grpc_status sidik_err_grpc(int rc)
{
    if (rc == 0)
        return SIDIK_GRPC_OK;
    switch (rc) {
#define SIDIK__ERR_GRPC(name, value, grpc, msg) \
    case value:                                 \
        return SIDIK_GRPC_##grpc;
        SIDIK_ERR_MAP(SIDIK__ERR_GRPC)
#undef SIDIK__ERR_GRPC
    }
    switch (-rc) {
    case ENOMEM:
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
        return SIDIK_GRPC_RESOURCE_EXHAUSTED;
    case ETIMEDOUT:
        return SIDIK_GRPC_DEADLINE_EXCEEDED;
    case ECANCELED:
        return SIDIK_GRPC_CANCELLED;
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EAGAIN:
        return SIDIK_GRPC_UNAVAILABLE;
    }
    if (rc < 0 && rc > -4096)
        return SIDIK_GRPC_INTERNAL;
    return SIDIK_GRPC_UNKNOWN;
}

const char *sidik_grpc_status_name(sidik_grpc_status s)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if ((unsigned)s < sizeof names / sizeof names[0])
        return names[s];
    return "UNKNOWN";
}

int sidik_why(char *why, size_t cap, int rc, const char *fmt, ...)
{
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}
