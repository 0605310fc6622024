/*
 * Shared by the control store's files (private to storage/).
 */
#ifndef SIDIK_CONTROL_INT_H
#define SIDIK_CONTROL_INT_H

#include <lmdb.h>
#include <stdbool.h>

#include "sidik/control.h"

/* LMDB's result codes (and the errno values it passes on) as sidik's,
 * translated here once. */
int sidik__lmdb_err(int rc);

MDB_txn *sidik__control_txn(sidik_control_txn *t, bool *write);
void sidik__control_dbis(sidik_control_txn *t, MDB_dbi *enroll, MDB_dbi *office);

#endif
