/*
 * Private to the spool (spool.c, spool_mark.c): the handle, the on-disk
 * state record and counters, and the transaction helpers both files use.
 */
#ifndef SIDIK_CLI_SPOOL_INT_H
#define SIDIK_CLI_SPOOL_INT_H

#include "spool.h"

#include <lmdb.h>

struct sidik_spool {
    MDB_env *env;
    MDB_dbi meta, rec, body, id, pending;
    int64_t base_ms, cap_ms;
    uint64_t (*rand)(void *ctx);
    void *rand_ctx;
};

/* Record flags. */
#define SPOOL_F_BODY    1u /* the body is in `body` */
#define SPOOL_F_CENTRE  2u /* the centre holds it */
#define SPOOL_F_RECEIPT 4u /* a receipt is recorded */

/* The fixed head of a `rec` value; the id (id_len bytes) and the refusal
 * reason (reason_len bytes) follow it. */
typedef struct spool_hdr {
    uint8_t sha256[32];
    uint8_t centre_sha256[32];
    int64_t changed_ms[SIDIK_STATUS_PRINTED + 1];
    int64_t next_attempt_ms;
    int64_t received_time_ms;
    uint64_t journal_seq;
    uint64_t bytes;
    uint32_t attempts;
    int32_t refusal_code;
    uint8_t status;
    uint8_t flags;
    uint8_t id_len;
    uint8_t reason_len;
    uint32_t reserved;
} spool_hdr;
_Static_assert(sizeof(spool_hdr) == 184, "spool record head is on disk");
_Static_assert(SIDIK_SPOOL_REASON_MAX <= 255 && SIDIK_ENROLL_ID_MAX <= 255, "lengths fit a byte");

/* A record in memory. */
typedef struct spool_rec {
    spool_hdr h;
    char id[SIDIK_ENROLL_ID_MAX + 1];
    char reason[SIDIK_SPOOL_REASON_MAX + 1];
} spool_rec;

/* meta "counts": kept in step with every record change, so stats and the
 * crash test's audit need no scan. */
typedef struct spool_counts {
    uint64_t by_status[SIDIK_STATUS_PRINTED + 1];
    uint64_t records, backlog, backlog_bytes, body_bytes;
} spool_counts;
_Static_assert(sizeof(spool_counts) == 13 * 8, "spool counters are on disk");

/* Whether a record is still to be sent: the centre does not hold it and
 * did not refuse it. Exactly these have a `pending` entry. */
static inline bool sidik__spool_due(const spool_rec *r)
{
    return r->h.status == SIDIK_STATUS_CAPTURED || r->h.status == SIDIK_STATUS_SENT;
}

MDB_val sidik__spool_key(uint64_t seq, uint8_t buf[8]);
uint64_t sidik__spool_key_seq(const MDB_val *k);

/* Reads record seq (SIDIK_ENOTFOUND, SIDIK_ECORRUPT); decodes a rec value
 * (SIDIK_ECORRUPT). */
int sidik__spool_rec_get(sidik_spool *sp, MDB_txn *txn, uint64_t seq, spool_rec *r);
int sidik__spool_rec_decode(const MDB_val *v, spool_rec *r);

/* Writes record seq's new state r over old (NULL: a new record): the rec
 * value, its pending entry and counts c. */
int sidik__spool_rec_put(sidik_spool *sp, MDB_txn *txn, uint64_t seq, const spool_rec *old,
                         const spool_rec *r, spool_counts *c);

/* Adds (sign 1) or removes (sign -1) r's share of the counters. */
void sidik__spool_count(spool_counts *c, const spool_rec *r, int sign);

/* A random u64 from the caller's source, else getrandom(2). */
uint64_t sidik__spool_rand(sidik_spool *sp);

int sidik__spool_counts_get(sidik_spool *sp, MDB_txn *txn, spool_counts *c);
int sidik__spool_counts_put(sidik_spool *sp, MDB_txn *txn, const spool_counts *c);

#endif
