/*
 * The journal's on-disk layouts and its I/O backends (private to storage/).
 *
 * Integers are stored little-endian, which is the host order on every
 * machine sidik builds for (x86-64; the static assert below keeps it so).
 */
#ifndef SIDIK_JOURNAL_INT_H
#define SIDIK_JOURNAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the journal's layouts are little-endian host structs"
#endif

#define SIDIK__SEG_MAGIC   "SIDIKJNL"
#define SIDIK__SEG_VERSION 1u
#define SIDIK__ENTRY_MAGIC 0x314e4a53u /* "SJN1" */
#define SIDIK__ENTRY_ALIGN 8u

/* The first 32 bytes of every segment file. */
typedef struct sidik__seg_header {
    char magic[8];         /* SIDIK__SEG_MAGIC */
    uint32_t version;      /* SIDIK__SEG_VERSION */
    uint32_t header_bytes; /* sizeof this struct */
    uint64_t first_seq;    /* sequence of the segment's first entry */
    uint32_t reserved;     /* 0 */
    uint32_t crc;          /* CRC32C of the 28 bytes before it */
} sidik__seg_header;
_Static_assert(sizeof(sidik__seg_header) == 32, "segment header is 32 bytes on disk");

/* Before every entry's payload. */
typedef struct sidik__entry_header {
    uint32_t magic;          /* SIDIK__ENTRY_MAGIC */
    uint32_t len;            /* payload bytes, <= SIDIK_JOURNAL_MAX_ENTRY */
    uint64_t seq;            /* one more than the entry before it */
    uint64_t durable_before; /* the durable point when the entry's group was
                                written: every entry up to it was synced */
    uint32_t kind;           /* the caller's */
    uint32_t crc;            /* CRC32C(payload), continued over the 28 bytes
                                before this field */
} sidik__entry_header;
_Static_assert(sizeof(sidik__entry_header) == 32, "entry header is 32 bytes on disk");

/* Bytes an entry of n payload bytes takes on disk. */
static inline uint64_t sidik__entry_span(uint64_t n)
{
    return (sizeof(sidik__entry_header) + n + SIDIK__ENTRY_ALIGN - 1) & ~(uint64_t)(SIDIK__ENTRY_ALIGN - 1);
}

/* Checks the entry at p[0..avail) in full (header, bounds, CRC). */
bool sidik__entry_valid(const uint8_t *p, uint64_t avail);

/* ---- I/O backends ---------------------------------------------------------
 * One group at a time: write buf[0..n) at off in fd, then (if sync)
 * fdatasync, returning 0 or -errno. Short writes are continued. Used only by
 * the journal's thread. */

typedef struct sidik__jio sidik__jio;

/* io_uring: -errno when the kernel refuses a ring (ENOSYS before 5.1,
 * EPERM under seccomp or io_uring_disabled). */
int sidik__jio_uring_create(sidik__jio **out);
/* pwrite + fdatasync; fails only for want of memory. */
int sidik__jio_sync_create(sidik__jio **out);

struct sidik__jio {
    const char *name;
    int (*write)(sidik__jio *io, int fd, const void *buf, size_t n, uint64_t off, bool sync);
    void (*destroy)(sidik__jio *io);
};

#endif
