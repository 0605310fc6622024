/*
 * The Audit service: what the dedup stage decided and why, the review
 * queue, adjudication, and the audit chain's check, answered from the
 * control store (sidik/control.h). Only auditors call it (sidik/authz.h;
 * checked again here).
 *
 * GetDecision: an enrollment's latest decision with the earlier ones
 * (oldest first) in `earlier`; its office, NIK and status now; each
 * candidate's enrollment (through the person index; empty for persons
 * migrated from the old system), whether its NIK is this enrollment's, and
 * one FingerScore per finger position compared. FingerScore.matched is
 * computed from the fusion model the stage decided with: that finger's
 * log-likelihood ratio is above 0. Unknown id: NOT_FOUND; not decided yet:
 * NOT_FOUND saying it is still RECEIVED.
 *
 * SearchDecisions: decisions in decision order (time, then journal
 * sequence, then index), filtered by office_code, NIK, decision, decision
 * time in [from_ms, to_ms) (0: open), and the top candidate's fused score
 * in [min_score, max_score] (each bound applies only when nonzero; a
 * decision without candidates has no score, so any score bound leaves it
 * out). The walk is a range read of the most selective index (NIK, else
 * office, else all) and one page examines at most 10,000 decisions, so a
 * page may come back short or empty with a next_page_token to go on from
 * (empty on the last page). page_size 0 means 100, more than 1,000 means
 * 1,000; a page also stops before 1 MiB of records. Decisions made before
 * a store was upgraded from format 1 are not found here.
 *
 * ReviewQueue: the enrollments in ADJUDICATE with no verdict yet, in the
 * order they entered it, each as its latest decision; the same filters
 * (decision must be 0 or REVIEW; time is when it entered review) and paging.
 *
 * Adjudicate: enrollment_id must be ADJUDICATE without a verdict
 * (FAILED_PRECONDITION naming its status otherwise, or saying a verdict
 * waits); decision UNIQUE or DUPLICATE_OF; duplicate_of names a gallery
 * record for DUPLICATE_OF (NOT_FOUND when no such person is enrolled: the
 * request is well formed, the record is what is missing) and is 0 for
 * UNIQUE; reason 1-96 printable ASCII characters. The adjudicator is the
 * caller: "auditor:" and its certificate's CN. DUPLICATE_OF takes effect
 * in one transaction (DUPLICATE, the decision, the audit entry). UNIQUE
 * records the decision, the audit entry and a waiting verdict in one
 * transaction, answers, and calls on_verdict; the dedup stage then puts
 * the person into the gallery and makes it PRINT_READY (sidik/dedup.h).
 * Until it has (normally within one batch), GetDecision shows the UNIQUE
 * decision with the adjudicator and status ADJUDICATE, and the enrollment
 * is no longer in the review queue.
 *
 * VerifyChain: the whole audit chain checked; entries is the chain's
 * length as its head records it, first_broken the first entry that fails
 * (0 when intact), head_sha256 the head's hash.
 *
 * Transport-free: request bytes in, response bytes out. Thread-safe.
 * Caveat: VerifyChain walks every entry within the call, seconds at a
 * million entries; sidikd runs it on libuv's thread pool, so the I/O loop
 * keeps serving meanwhile (server/services.c, start_verify).
 */
#ifndef SIDIK_AUDIT_SERVICE_H
#define SIDIK_AUDIT_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sidik/authz.h"
#include "sidik/control.h"
#include "sidik/fusion.h"
#include "sidik/tls.h"

#define SIDIK_AUDIT_PAGE_DEFAULT 100
#define SIDIK_AUDIT_PAGE_MAX     1000
#define SIDIK_AUDIT_EXAMINE_MAX  10000 /* decisions or reviews one page looks at */

typedef struct sidik_audit_service {
    sidik_control *control;        /* borrowed */
    const sidik_fusion *fusion;    /* borrowed: the model the dedup stage decides with */
    /* A verdict was recorded on the enrollment at journal_seq (may be NULL):
     * unique, it waits for the dedup stage; else the stage stops searching
     * the enrollment (sidik_dedup_forget). */
    void (*on_verdict)(void *ctx, uint64_t journal_seq, bool unique);
    void *verdict_ctx;
    int64_t (*now_ms)(void); /* tests; NULL: the wall clock */
} sidik_audit_service;

/** Answers one call of an Audit method from who with request p[0..n);
 *  *out (sidik_free it) and *len get the encoded response. Errors:
 *  SIDIK_EFORMAT (the request does not parse), SIDIK_EINVAL (a field is
 *  wrong, a page token not issued here), SIDIK_ENOTFOUND, SIDIK_ESTATE (an
 *  adjudication of an enrollment not waiting for one), SIDIK_EDENIED (not
 *  an auditor), SIDIK_ENOMEM, SIDIK_EUNSUPPORTED (not an Audit method), and
 *  the control store's errors; why[0..cap) gets a text for the caller. */
int sidik_audit_answer(const sidik_audit_service *as, sidik_method m, const sidik_identity *who,
                       const uint8_t *p, size_t n, uint8_t **out, size_t *len, char *why,
                       size_t cap);

#endif
