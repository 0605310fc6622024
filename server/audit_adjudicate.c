/* Audit.Adjudicate (sidik/audit_service.h): a person decides a gray-zone
 * enrollment. */
#include "audit_int.h"
#include "sidik/common.h"
#include "sidik/pb.h"

#include <stdio.h>
#include <string.h>

typedef struct verdict {
    sidik_enroll_id id;
    int decision;
    uint64_t duplicate_of;
    char reason[SIDIK_REASON_MAX + 1];
    char adjudicator[SIDIK_ADJUDICATOR_MAX + 1];
} verdict;

/* Printable ASCII only: the reason goes into the audit chain and back out
 * in DecisionRecord.reason, a proto3 string, which must be UTF-8. */
static bool reason_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SIDIK_REASON_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < ' ' || s[i] > '~')
            return false;
    return true;
}

static int parse(const sidik_identity *who, const uint8_t *p, size_t n, verdict *v, char *why,
                 size_t cap)
{
    Sidik__V1__AdjudicateRequest *req =
        sidik__v1__adjudicate_request__unpack(&sidik_pb_alloc, n, p);
    if (req == NULL)
        return sidik__audit_say(why, cap, SIDIK_EFORMAT,
                                "the request does not parse as an AdjudicateRequest");
    int rc = 0;
    size_t idn = strlen(req->enrollment_id);
    bool id_ok = idn > 0 && idn <= SIDIK_ENROLL_ID_MAX;
    for (size_t i = 0; id_ok && i < idn; i++)
        id_ok = req->enrollment_id[i] > ' ' && req->enrollment_id[i] <= '~';
    if (!sidik_pb_text_clean(&sidik__v1__adjudicate_request__descriptor, p, n))
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL, "a text field holds a NUL byte");
    else if (!id_ok)
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL,
                              "enrollment_id must be 1-64 printable characters");
    else if (req->decision != SIDIK__V1__DECISION__UNIQUE &&
             req->decision != SIDIK__V1__DECISION__DUPLICATE_OF)
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL,
                              "decision must be UNIQUE or DUPLICATE_OF (REVIEW is not a verdict)");
    else if (req->decision == SIDIK__V1__DECISION__DUPLICATE_OF && req->duplicate_of == 0)
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL,
                              "DUPLICATE_OF needs duplicate_of, the enrolled person's record id");
    else if (req->decision == SIDIK__V1__DECISION__UNIQUE && req->duplicate_of != 0)
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL, "duplicate_of is for DUPLICATE_OF only");
    else if (!reason_ok(req->reason))
        rc = sidik__audit_say(why, cap, SIDIK_EINVAL,
                              "reason is required: 1-96 printable ASCII characters");
    if (rc == 0) {
        memset(v, 0, sizeof *v);
        snprintf(v->id, sizeof v->id, "%s", req->enrollment_id);
        v->decision = req->decision;
        v->duplicate_of = req->duplicate_of;
        snprintf(v->reason, sizeof v->reason, "%s", req->reason);
        snprintf(v->adjudicator, sizeof v->adjudicator, "auditor:%s", who->name);
    }
    sidik__v1__adjudicate_request__free_unpacked(req, &sidik_pb_alloc);
    return rc;
}

/* Whether record is an enrolled person: one the person index names (made
 * UNIQUE here) or one the directory places in a shard (migrated). */
static int enrolled(sidik_control_txn *t, uint64_t record)
{
    sidik_enroll_id who;
    uint32_t shard;
    int rc = sidik_control_person_id(t, record, who);
    if (rc == SIDIK_ENOTFOUND)
        rc = sidik_control_dir_get(t, record, &shard);
    return rc;
}

/* The verdict as a decision, built on the one it overrules (its gallery
 * size and thresholds). DUPLICATE_OF names one candidate: the search's
 * entry for that record when it listed it, else the record alone (fused
 * score 0, no fingers: nothing was compared). */
static void verdict_record(const verdict *v, const sidik_decision_record *base, int64_t now,
                           sidik_decision_record *dr)
{
    memset(dr, 0, sizeof *dr);
    dr->outcome = v->decision == SIDIK__V1__DECISION__UNIQUE ? SIDIK_STATUS_PRINT_READY
                                                             : SIDIK_STATUS_DUPLICATE;
    dr->time_ms = now;
    dr->gallery_size = base->gallery_size;
    dr->threshold = base->threshold;
    dr->review_threshold = base->review_threshold;
    snprintf(dr->reason, sizeof dr->reason, "%s", v->reason);
    snprintf(dr->adjudicator, sizeof dr->adjudicator, "%s", v->adjudicator);
    if (dr->outcome != SIDIK_STATUS_DUPLICATE)
        return;
    dr->ncandidates = 1;
    dr->candidate[0] =
        (sidik_decision_candidate){.record_id = v->duplicate_of, .threshold = base->threshold};
    for (uint32_t j = 0; j < base->ncandidates; j++)
        if (base->candidate[j].record_id == v->duplicate_of)
            dr->candidate[0] = base->candidate[j];
}

