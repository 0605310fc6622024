/*
 * The journal's portable backend: pwrite and fdatasync on the journal's
 * thread. Used where io_uring is unavailable (kernels before 5.1, seccomp
 * profiles and io_uring_disabled=2, which container runtimes often set) and
 * when forced; the semantics are the io_uring backend's exactly.
 */
#include "journal_int.h"
#include "sidik/common.h"

#include <errno.h>
#include <unistd.h>

static int sync_write(sidik__jio *io, int fd, const void *buf, size_t n, uint64_t off, bool sync)
{
    (void)io;
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO; /* a regular file never accepts nothing; don't spin */
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    if (sync) {
        while (fdatasync(fd) != 0)
            if (errno != EINTR)
                return -errno;
    }
    return 0;
}

static void sync_destroy(sidik__jio *io)
{
    sidik_free(io);
}

int sidik__jio_sync_create(sidik__jio **out)
{
    sidik__jio *io = sidik_trymalloc(sizeof *io);
    if (io == NULL)
        return SIDIK_ENOMEM;
    *io = (sidik__jio){.name = "sync", .write = sync_write, .destroy = sync_destroy};
    *out = io;
    return 0;
}
