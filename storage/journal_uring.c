/*
 * The journal's io_uring backend: a group's write and its fdatasync are
 * submitted together as a linked pair, so one io_uring_enter carries both
 * and the sync starts the moment the write completes, with no return to user
 * space between them. A short write cancels the linked sync (-ECANCELED);
 * the rest is then written and the pair submitted again.
 *
 * Without liburing at build time (SIDIK_WITH_IO_URING=OFF) creating this
 * backend fails with -ENOSYS, as an old kernel would, and the journal falls
 * back to the sync backend.
 */
#include "journal_int.h"
#include "sidik/common.h"

#include <errno.h>

#ifdef SIDIK_HAVE_IO_URING
#include <liburing.h>

typedef struct uring_jio {
    sidik__jio base;
    struct io_uring ring;
} uring_jio;

enum { TAG_WRITE = 1, TAG_SYNC = 2 };

static int uring_write(sidik__jio *io, int fd, const void *buf, size_t n, uint64_t off, bool sync)
{
    uring_jio *u = SIDIK_CONTAINER_OF(io, uring_jio, base);
    const uint8_t *p = buf;
    for (;;) {
        unsigned want = 0;
        if (n > 0) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
            /* Writes over 2 GiB are split by the kernel anyway; ask for at
             * most 1 GiB so the count fits the sqe's 32 bits. */
            unsigned len = n > (1u << 30) ? (1u << 30) : (unsigned)n;
            io_uring_prep_write(sqe, fd, p, len, off);
            io_uring_sqe_set_data64(sqe, TAG_WRITE);
            if (sync)
                sqe->flags |= IOSQE_IO_LINK;
            want++;
        }
        if (sync) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
            io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
            io_uring_sqe_set_data64(sqe, TAG_SYNC);
            want++;
        }
        if (want == 0)
            return 0;
        int rc = io_uring_submit_and_wait(&u->ring, want);
        if (rc < 0)
            return rc;
        int wrote = 0, synced = 0;
        for (unsigned got = 0; got < want; got++) {
            struct io_uring_cqe *cqe;
            while ((rc = io_uring_wait_cqe(&u->ring, &cqe)) == -EINTR)
                ;
            if (rc < 0)
                return rc;
            if (io_uring_cqe_get_data64(cqe) == TAG_WRITE)
                wrote = cqe->res;
            else
                synced = cqe->res;
            io_uring_cqe_seen(&u->ring, cqe);
        }
        if (n > 0) {
            if (wrote < 0)
                return wrote;
            if (wrote == 0)
                return -EIO;
            p += wrote;
            n -= (size_t)wrote;
            off += (uint64_t)wrote;
            if (n > 0)
                continue; /* short: the linked sync was cancelled */
        }
        return sync ? synced : 0;
    }
}

static void uring_destroy(sidik__jio *io)
{
    uring_jio *u = SIDIK_CONTAINER_OF(io, uring_jio, base);
    io_uring_queue_exit(&u->ring);
    sidik_free(u);
}

int sidik__jio_uring_create(sidik__jio **out)
{
    uring_jio *u = sidik_trymalloc(sizeof *u);
    if (u == NULL)
        return SIDIK_ENOMEM;
    int rc = io_uring_queue_init(8, &u->ring, 0);
    if (rc < 0) {
        sidik_free(u);
        return rc;
    }
    u->base = (sidik__jio){.name = "io_uring", .write = uring_write, .destroy = uring_destroy};
    *out = &u->base;
    return 0;
}

#else

int sidik__jio_uring_create(sidik__jio **out)
{
    (void)out;
    return -ENOSYS;
}

#endif
