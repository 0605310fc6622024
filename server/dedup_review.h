/*
 * The enrollments awaiting review that the dedup stage keeps searchable
 * (dedup_int.h). A person sent to review is not yet enrolled, but a second
 * capture of them must not slip through meanwhile: the stage puts each
 * ADJUDICATE enrollment with a usable probe into its search gallery under
 * its journal sequence (the record id it gets if adjudicated UNIQUE) and
 * keeps here what a shortlisted one needs: its enrollment id, for the
 * reason a person reads, and its ten-print as ISO/IEC 19794-2:2005 bytes,
 * for the full match (about 2.4 KB for ten fingers of 40 minutiae).
 *
 * Kept sorted by sequence: enrollments are decided in journal order, so an
 * add appends. Caller's storage, zeroed to start. Not thread-safe: the
 * stage's thread changes it only between searches, and the search's pool
 * threads only read it during one.
 */
#ifndef SIDIK_DEDUP_REVIEW_H
#define SIDIK_DEDUP_REVIEW_H

#include "sidik/control.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sidik__review_entry {
    uint64_t seq;
    sidik_enroll_id id;
    uint8_t *iso; /* owned */
    size_t iso_len;
} sidik__review_entry;

typedef struct sidik__review_set {
    sidik__review_entry *e;
    size_t n, cap;
} sidik__review_set;

/** Adds seq with id and iso[0..len) (copied). Returns 0, SIDIK_EINVAL
 *  (seq 0, NULL, an id too long, len 0), SIDIK_EEXISTS or SIDIK_ENOMEM. */
int sidik__review_add(sidik__review_set *r, uint64_t seq, const char *id, const uint8_t *iso,
                      size_t len);

/** The entry of seq, borrowed until the set next changes; NULL if none. */
const sidik__review_entry *sidik__review_find(const sidik__review_set *r, uint64_t seq);

/** Removes seq; whether it was there. */
bool sidik__review_remove(sidik__review_set *r, uint64_t seq);

/** Frees everything; the set is empty again. */
void sidik__review_close(sidik__review_set *r);

#endif
