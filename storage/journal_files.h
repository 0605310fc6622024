/*
 * The journal's folder: segment files, recovery of the last one, reading.
 * Private to storage/journal*.c.
 */
#ifndef SIDIK_JOURNAL_FILES_H
#define SIDIK_JOURNAL_FILES_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sidik__jfiles {
    char *dir;
    int dirfd;
    int fd;          /* the last segment, open for appends (the journal thread's) */
    uint64_t offset; /* where the next group goes in it */
    uint64_t cut_bytes;
    pthread_mutex_t mu; /* guards the list below: the thread adds, scans read */
    uint64_t *first; /* first sequence of each segment, ascending */
    size_t nsegments, cap;
} sidik__jfiles;

/* Opens or creates the folder, removes leftovers of an interrupted segment
 * creation, checks every segment's header and recovers the last segment
 * (journal.h, "Recovery"). *last_seq: the last entry kept (0: none). */
int sidik__jfiles_open(sidik__jfiles *f, const char *dir, uint64_t *last_seq, const char **why);
void sidik__jfiles_close(sidik__jfiles *f);

/* Starts a new segment whose first entry will be first_seq (the current
 * one is already synced): written whole under a temporary name, synced,
 * renamed, and the folder synced, so a crash leaves it complete or absent. */
int sidik__jfiles_roll(sidik__jfiles *f, uint64_t first_seq);

size_t sidik__jfiles_count(sidik__jfiles *f);

/* Reads entries [from, upto] in order, verifying each (journal.h). */
int sidik__jfiles_scan(sidik__jfiles *f, uint64_t from, uint64_t upto,
                       int (*fn)(void *ctx, uint64_t seq, uint32_t kind, const void *p, size_t n),
                       void *ctx);

#endif
