/*
 * Fuzz target: an office's capture as `sidik upload` hands it to the spool
 * (sidik_spool_put), on arbitrary bytes, against one spool that keeps every
 * capture the run accepts (so ids meet again, as retries after a crash do).
 *
 * Beyond "no crash, no sanitizer report", it checks the contract in
 * cli/spool.h against protobuf-c itself:
 *  - put answers 0, SIDIK_EINVAL, SIDIK_EFORMAT or SIDIK_EEXISTS (ENOMEM
 *    aside), with a why on every refusal, and a refusal writes nothing;
 *  - it accepts exactly the bytes that are protobuf-c's own encoding of an
 *    Enrollment with an enrollment_id the centre would take (1-64 printable
 *    ASCII bytes, no space) and that no other content holds: every such
 *    message is taken, nothing else is;
 *  - what it took reads back whole: the record under that id and sequence,
 *    CAPTURED or later, its size and SHA-256, the body byte for byte; and
 *    the same bytes again answer the same sequence;
 *  - SIDIK_EEXISTS only where the id is held with other bytes.
 * Any breach aborts, which libFuzzer reports as a crash with the input saved.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sidik.pb-c.h"
#include "sidik/alloc.h"
#include "sidik/err.h"
#include "sidik/log.h"
#include "spool.h"

static void breach(const char *what, int rc)
{
    fprintf(stderr, "fuzz_spool_put: %s (%s)\n", what, sidik_err_name(rc));
    abort();
}

static bool id_acceptable(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > SIDIK_ENROLL_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] > '~')
            return false;
    return true;
}

/* Whether p[0..n) is protobuf-c's encoding of an Enrollment whose id the
 * centre takes; *id gets the id (NUL-terminated) when it decodes. */
static bool spoolable(const uint8_t *p, size_t n, char *id)
{
    id[0] = 0;
    Sidik__V1__Enrollment *e = sidik__v1__enrollment__unpack(NULL, n, p);
    if (e == NULL)
        return false;
    bool ok = e->enrollment_id != NULL && strlen(e->enrollment_id) <= SIDIK_ENROLL_ID_MAX;
    if (ok)
        strcpy(id, e->enrollment_id);
    ok = ok && id_acceptable(id) && sidik__v1__enrollment__get_packed_size(e) == n;
    if (ok) {
        uint8_t *again = sidik_xmalloc(n);
        ok = sidik__v1__enrollment__pack(e, again) == n && memcmp(again, p, n) == 0;
        sidik_free(again);
    }
    sidik__v1__enrollment__free_unpacked(e, NULL);
    return ok;
}

static bool body_is(sidik_spool *sp, uint64_t seq, const uint8_t *p, size_t n)
{
    uint8_t *b = NULL;
    size_t bn = 0;
    int rc = sidik_spool_body(sp, seq, &b, &bn);
    if (rc != 0)
        breach("the body of a held capture does not read back", rc);
    bool same = bn == n && memcmp(b, p, n) == 0;
    sidik_free(b);
    return same;
}

static sidik_spool *sp;

/* The spool's folder is emptied and removed as soon as it is open: LMDB
 * keeps its files through the open descriptors, and nothing is left behind
 * however the run ends (libFuzzer's time limit skips atexit handlers). */
static void spool_once(void)
{
    if (sp != NULL)
        return;
    /* tmpfs where there is one: every put's synced commit costs nothing. */
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "%s/sidik-fuzz-spool-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL)
        breach("mkdtemp", -1);
    sidik_log_set_fd(open("/dev/null", O_WRONLY | O_CLOEXEC));
    /* A map far above what a run fills (inputs of a few KB), and far below
     * the default 64 GiB of address space, which ASan would reserve around. */
    sidik_spool_options o = {.map_bytes = 1ull << 30};
    const char *why;
    int rc = sidik_spool_open(dir, &o, &sp, &why);
    if (rc != 0)
        breach("opening the spool", rc);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    spool_once();
    char id[SIDIK_ENROLL_ID_MAX + 1];
    bool ok = spoolable(data, size, id);
    uint64_t held = 0;
    bool held_other = ok && sidik_spool_find(sp, id, &held) == 0 && !body_is(sp, held, data, size);

    sidik_spool_stats before, after;
    if (sidik_spool_stats_get(sp, &before) != 0)
        breach("stats", 0);
    uint64_t seq = 0;
    const char *why = NULL;
    int rc = sidik_spool_put(sp, data, size, 1796207703000LL, &seq, &why);
    if (rc == SIDIK_ENOMEM)
        return 0;
    if (rc != 0 && rc != SIDIK_EINVAL && rc != SIDIK_EFORMAT && rc != SIDIK_EEXISTS)
        breach("put answered a code it does not document for its input", rc);
    if (rc != 0 && why == NULL)
        breach("a refusal without a why", rc);
    if ((rc == SIDIK_EEXISTS) != held_other)
        breach(held_other ? "an id held with other bytes taken again"
                          : "EEXISTS for an id not held with other bytes",
               rc);
    if (rc != 0) {
        if (ok && !held_other)
            breach("a spoolable capture refused", rc);
        if (sidik_spool_stats_get(sp, &after) != 0 || after.records != before.records ||
            after.body_bytes != before.body_bytes || after.next_seq != before.next_seq)
            breach("a refused put changed the spool", rc);
        return 0;
    }
    if (!ok)
        breach("bytes that are not a spoolable capture taken", rc);

    sidik_spool_entry e;
    uint64_t found = 0;
    if (sidik_spool_get(sp, seq, &e) != 0 || sidik_spool_find(sp, id, &found) != 0 || found != seq)
        breach("a taken capture is not found under its id and sequence", 0);
    uint8_t sha[32];
    unsigned len = 0;
    if (EVP_Digest(data, size, sha, &len, EVP_sha256(), NULL) != 1 || len != 32)
        breach("SHA-256", 0);
    if (strcmp(e.id, id) != 0 || e.status < SIDIK_STATUS_CAPTURED || e.bytes != size ||
        !e.body_held || memcmp(e.sha256, sha, 32) != 0)
        breach("a taken capture's record disagrees with what was put", 0);
    if (!body_is(sp, seq, data, size))
        breach("a taken capture's body differs from what was put", 0);
    uint64_t again = 0;
    if ((rc = sidik_spool_put(sp, data, size, 1796207704000LL, &again, &why)) != 0 || again != seq)
        breach("the same capture again did not answer its sequence", rc);
    return 0;
}
