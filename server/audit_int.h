/*
 * Shared by the Audit service's files (audit_service.c, audit_adjudicate.c):
 * DecisionRecord messages built over control-store records, and the reply
 * text.
 */
#ifndef SIDIK_AUDIT_INT_H
#define SIDIK_AUDIT_INT_H

#include "sidik/audit_service.h"
#include "sidik.pb-c.h"

#include <stdbool.h>

#define AUDIT_CAND   SIDIK_DECISION_RECORD_CANDIDATES
#define AUDIT_FINGER 10

/* One DecisionRecord message and everything it points at: the records it
 * was made from are copied in, so it lives as long as this struct. */
typedef struct audit_rec {
    Sidik__V1__DecisionRecord r;
    Sidik__V1__Candidate c[AUDIT_CAND];
    Sidik__V1__Candidate *cp[AUDIT_CAND];
    Sidik__V1__FingerScore f[AUDIT_CAND][AUDIT_FINGER];
    Sidik__V1__FingerScore *fp[AUDIT_CAND][AUDIT_FINGER];
    sidik_enroll_id cand_id[AUDIT_CAND];
    sidik_enrollment e;
    sidik_decision_record d;
} audit_rec;

/* Fills rec from decision number index (d) of enrollment e, looking the
 * candidates' enrollments up in t. Errors: the control store's. */
int sidik__audit_rec_fill(const sidik_audit_service *as, sidik_control_txn *t, audit_rec *rec,
                          const sidik_enrollment *e, const sidik_decision_record *d,
                          uint32_t index);

/* Answers Adjudicate (audit_adjudicate.c). */
int sidik__audit_adjudicate(const sidik_audit_service *as, const sidik_identity *who,
                            const uint8_t *p, size_t n, uint8_t **out, size_t *len, char *why,
                            size_t cap);

/* Writes the reply text and returns rc. */
int sidik__audit_say(char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int64_t sidik__audit_now(const sidik_audit_service *as);

#endif
