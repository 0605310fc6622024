/* Print.Lease and Print.Ack (sidik/print_service.h). */
#include "sidik/common.h"
#include "sidik/pb.h"
#include "sidik/print_auth.h"
#include "sidik/print_service.h"
#include "sidik.pb-c.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Lease ---------------------------------------------------------------------------- */

typedef struct signed_auth {
    sidik_print_auth a;
    uint8_t payload[SIDIK_PRINT_PAYLOAD_MAX];
    size_t len;
    uint8_t sig[SIDIK_PRINT_SIG_BYTES];
} signed_auth;

/* The authorisation for a leased id, from its enrollment record. */
static int authorise(const sidik_print_service *ps, sidik_control_txn *t, const char *id,
                     const char *region, signed_auth *s)
{
    sidik_enrollment e;
    int rc = sidik_control_enroll_get(t, id, &e);
    if (rc != 0)
        return rc == SIDIK_ENOTFOUND ? SIDIK_ECORRUPT : rc; /* queued, so it must exist */
    int64_t at = 0;
    for (uint32_t i = 0; i < e.nhistory; i++)
        if (e.history[i].status == SIDIK_STATUS_PRINT_READY)
            at = e.history[i].time_ms;
    if (e.status != SIDIK_STATUS_PRINT_READY || at <= 0 || e.record_id == 0)
        return SIDIK_ECORRUPT;
    memset(&s->a, 0, sizeof s->a);
    snprintf(s->a.enrollment_id, sizeof s->a.enrollment_id, "%s", e.id);
    snprintf(s->a.nik, sizeof s->a.nik, "%s", e.nik);
    snprintf(s->a.region, sizeof s->a.region, "%s", region);
    s->a.record_id = e.record_id;
    memcpy(s->a.content_sha256, e.sha256, 32);
    s->a.authorised_ms = at;
    rc = sidik_print_auth_encode(&s->a, s->payload, sizeof s->payload, &s->len);
    if (rc == SIDIK_EINVAL)
        return SIDIK_ECORRUPT; /* a stored field outside its rules (an enrollment without NIK) */
    return rc != 0 ? rc : sidik_print_sign(ps->key, s->payload, s->len, s->sig);
}

static int respond_lease(const signed_auth *s, uint32_t n, int64_t until, uint8_t **out,
                         size_t *len)
{
    Sidik__V1__PrintAuthorisation *a = sidik_trycalloc(n + 1, sizeof *a);
    Sidik__V1__PrintAuthorisation **ptrs = sidik_trycalloc(n + 1, sizeof *ptrs);
    int rc = a == NULL || ptrs == NULL ? SIDIK_ENOMEM : 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        sidik__v1__print_authorisation__init(&a[i]);
        a[i].enrollment_id = (char *)s[i].a.enrollment_id;
        a[i].nik = (char *)s[i].a.nik;
        a[i].region_code = (char *)s[i].a.region;
        a[i].authorised_time_ms = s[i].a.authorised_ms;
        a[i].payload = (ProtobufCBinaryData){s[i].len, (uint8_t *)s[i].payload};
        a[i].signature = (ProtobufCBinaryData){SIDIK_PRINT_SIG_BYTES, (uint8_t *)s[i].sig};
        ptrs[i] = &a[i];
    }
    if (rc == 0) {
        Sidik__V1__LeaseResponse r;
        sidik__v1__lease_response__init(&r);
        r.n_authorisations = n;
        r.authorisations = ptrs;
        r.lease_expires_ms = n > 0 ? until : 0;
        rc = sidik_pb_pack(&r.base, out, len);
    }
    sidik_free(a);
    sidik_free(ptrs);
    return rc;
}