/* Everything the verdict changes, in t; *index gets the decision's place. */
static int apply(sidik_control_txn *t, const verdict *v, int64_t now, uint32_t *index,
                 uint64_t *journal_seq, char *why, size_t cap)
{
    sidik_enrollment e;
    int rc = sidik_control_enroll_get(t, v->id, &e);
    if (rc == SIDIK_ENOTFOUND)
        return sidik__audit_say(why, cap, rc, "no enrollment with this id");
    if (rc != 0)
        return rc;
    *journal_seq = e.journal_seq;
    if (e.status != SIDIK_STATUS_ADJUDICATE)
        return sidik__audit_say(why, cap, SIDIK_ESTATE,
                                "enrollment %s is %s, not ADJUDICATE: only an enrollment waiting "
                                "for a person can be adjudicated",
                                v->id, sidik_status_name(e.status));
    if ((rc = sidik_control_pending_get(t, v->id)) == 0)
        return sidik__audit_say(why, cap, SIDIK_ESTATE,
                                "enrollment %s was already adjudicated UNIQUE; the person is being "
                                "put into the gallery",
                                v->id);
    if (rc != SIDIK_ENOTFOUND)
        return rc;
    sidik_decision_record base, dr;
    if ((rc = sidik_control_decision_get(t, v->id, UINT32_MAX, &base)) != 0)
        return rc == SIDIK_ENOTFOUND ? SIDIK_ECORRUPT : rc; /* ADJUDICATE comes with a decision */
    if (v->decision == SIDIK__V1__DECISION__DUPLICATE_OF &&
        (rc = enrolled(t, v->duplicate_of)) != 0)
        return rc == SIDIK_ENOTFOUND
                   ? sidik__audit_say(why, cap, rc,
                                      "duplicate_of %llu is not an enrolled person's record id",
                                      (unsigned long long)v->duplicate_of)
                   : rc;
    verdict_record(v, &base, now, &dr);
    sidik_audit_entry a = {.kind = SIDIK_AUDIT_ADJUDICATION, .time_ms = now};
    snprintf(a.actor, sizeof a.actor, "%s", v->adjudicator);
    snprintf(a.subject, sizeof a.subject, "%s", v->id);
    if (v->decision == SIDIK__V1__DECISION__DUPLICATE_OF) {
        snprintf(a.detail, sizeof a.detail, "DUPLICATE_OF record %llu: %s",
                 (unsigned long long)v->duplicate_of, v->reason);
        rc = sidik_control_enroll_status(t, v->id, SIDIK_STATUS_DUPLICATE, now, 0);
    } else {
        snprintf(a.detail, sizeof a.detail, "UNIQUE: %s", v->reason);
        rc = sidik_control_pending_put(t, v->id);
    }
    if (rc == 0)
        rc = sidik_control_decision_add(t, v->id, &dr, index);
    if (rc == 0)
        rc = sidik_control_audit_append(t, &a, NULL);
    return rc;
}

int sidik__audit_adjudicate(const sidik_audit_service *as, const sidik_identity *who,
                            const uint8_t *p, size_t n, uint8_t **out, size_t *len, char *why,
                            size_t cap)
{
    verdict v;
    int rc = parse(who, p, n, &v, why, cap);
    if (rc != 0)
        return rc;
    int64_t now = sidik__audit_now(as);
    uint32_t index = 0;
    uint64_t journal_seq = 0;
    sidik_control_txn *t;
    if ((rc = sidik_control_begin(as->control, true, &t)) == 0) {
        rc = apply(t, &v, now, &index, &journal_seq, why, cap);
        if (rc == 0)
            rc = sidik_control_commit(t);
        else
            sidik_control_abort(t);
    }
    if (rc != 0) {
        if (why[0] == 0)
            sidik__audit_say(why, cap, rc, "the verdict was not recorded: %s", sidik_strerror(rc));
        return rc;
    }
    SIDIK_LOG_INFO("adjudicated", "id=%s decision=%s record=%llu by=\"%s\"", v.id,
                   v.decision == SIDIK__V1__DECISION__UNIQUE ? "UNIQUE" : "DUPLICATE_OF",
                   (unsigned long long)v.duplicate_of, v.adjudicator);
    if (as->on_verdict != NULL)
        as->on_verdict(as->verdict_ctx, journal_seq, v.decision == SIDIK__V1__DECISION__UNIQUE);

    /* The answer: the verdict as recorded, with the status now. */
    audit_rec *rec = sidik_trycalloc(1, sizeof *rec);
    if (rec == NULL)
        return SIDIK_ENOMEM; /* durable all the same: GetDecision shows it */
    sidik_enrollment e;
    sidik_decision_record d;
    if ((rc = sidik_control_begin(as->control, false, &t)) == 0) {
        if ((rc = sidik_control_enroll_get(t, v.id, &e)) == 0 &&
            (rc = sidik_control_decision_get(t, v.id, index, &d)) == 0)
            rc = sidik__audit_rec_fill(as, t, rec, &e, &d, index);
        sidik_control_abort(t);
    }
    if (rc == 0)
        rc = sidik_pb_pack(&rec->r.base, out, len);
    else
        sidik__audit_say(why, cap, rc, "the verdict is recorded but cannot be read back: %s",
                         sidik_strerror(rc));
    sidik_free(rec);
    return rc;
}
