/*
 * Private to storage/: LMDB error translation.
 */
#ifndef SIDIK_LMDB_INT_H
#define SIDIK_LMDB_INT_H

#include <lmdb.h>

/* LMDB's result codes (and the errno values it passes on) as sidik's. */
int sidik__lmdb_err(int rc);

#endif