static int lease(const sidik_print_service *ps, const sidik_identity *who, const uint8_t *p,
                 size_t n, uint8_t **out, size_t *len, char *why, size_t cap)
{
    Sidik__V1__LeaseRequest *req = sidik__v1__lease_request__unpack(&sidik_pb_alloc, n, p);
    if (req == NULL)
        return sidik_why(why, cap, SIDIK_EFORMAT, "the request does not parse as a LeaseRequest");
    char region[SIDIK_REGION_MAX + 1];
    int rc = 0;
    if (!sidik_pb_text_clean(&sidik__v1__lease_request__descriptor, p, n))
        rc = sidik_why(why, cap, SIDIK_EINVAL, "region_code holds a NUL byte");
    else if (req->region_code[0] != 0 && strcmp(req->region_code, who->name) != 0)
        rc = sidik_why(why, cap, SIDIK_EDENIED,
                       "a print station leases only for its own region, %s (its certificate's CN)",
                       who->name);
    uint32_t max = req->max == 0                      ? SIDIK_PRINT_LEASE_DEFAULT
                   : req->max > SIDIK_PRINT_BATCH_MAX ? SIDIK_PRINT_BATCH_MAX
                                                      : req->max;
    sidik__v1__lease_request__free_unpacked(req, &sidik_pb_alloc);
    if (rc != 0)
        return rc;
    if (!sidik_control_valid_region(who->name))
        return sidik_why(why, cap, SIDIK_EINVAL,
                         "the certificate's CN is not a print region (like 31.71)");
    snprintf(region, sizeof region, "%.*s", SIDIK_REGION_MAX, who->name);

    sidik_enroll_id *ids = sidik_trymalloc(max * sizeof *ids);
    signed_auth *s = sidik_trymalloc(max * sizeof *s);
    int64_t now = ps->now_ms != NULL ? ps->now_ms() : wall_ms();
    uint32_t got = 0;
    sidik_control_txn *t = NULL;
    rc = ids == NULL || s == NULL ? SIDIK_ENOMEM : sidik_control_begin(ps->control, true, &t);
    if (rc == 0)
        rc = sidik_control_print_lease(t, region, who->name, now, ps->lease_ms, max, ids, &got);
    for (uint32_t i = 0; rc == 0 && i < got; i++)
        if ((rc = authorise(ps, t, ids[i], region, &s[i])) != 0)
            SIDIK_LOG_ERROR("a queued authorisation cannot be made", "id=%s error=%s", ids[i],
                            sidik_err_name(rc));
    if (t != NULL) {
        if (rc == 0)
            rc = sidik_control_commit(t);
        else
            sidik_control_abort(t);
    }
    if (rc == 0)
        rc = respond_lease(s, got, now + ps->lease_ms, out, len);
    else
        sidik_why(why, cap, rc, "the print queue could not be leased: %s", sidik_strerror(rc));
    sidik_free(ids);
    sidik_free(s);
    return rc;
}

/* ---- Ack ------------------------------------------------------------------------------ */

/* One id: acknowledged (1), already printed (0), or an error naming it. */
static int ack_one(sidik_control_txn *t, const sidik_identity *who, const char *id, int64_t now,
                   char *why, size_t cap)
{
    if (strnlen(id, SIDIK_ENROLL_ID_MAX + 1) > SIDIK_ENROLL_ID_MAX || id[0] == 0)
        return sidik_why(why, cap, SIDIK_EINVAL,
                         "an enrollment id must be 1-64 printable characters");
    sidik_enrollment e;
    int rc = sidik_control_enroll_get(t, id, &e);
    if (rc == SIDIK_EINVAL)
        return sidik_why(why, cap, rc, "an enrollment id must be 1-64 printable characters");
    if (rc == 0 && e.status == SIDIK_STATUS_PRINTED)
        return 0;
    if (rc == 0 || rc == SIDIK_ENOTFOUND)
        rc = sidik_control_print_ack(t, id, who->name, now);
    if (rc == SIDIK_ENOTFOUND)
        return sidik_why(
            why, cap, SIDIK_ESTATE,
            "%s is not leased to this station: its lease ran out and it went back to the "
            "queue, or it never was; nothing in this Ack was acknowledged",
            id);
    if (rc == SIDIK_EDENIED)
        return sidik_why(
            why, cap, rc,
            "%s is leased to another print station; nothing in this Ack was acknowledged", id);
    if (rc != 0)
        return sidik_why(why, cap, rc, "%s: %s", id, sidik_strerror(rc));
    sidik_audit_entry a = {.kind = SIDIK_AUDIT_PRINT, .time_ms = now};
    snprintf(a.actor, sizeof a.actor, "printer:%s", who->name);
    snprintf(a.subject, sizeof a.subject, "%s", id);
    snprintf(a.detail, sizeof a.detail, "card printed (record %llu)",
             (unsigned long long)e.record_id);
    rc = sidik_control_audit_append(t, &a, NULL);
    return rc != 0 ? sidik_why(why, cap, rc, "the audit log refused: %s", sidik_strerror(rc)) : 1;
}

