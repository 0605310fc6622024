/*
 * Shared by the control store's files (private to storage/).
 */
#ifndef SIDIK_CONTROL_INT_H
#define SIDIK_CONTROL_INT_H

#include <stdbool.h>

#include "sidik/lmdb_env.h"
#include "sidik/control.h"

MDB_txn *sidik__control_txn(sidik_control_txn *t, bool *write);
void sidik__control_dbis(sidik_control_txn *t, MDB_dbi *enroll, MDB_dbi *office);
MDB_dbi sidik__control_decision_dbi(sidik_control_txn *t);
/* Format 3: journal sequence -> enrollment id (control_enroll.c). */
MDB_dbi sidik__control_seq_dbi(sidik_control_txn *t);
void sidik__control_print_dbis(sidik_control_txn *t, MDB_dbi *printq, MDB_dbi *lease,
                               MDB_dbi *lease_exp);
void sidik__control_audit_dbis(sidik_control_txn *t, MDB_dbi *audit, MDB_dbi *meta);
void sidik__control_person_dbis(sidik_control_txn *t, MDB_dbi *person, MDB_dbi *nik);
/* The format-2 indexes: decisions by time/office/NIK, the review queue,
 * the UNIQUE verdicts waiting for the dedup stage (control_find.c). */
void sidik__control_find_dbis(sidik_control_txn *t, MDB_dbi *dfind, MDB_dbi *review,
                              MDB_dbi *pending);

/* Review-queue keys (control_find.c): put when e enters ADJUDICATE at
 * time_ms, del when it leaves (entered at time_ms). */
int sidik__control_review_put(sidik_control_txn *t, const sidik_enrollment *e, int64_t time_ms);
int sidik__control_review_del(sidik_control_txn *t, const sidik_enrollment *e, int64_t time_ms);
/* Decision-order keys for decision index of enrollment e (control_find.c). */
int sidik__control_decision_index(sidik_control_txn *t, const sidik_enrollment *e, uint32_t index,
                                  int64_t time_ms);
/* Upgrading a format-1 store: every ADJUDICATE enrollment into the review
 * queue, found through the office index (control_find.c). */
int sidik__control_review_rebuild(sidik_control_txn *t);
/* Upgrading to format 3: the enrollments of the review queue into the
 * sequence index (control_enroll.c). */
int sidik__control_seq_rebuild(sidik_control_txn *t);

/* A walk over one range of keys: those that begin like the start key (all
 * but its last `tail` bytes) and are exactly as long (office + status +
 * sequence, enrollment id + index, region + sequence). */
typedef struct sidik__range {
    MDB_cursor *cur;
    uint8_t start[128];
    size_t len, tail;
} sidik__range;

/* Opens a cursor on dbi for the range starting at start. Returns 0 or an
 * error; close r->cur with mdb_cursor_close. */
int sidik__range_open(sidik__range *r, MDB_txn *txn, MDB_dbi dbi, const MDB_val *start, size_t tail);

/* Moves to the first key at or after the start (first) or to the next one:
 * 0 with *k and *v, 1 past the range, or an error. */
int sidik__range_step(sidik__range *r, bool first, MDB_val *k, MDB_val *v);

/* Shared field rules (control_enroll.c). */
bool sidik__control_valid_id(const char *s);
bool sidik__control_valid_status(uint32_t s);
bool sidik__control_valid_nik(const char *s); /* 16 digits, or empty */

#endif
