/*
 * Who may call what: the one place roles meet methods (DESIGN.md decision 2).
 *
 * Every gRPC method sidikd serves is in one table with its call shape and
 * the roles allowed to call it. Finer rules that need the request (an
 * office sees only its own enrollments) are the handlers', on top of this.
 *
 * Pure functions over a constant table; thread-safe.
 */
#ifndef SIDIK_AUTHZ_H
#define SIDIK_AUTHZ_H

#include <stddef.h>

#include "sidik/tls.h"

typedef enum {
    SIDIK_METHOD_INGEST_UPLOAD = 1,
    SIDIK_METHOD_INGEST_UPLOAD_CHUNKS,
    SIDIK_METHOD_STATUS_GET,
    SIDIK_METHOD_STATUS_LIST,
    SIDIK_METHOD_AUDIT_GET_DECISION,
    SIDIK_METHOD_AUDIT_SEARCH_DECISIONS,
    SIDIK_METHOD_AUDIT_REVIEW_QUEUE,
    SIDIK_METHOD_AUDIT_ADJUDICATE,
    SIDIK_METHOD_AUDIT_VERIFY_CHAIN,
    SIDIK_METHOD_ADMIN_LIST_SHARDS,
    SIDIK_METHOD_ADMIN_ADD_SHARD,
    SIDIK_METHOD_ADMIN_REBALANCE,
    SIDIK_METHOD_ADMIN_STATS,
    SIDIK_METHOD_ADMIN_GET_CONFIG,
    SIDIK_METHOD_PRINT_LEASE,
    SIDIK_METHOD_PRINT_ACK,
    SIDIK_METHOD_COUNT_ /* not a method */
} sidik_method;

typedef enum {
    SIDIK_CALL_UNARY = 0,
    SIDIK_CALL_CLIENT_STREAM,
    SIDIK_CALL_SERVER_STREAM,
    SIDIK_CALL_BIDI,
} sidik_call_shape;

typedef struct sidik_method_info {
    sidik_method method;
    const char *path;        /* "/sidik.v1.Ingest/Upload", as in :path */
    sidik_call_shape shape;
    unsigned roles;          /* bit (1 << role) per role allowed */
} sidik_method_info;

/** The method at HTTP/2 :path p[0..n) (not NUL-terminated). Errors:
 *  SIDIK_EUNSUPPORTED (no such method: gRPC UNIMPLEMENTED). */
int sidik_authz_lookup(const char *p, size_t n, const sidik_method_info **out);

/** 0 when who may call m; SIDIK_EUNAUTH without an identity; SIDIK_EDENIED
 *  (gRPC PERMISSION_DENIED) when the role may not. */
int sidik_authz_check(const sidik_identity *who, const sidik_method_info *m);

#endif