static int ack(const sidik_print_service *ps, const sidik_identity *who, const uint8_t *p, size_t n,
               uint8_t **out, size_t *len, char *why, size_t cap)
{
    Sidik__V1__AckRequest *req = sidik__v1__ack_request__unpack(&sidik_pb_alloc, n, p);
    if (req == NULL)
        return sidik_why(why, cap, SIDIK_EFORMAT, "the request does not parse as an AckRequest");
    int rc = 0;
    if (req->n_enrollment_ids == 0 || req->n_enrollment_ids > SIDIK_PRINT_BATCH_MAX)
        rc = sidik_why(why, cap, SIDIK_EINVAL, "an Ack names 1 to %d enrollment ids",
                       SIDIK_PRINT_BATCH_MAX);
    else if (!sidik_pb_text_clean(&sidik__v1__ack_request__descriptor, p, n))
        rc = sidik_why(why, cap, SIDIK_EINVAL, "an enrollment id holds a NUL byte");
    int64_t now = ps->now_ms != NULL ? ps->now_ms() : wall_ms();
    uint32_t acknowledged = 0;
    sidik_control_txn *t = NULL;
    if (rc == 0 && (rc = sidik_control_begin(ps->control, true, &t)) != 0)
        sidik_why(why, cap, rc, "the control store refused: %s", sidik_strerror(rc));
    for (size_t i = 0; rc == 0 && i < req->n_enrollment_ids; i++) {
        int r = ack_one(t, who, req->enrollment_ids[i], now, why, cap);
        if (r < 0)
            rc = r;
        else
            acknowledged += (uint32_t)r;
    }
    sidik__v1__ack_request__free_unpacked(req, &sidik_pb_alloc);
    if (t != NULL) {
        if (rc == 0 && (rc = sidik_control_commit(t)) != 0)
            sidik_why(why, cap, rc, "the control store refused: %s", sidik_strerror(rc));
        else if (rc != 0)
            sidik_control_abort(t);
    }
    if (rc != 0)
        return rc;
    Sidik__V1__AckResponse r;
    sidik__v1__ack_response__init(&r);
    r.acknowledged = acknowledged;
    return sidik_pb_pack(&r.base, out, len);
}

int sidik_print_answer(const sidik_print_service *ps, sidik_method m, const sidik_identity *who,
                       const uint8_t *p, size_t n, uint8_t **out, size_t *len, char *why,
                       size_t cap)
{
    if (ps == NULL || ps->control == NULL || ps->key == NULL || who == NULL ||
        (p == NULL && n > 0) || out == NULL || len == NULL || why == NULL || cap == 0)
        return SIDIK_EINVAL;
    why[0] = 0;
    if (who->role != SIDIK_ROLE_PRINTER)
        return sidik_why(why, cap, SIDIK_EDENIED, "only a print station may lease or acknowledge");
    if (m == SIDIK_METHOD_PRINT_LEASE)
        return lease(ps, who, p, n, out, len, why, cap);
    if (m == SIDIK_METHOD_PRINT_ACK)
        return ack(ps, who, p, n, out, len, why, cap);
    return sidik_why(why, cap, SIDIK_EUNSUPPORTED, "not a Print method");
}
