/*
 * Captures from a station's folder (upload.h): one `<enrollment_id>.pb` per
 * capture, the packed sidik.v1.Enrollment its capture software wrote.
 *
 * The folder is written by another program, possibly while we read it, and
 * possibly badly: each file is opened without following a FIFO's wait,
 * checked to be a regular file of a sane size before a byte is read, parsed,
 * checked to carry the id it is named after, and re-encoded with protobuf-c
 * so the spool holds the canonical bytes the centre's content hash covers
 * (another encoder may order fields differently; the content is the same).
 */
#include "upload.h"

#include "sidik/common.h"
#include "sidik.pb-c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

int sidik_upload_folder_kind(const char *name)
{
    if (name[0] == '.' || ends_with(name, ".tmp") || ends_with(name, ".part"))
        return 0;
    return ends_with(name, ".pb") && strlen(name) > 3 ? 1 : -1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sidik_upload_folder_list(const char *dir, char ***names, size_t *n, char *why, size_t cap)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        int rc = -errno;
        (void)sidik_why(why, cap, 0, "cannot read the folder %s: %s", dir, sidik_strerror(rc));
        return rc;
    }
    char **v = NULL;
    size_t len = 0, vcap = 0;
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (sidik_upload_folder_kind(e->d_name) == 0)
            continue;
        char **nv = sidik_trygrow(v, &vcap, len, sizeof *nv, 64);
        if (nv == NULL) {
            rc = SIDIK_ENOMEM;
            break;
        }
        v = nv;
        size_t k = strlen(e->d_name);
        if ((v[len] = sidik_trymalloc(k + 1)) == NULL) {
            rc = SIDIK_ENOMEM;
            break;
        }
        memcpy(v[len++], e->d_name, k + 1);
        errno = 0;
    }
    if (rc == 0 && errno != 0) {
        rc = -errno;
        (void)sidik_why(why, cap, 0, "cannot read the folder %s: %s", dir, sidik_strerror(rc));
    }
    closedir(d);
    if (rc != 0) {
        for (size_t i = 0; i < len; i++)
            sidik_free(v[i]);
        sidik_free(v);
        if (rc == SIDIK_ENOMEM)
            (void)sidik_why(why, cap, 0, "out of memory listing %s", dir);
        return rc;
    }
    if (len > 1)
        qsort(v, len, sizeof *v, by_name);
    *names = v;
    *n = len;
    return 0;
}

static void *pb_alloc(void *data, size_t n)
{
    (void)data;
    return sidik_trymalloc(n > 0 ? n : 1);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    sidik_free(p);
}

static ProtobufCAllocator pb_allocator = {pb_alloc, pb_free, NULL};

/* 8-4-4-4-12 hex digits, the centre's rule for enrollment_id. */
static bool is_uuid(const char *s)
{
    if (strlen(s) != SIDIK_UPLOAD_ID_LEN)
        return false;
    for (int i = 0; i < SIDIK_UPLOAD_ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
    }
    return true;
}

/* s for a message: at most 40 bytes, anything unprintable as '?'. */
static void shown(const char *s, char out[48])
{
    size_t o = 0;
    for (; s[o] != 0 && o < 40; o++)
        out[o] = (unsigned char)s[o] >= 0x20 && (unsigned char)s[o] < 0x7f ? s[o] : '?';
    if (s[o] != 0 && o == 40) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
}

