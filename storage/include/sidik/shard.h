/*
 * A gallery shard: one LMDB environment holding, for each enrolled person
 * (record id, stable for life), the finger templates: the decoded record,
 * packed (sidik_fmr_pack, about 1.8 KB for ten fingers). The search
 * signature the engine scans is not stored: sidik_shard_each computes it
 * from the templates (about 45 us of CPU per person with AVX-512), where
 * storing it took 5.2 KB a person on disk. The templates are unpacked again
 * for the few persons a search shortlists.
 *
 * Threads: every function may be called from any thread; writes are
 * serialised by LMDB, reads run alongside them on snapshots. Layout and
 * format version in storage/README.md.
 */
#ifndef SIDIK_SHARD_H
#define SIDIK_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "sidik/signature.h"
#include "sidik/template.h"

typedef struct sidik_shard sidik_shard;

#define SIDIK_SHARD_TEMPLATE_MAX 65535u /* 10 fingers of 255 minutiae fit in 16 KB */

typedef struct sidik_shard_options {
    uint64_t map_bytes; /* LMDB map size; 0: 1 TiB (address space, not disk) */
    /* The I/O seam for tests and drills (NULL in production), as the
     * control store's: asked before each write transaction commits; a
     * nonzero answer (-EIO, SIDIK_EFULL, ...) aborts it and is what the
     * write returns, as a failing disk would make it. Any thread. */
    int (*fault)(void *ctx);
    void *fault_ctx;
} sidik_shard_options;

typedef struct sidik_shard_record {
    uint64_t id;                  /* nonzero */
    const uint8_t *tmpl;          /* a record sidik_fmr_decode reads, borrowed */
    size_t tmpl_len;
} sidik_shard_record;

/** Opens or creates shard number `number` in folder dir (a shard's folder
 *  records its number; opening it under another fails). o may be NULL.
 *  Errors: SIDIK_EINVAL, SIDIK_EVERSION, SIDIK_ECORRUPT (not a shard, or
 *  another shard's folder), SIDIK_ENOMEM, -errno; *why (may be NULL) says
 *  which. */
int sidik_shard_open(const char *dir, uint32_t number, const sidik_shard_options *o,
                     sidik_shard **out, const char **why);
void sidik_shard_close(sidik_shard *s);

/** Stores n records in one transaction: all or none. Each template must
 *  decode. Errors: SIDIK_EINVAL (id 0, NULL pointers), SIDIK_ETOOBIG
 *  (template over SIDIK_SHARD_TEMPLATE_MAX), the decoder's error for a bad
 *  template (*bad gets its index), SIDIK_EEXISTS (an id already stored, or
 *  twice in the batch), SIDIK_EFULL, SIDIK_ENOMEM. bad may be NULL. */
int sidik_shard_put(sidik_shard *s, const sidik_shard_record *r, size_t n, size_t *bad);

/** Decodes the templates of id into *out (the search's fetch). Errors:
 *  SIDIK_EINVAL, SIDIK_ENOTFOUND, SIDIK_ECORRUPT. */
int sidik_shard_get(sidik_shard *s, uint64_t id, sidik_fmr *out);

/** Deletes n records in one transaction: all or none. Errors: SIDIK_EINVAL,
 *  SIDIK_ENOTFOUND (one is absent), SIDIK_EFULL. */
int sidik_shard_del(sidik_shard *s, const uint64_t *ids, size_t n);

/** Copies records ids[0..n) from src to dst as stored, in one transaction
 *  of dst: all or none. Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND (absent from
 *  src), SIDIK_EEXISTS (already in dst), SIDIK_EFULL, SIDIK_ENOMEM. */
int sidik_shard_copy(sidik_shard *src, sidik_shard *dst, const uint64_t *ids, size_t n);

/** Up to cap record ids above `after`, ascending, into ids; *n how many. */
int sidik_shard_ids(sidik_shard *s, uint64_t after, uint64_t *ids, size_t cap, size_t *n);

/** Calls fn with every record's id and signature, in id order, from one
 *  snapshot, until fn returns nonzero (returned). The signature is computed
 *  from the record (sidik_sig_person; all fingers absent when none is
 *  usable) or, in a record stored before format 2, read as stored. *sig is
 *  borrowed for the call. Errors: fn's, SIDIK_ENOMEM, SIDIK_ECORRUPT. */
int sidik_shard_each(sidik_shard *s, int (*fn)(void *ctx, uint64_t id, const sidik_person_sig *sig),
                     void *ctx);

/** As sidik_shard_each, for the records with lo <= id <= hi only (none
 *  when hi < lo). Several ranges of one shard may be walked at once, each
 *  on its own thread: a walk's time is the signatures' computation, so a
 *  shard split in ranges keeps every thread of a pool busy to the end. */
int sidik_shard_each_range(sidik_shard *s, uint64_t lo, uint64_t hi,
                           int (*fn)(void *ctx, uint64_t id, const sidik_person_sig *sig),
                           void *ctx);

/** The lowest and highest id stored. Errors: SIDIK_EINVAL, SIDIK_ENOTFOUND
 *  (no record), SIDIK_ECORRUPT. */
int sidik_shard_span(sidik_shard *s, uint64_t *first, uint64_t *last);

/** Range `part` of `parts` (part < parts) that split first..last into
 *  ranges of about equal width, in order, covering every id once:
 *  *lo..*hi. Returns 0 when the range is empty (more parts than ids). */
int sidik_shard_slice(uint64_t first, uint64_t last, uint32_t part, uint32_t parts, uint64_t *lo,
                      uint64_t *hi);

/** Records stored, and bytes of the file in use (LMDB pages). */
int sidik_shard_stats(sidik_shard *s, uint64_t *records, uint64_t *bytes);

#endif
