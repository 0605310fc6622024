/*
 * Shared by the control store's files (private to storage/).
 */
#ifndef SIDIK_CONTROL_INT_H
#define SIDIK_CONTROL_INT_H

#include <stdbool.h>

#include "lmdb_int.h"
#include "sidik/control.h"

MDB_txn *sidik__control_txn(sidik_control_txn *t, bool *write);
void sidik__control_dbis(sidik_control_txn *t, MDB_dbi *enroll, MDB_dbi *office);
MDB_dbi sidik__control_decision_dbi(sidik_control_txn *t);
void sidik__control_print_dbis(sidik_control_txn *t, MDB_dbi *printq, MDB_dbi *lease,
                               MDB_dbi *lease_exp);
void sidik__control_audit_dbis(sidik_control_txn *t, MDB_dbi *audit, MDB_dbi *meta);

/* Shared field rules (control_enroll.c). */
bool sidik__control_valid_id(const char *s);
bool sidik__control_valid_status(uint32_t s);

#endif