/* The whole file: the size is checked before a byte is read. */
static int slurp(const char *path, const char *name, uint8_t **p, size_t *n, char *why, size_t cap)
{
    /* O_NONBLOCK: a FIFO put here opens without waiting for a writer, and
     * is then refused as not a regular file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int rc = -errno;
        (void)sidik_why(why, cap, 0, "%s: cannot open it: %s", name, sidik_strerror(rc));
        return rc;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        (void)sidik_why(why, cap, 0, "%s: %s", name, sidik_strerror(rc));
    } else if (!S_ISREG(st.st_mode)) {
        rc = SIDIK_EINVAL;
        (void)sidik_why(why, cap, 0, "%s: not a regular file", name);
    } else if (st.st_size == 0) {
        rc = SIDIK_EINVAL;
        (void)sidik_why(why, cap, 0,
                        "%s: empty file; the capture software may still be writing it (it should "
                        "write NAME.pb.tmp and rename it)",
                        name);
    } else if ((uint64_t)st.st_size > SIDIK_SPOOL_BODY_MAX) {
        rc = SIDIK_ETOOBIG;
        (void)sidik_why(why, cap, 0, "%s: %lld bytes, over the %u MiB one capture may hold", name,
                        (long long)st.st_size, SIDIK_SPOOL_BODY_MAX >> 20);
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    size_t want = (size_t)st.st_size, have = 0;
    uint8_t *buf = sidik_trymalloc(want);
    if (buf == NULL) {
        close(fd);
        (void)sidik_why(why, cap, 0, "%s: out of memory for %zu bytes", name, want);
        return SIDIK_ENOMEM;
    }
    while (have < want) {
        ssize_t r = read(fd, buf + have, want - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            (void)sidik_why(why, cap, 0, "%s: cannot read it: %s", name, sidik_strerror(rc));
            break;
        }
        if (r == 0) {
            rc = SIDIK_EFORMAT;
            (void)sidik_why(why, cap, 0,
                            "%s: it shrank from %zu to %zu bytes while being read; try again once "
                            "the capture software is done with it",
                            name, want, have);
            break;
        }
        have += (size_t)r;
    }
    close(fd);
    if (rc != 0) {
        sidik_free(buf);
        return rc;
    }
    *p = buf;
    *n = want;
    return 0;
}

int sidik_upload_folder_read(const char *dir, const char *name, uint8_t **p, size_t *n,
                             char id[SIDIK_UPLOAD_ID_LEN + 1], int64_t *capture_ms, char *why,
                             size_t cap)
{
    *p = NULL;
    *n = 0;
    id[0] = 0;
    if (sidik_upload_folder_kind(name) != 1) {
        (void)sidik_why(why, cap, 0,
                        "%s: not a capture file; a station writes one <enrollment_id>.pb per "
                        "capture",
                        name);
        return SIDIK_EINVAL;
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        (void)sidik_why(why, cap, 0, "%s: the path is too long", name);
        return SIDIK_EINVAL;
    }
    uint8_t *raw = NULL;
    size_t nraw = 0;
    int rc = slurp(path, name, &raw, &nraw, why, cap);
    if (rc != 0)
        return rc;
    Sidik__V1__Enrollment *e = sidik__v1__enrollment__unpack(&pb_allocator, nraw, raw);
    sidik_free(raw);
    if (e == NULL) {
        (void)sidik_why(why, cap, 0,
                        "%s: not a packed sidik.v1.Enrollment (the protobuf does not parse: "
                        "truncated, or not a capture file)",
                        name);
        return SIDIK_EFORMAT;
    }
    char show[48];
    size_t nlen = strlen(name) - 3;
    if (e->enrollment_id == NULL || e->enrollment_id[0] == 0) {
        (void)sidik_why(why, cap, 0, "%s: the enrollment has no enrollment_id", name);
        rc = SIDIK_EINVAL;
    } else if (!is_uuid(e->enrollment_id)) {
        shown(e->enrollment_id, show);
        (void)sidik_why(why, cap, 0, "%s: enrollment_id '%s' is not a UUID (8-4-4-4-12 hex digits)",
                        name, show);
        rc = SIDIK_EINVAL;
    } else if (nlen != SIDIK_UPLOAD_ID_LEN || memcmp(name, e->enrollment_id, nlen) != 0) {
        (void)sidik_why(why, cap, 0,
                        "%s: holds enrollment_id %s; a capture file is named after its id (%s.pb)",
                        name, e->enrollment_id, e->enrollment_id);
        rc = SIDIK_EINVAL;
    }
    if (rc == 0) {
        size_t len = sidik__v1__enrollment__get_packed_size(e);
        *p = sidik_trymalloc(len > 0 ? len : 1);
        if (*p == NULL) {
            (void)sidik_why(why, cap, 0, "%s: out of memory", name);
            rc = SIDIK_ENOMEM;
        } else {
            *n = sidik__v1__enrollment__pack(e, *p);
            memcpy(id, e->enrollment_id, SIDIK_UPLOAD_ID_LEN + 1);
            *capture_ms = e->capture_time_ms;
        }
    }
    sidik__v1__enrollment__free_unpacked(e, &pb_allocator);
    return rc;
}
