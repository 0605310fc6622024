/*
 * The packet journal: every accepted upload, appended in order, checksummed,
 * and made durable in groups before anyone is told it was received.
 *
 * On disk: a folder of segment files named by the first sequence number they
 * hold (`0000000000000001.seg`), each a 32-byte header then entries. An
 * entry is a 32-byte header (magic, length, sequence, the durable point when
 * it was written, kind, CRC32C over header and payload) and its payload,
 * padded to 8 bytes. Layouts and the recovery rules are in storage/README.md.
 *
 * Group commit: sidik_journal_append() copies the entry into memory and
 * returns its sequence number at once; the journal's own thread writes
 * everything pending in one write and one fdatasync, then publishes the new
 * durable point (sidik_journal_durable(), the on_durable callback). While one
 * group is being synced the next one gathers, so the number of syncs per
 * second stays near what the disk allows however many appenders there are.
 *
 * I/O: through io_uring (the write and the fdatasync linked, one syscall per
 * group) where the kernel offers it, otherwise plain pwritev + fdatasync with
 * the same semantics; the choice is logged and can be forced.
 *
 * Failure: the first write or sync error stops the journal for good (after a
 * failed fsync the page cache can no longer be trusted): the durable point
 * stops, every later append and wait returns the error, and what was durable
 * stays durable. Reopening recovers from the files.
 *
 * Recovery (sidik_journal_open): entries are verified in order. A bad entry
 * in the last segment whose successors were all written before it was
 * durable is a torn tail from a crash: it and everything after it is cut
 * (never acknowledged, so nothing is lost). Damage anywhere else, to an entry
 * that had been durable, is SIDIK_ECORRUPT: the journal refuses to open
 * rather than drop acknowledged data.
 *
 * Thread safety: append, durable, wait, status and scan may be called from
 * any thread at once; close from one thread when no other call is running.
 * on_durable runs on the journal's thread, never synchronously inside append.
 */
#ifndef SIDIK_JOURNAL_H
#define SIDIK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct sidik_journal sidik_journal;

typedef enum {
    SIDIK_JOURNAL_AUTO = 0, /* io_uring if the kernel allows it, else sync */
    SIDIK_JOURNAL_URING,    /* io_uring or fail to open */
    SIDIK_JOURNAL_SYNC,     /* pwritev + fdatasync */
} sidik_journal_backend;

/* The operations a test's fault hook may fail. */
typedef enum {
    SIDIK_JOURNAL_OP_WRITE = 0, /* a group's write */
    SIDIK_JOURNAL_OP_SYNC,      /* a group's fdatasync */
    SIDIK_JOURNAL_OP_CREATE,    /* creating a new segment */
} sidik_journal_op;

#define SIDIK_JOURNAL_MAX_ENTRY (64u << 20)

typedef struct sidik_journal_options {
    sidik_journal_backend backend;
    uint64_t segment_bytes;   /* start a new segment past this; 0: 256 MiB */
    size_t max_pending_bytes; /* appends beyond this many unsynced bytes get
                                 SIDIK_EBUSY; 0: 64 MiB */
    /* Called on the journal thread each time the durable point advances,
     * and once more when the journal stops for an error (then
     * sidik_journal_status() says which). */
    void (*on_durable)(void *ctx, uint64_t durable_seq);
    void *ctx;
    /* Tests: called before each operation; a nonzero return (-errno) is
     * taken as that operation's result and the operation is not done. */
    int (*fault)(void *ctx, sidik_journal_op op);
    void *fault_ctx;
} sidik_journal_options;

/** Opens (creating if needed) the journal in folder dir, recovers it as the
 *  header describes and starts its thread. o may be NULL for defaults.
 *  Errors: SIDIK_EINVAL (bad arguments or options), SIDIK_EVERSION (a
 *  segment of another format version), SIDIK_ECORRUPT (acknowledged data
 *  damaged; *why names the segment and offset), SIDIK_EUNSUPPORTED (URING
 *  forced where the kernel refuses it), SIDIK_ENOMEM, -errno from the file
 *  system. *why (may be NULL) gets a static reason on error. */
int sidik_journal_open(const char *dir, const sidik_journal_options *o, sidik_journal **out,
                       const char **why);

/** Writes and syncs what is pending, stops the thread and frees j. Returns 0,
 *  or the error that stopped the journal (entries after its durable point
 *  were then not written). */
int sidik_journal_close(sidik_journal *j);

/** Appends one entry (kind is the caller's; payload p[0..n) is copied) and
 *  returns its sequence number in *seq. It is durable once
 *  sidik_journal_durable() >= *seq. Errors: SIDIK_EINVAL, SIDIK_ETOOBIG
 *  (n > SIDIK_JOURNAL_MAX_ENTRY), SIDIK_EBUSY (too much pending: retry after
 *  the next durable point), SIDIK_ENOMEM, SIDIK_ESHUTDOWN (closing), or the
 *  error that stopped the journal (SIDIK_EFULL for a full disk, -EIO, ...). */
int sidik_journal_append(sidik_journal *j, uint32_t kind, const void *p, size_t n, uint64_t *seq);

/** The highest sequence number known durable (0: none yet). Lock-free. */
uint64_t sidik_journal_durable(const sidik_journal *j);

/** The sequence number the next append will get. */
uint64_t sidik_journal_next(const sidik_journal *j);

/** Blocks until seq is durable (0) or the journal stops (its error). */
int sidik_journal_wait(sidik_journal *j, uint64_t seq);

/** 0 while the journal works, else the error that stopped it. */
int sidik_journal_status(const sidik_journal *j);

/** Calls fn for every durable entry with sequence >= from, in order, until
 *  fn returns nonzero (which scan then returns). The payload is borrowed for
 *  the call. Errors: fn's, SIDIK_ENOMEM, SIDIK_ECORRUPT, -errno. */
int sidik_journal_scan(sidik_journal *j, uint64_t from,
                       int (*fn)(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n),
                       void *ctx);

typedef struct sidik_journal_stats {
    uint64_t entries;     /* appended since open */
    uint64_t bytes;       /* written since open, headers and padding included */
    uint64_t groups;      /* write + sync rounds since open */
    uint64_t segments;    /* segment files now */
    uint64_t cut_bytes;   /* torn tail removed by the last open */
    const char *backend;  /* "io_uring" or "sync" */
} sidik_journal_stats;

void sidik_journal_get_stats(sidik_journal *j, sidik_journal_stats *out);

#endif
