/*
 * The method table and the role check (sidik/authz.h).
 *
 * Roles, from DESIGN.md: offices upload and see where their own enrollments
 * stand; auditors read match results and adjudicate the gray zone (and may
 * read any enrollment's status); admins run shards and read statistics and
 * configuration; print stations lease and acknowledge authorisations. Only
 * auditors read match results, only admins change shards.
 */
#include "sidik/authz.h"
#include "sidik/common.h"

#include <string.h>

#define R(role) (1u << (role))

static const sidik_method_info methods[] = {
    {SIDIK_METHOD_INGEST_UPLOAD, "/sidik.v1.Ingest/Upload", SIDIK_CALL_BIDI, R(SIDIK_ROLE_OFFICE)},
    {SIDIK_METHOD_INGEST_UPLOAD_CHUNKS, "/sidik.v1.Ingest/UploadChunks", SIDIK_CALL_BIDI,
     R(SIDIK_ROLE_OFFICE)},
    {SIDIK_METHOD_STATUS_GET, "/sidik.v1.Status/Get", SIDIK_CALL_UNARY,
     R(SIDIK_ROLE_OFFICE) | R(SIDIK_ROLE_AUDITOR)},
    /* An office's own listing (the request names no office); auditors
     * search across offices with Audit.SearchDecisions. */
    {SIDIK_METHOD_STATUS_LIST, "/sidik.v1.Status/List", SIDIK_CALL_UNARY, R(SIDIK_ROLE_OFFICE)},
    {SIDIK_METHOD_AUDIT_GET_DECISION, "/sidik.v1.Audit/GetDecision", SIDIK_CALL_UNARY,
     R(SIDIK_ROLE_AUDITOR)},
    {SIDIK_METHOD_AUDIT_SEARCH_DECISIONS, "/sidik.v1.Audit/SearchDecisions", SIDIK_CALL_UNARY,
     R(SIDIK_ROLE_AUDITOR)},
    {SIDIK_METHOD_AUDIT_REVIEW_QUEUE, "/sidik.v1.Audit/ReviewQueue", SIDIK_CALL_UNARY,
     R(SIDIK_ROLE_AUDITOR)},
    {SIDIK_METHOD_AUDIT_ADJUDICATE, "/sidik.v1.Audit/Adjudicate", SIDIK_CALL_UNARY,
     R(SIDIK_ROLE_AUDITOR)},
    {SIDIK_METHOD_AUDIT_VERIFY_CHAIN, "/sidik.v1.Audit/VerifyChain", SIDIK_CALL_UNARY,
     R(SIDIK_ROLE_AUDITOR)},
    {SIDIK_METHOD_ADMIN_LIST_SHARDS, "/sidik.v1.Admin/ListShards", SIDIK_CALL_UNARY,
     R(SIDIK_ROLE_ADMIN)},
    {SIDIK_METHOD_ADMIN_ADD_SHARD, "/sidik.v1.Admin/AddShard", SIDIK_CALL_UNARY,
     R(SIDIK_ROLE_ADMIN)},
    {SIDIK_METHOD_ADMIN_REBALANCE, "/sidik.v1.Admin/Rebalance", SIDIK_CALL_SERVER_STREAM,
     R(SIDIK_ROLE_ADMIN)},
    {SIDIK_METHOD_ADMIN_STATS, "/sidik.v1.Admin/Stats", SIDIK_CALL_UNARY, R(SIDIK_ROLE_ADMIN)},
    {SIDIK_METHOD_ADMIN_GET_CONFIG, "/sidik.v1.Admin/GetConfig", SIDIK_CALL_UNARY,
     R(SIDIK_ROLE_ADMIN)},
    {SIDIK_METHOD_PRINT_LEASE, "/sidik.v1.Print/Lease", SIDIK_CALL_UNARY, R(SIDIK_ROLE_PRINTER)},
    {SIDIK_METHOD_PRINT_ACK, "/sidik.v1.Print/Ack", SIDIK_CALL_UNARY, R(SIDIK_ROLE_PRINTER)},
};
_Static_assert(SIDIK_ARRAY_SIZE(methods) == SIDIK_METHOD_COUNT_ - 1, "one row per method");

int sidik_authz_lookup(const char *p, size_t n, const sidik_method_info **out)
{
    if (p == NULL || out == NULL)
        return SIDIK_EUNSUPPORTED;
    /* A few dozen rows at most: a scan is as fast as anything cleverer and obviously
     * exact (length first, so no read past p[n)). */
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(methods); i++)
        if (strlen(methods[i].path) == n && memcmp(methods[i].path, p, n) == 0) {
            *out = &methods[i];
            return 0;
        }
    return SIDIK_EUNSUPPORTED;
}

int sidik_authz_check(const sidik_identity *who, const sidik_method_info *m)
{
    if (who == NULL || who->role < SIDIK_ROLE_OFFICE || who->role > SIDIK_ROLE_PRINTER)
        return SIDIK_EUNAUTH;
    if (m == NULL)
        return SIDIK_EUNSUPPORTED;
    return m->roles & R(who->role) ? 0 : SIDIK_EDENIED;
}
