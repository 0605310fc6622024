/*
 * `sidik print`: what a print station does with authorisations.
 *
 *   sidik print verify --key PUBLIC.pem FILE...
 *
 * checks each FILE (a PrintAuthorisation message as Print.Lease returns
 * it, protobuf bytes; "-" reads standard input) offline: the Ed25519
 * signature over its payload with the server's public key, the payload in
 * its canonical form, and the message's own fields agreeing with what was
 * signed (a station prints from the signed payload, but a message whose
 * visible fields were changed is refused rather than trusted).
 */
#include "cli.h"
#include "sidik/common.h"
#include "sidik/print_auth.h"
#include "sidik.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FILE_MAX (64 * 1024) /* an authorisation is under 1 KB */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sidik print verify --key PUBLIC.pem FILE...\n"
            "\n"
            "Checks print authorisations offline, each FILE one PrintAuthorisation\n"
            "message as Print.Lease returns it ('-': standard input):\n"
            "  - its Ed25519 signature over the payload, with the server's public\n"
            "    key (sidikd writes it beside its print_key, ending .pub);\n"
            "  - the payload is a sidik authorisation in its one canonical form;\n"
            "  - the message's enrollment id, NIK, region and time are the signed ones.\n"
            "Prints one line per FILE: 'valid' with what it authorises, or 'INVALID'\n"
            "with the reason.\n"
            "\n"
            "Example:\n"
            "  sidik print verify --key var/print-signing.pub auth/*.pb\n"
            "\n"
            "Exit codes: 0 every FILE is valid, 1 at least one is not (or cannot be\n"
            "read), 2 the command line or the key is wrong.\n");
}

static size_t read_all(const char *path, uint8_t *buf, size_t cap, const char **why)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        *why = strerror(errno);
        return 0;
    }
    size_t n = fread(buf, 1, cap, f);
    if (ferror(f))
        *why = "read error";
    else if (n == cap)
        *why = "larger than any authorisation";
    else if (n == 0)
        *why = "empty";
    if (f != stdin)
        fclose(f);
    return *why == NULL ? n : 0;
}

/* NULL when m is a valid authorisation (*a what it says), else why not. */
static const char *check(EVP_PKEY *key, const Sidik__V1__PrintAuthorisation *m,
                         sidik_print_auth *a)
{
    const char *why = NULL;
    int rc = sidik_print_verify(key, m->payload.data, m->payload.len, m->signature.data,
                                m->signature.len);
    if (rc == SIDIK_EBADSIG)
        return "the signature does not verify with this key";
    if (rc != 0)
        return sidik_strerror(rc);
    if (sidik_print_auth_decode(m->payload.data, m->payload.len, a, &why) != 0)
        return why; /* signed, yet not an authorisation: a key used for something else */
    if (strcmp(m->enrollment_id, a->enrollment_id) != 0)
        return "the message's enrollment_id is not the signed one";
    if (strcmp(m->nik, a->nik) != 0)
        return "the message's nik is not the signed one";
    if (strcmp(m->region_code, a->region) != 0)
        return "the message's region_code is not the signed one";
    if (m->authorised_time_ms != a->authorised_ms)
        return "the message's authorised_time_ms is not the signed one";
    return NULL;
}

static bool verify_file(EVP_PKEY *key, const char *path)
{
    static uint8_t buf[FILE_MAX];
    const char *why = NULL;
    size_t n = read_all(path, buf, sizeof buf, &why);
    if (why != NULL) {
        printf("%s: INVALID: cannot read it: %s\n", path, why);
        return false;
    }
    Sidik__V1__PrintAuthorisation *m = sidik__v1__print_authorisation__unpack(NULL, n, buf);
    if (m == NULL) {
        printf("%s: INVALID: not a PrintAuthorisation message\n", path);
        return false;
    }
    sidik_print_auth a;
    why = check(key, m, &a);
    sidik__v1__print_authorisation__free_unpacked(m, NULL);
    if (why != NULL) {
        printf("%s: INVALID: %s\n", path, why);
        return false;
    }
    time_t secs = (time_t)(a.authorised_ms / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&secs, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s: valid: enrollment %s, NIK %s, region %s, gallery record %" PRIu64
           ", authorised %s\n",
           path, a.enrollment_id, a.nik, a.region, a.record_id, when);
    return true;
}

static int verify(int argc, char **argv)
{
    const char *keypath = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return SIDIK_CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            keypath = argv[++i];
        } else if (strncmp(argv[i], "--key=", 6) == 0) {
            keypath = argv[i] + 6;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            fprintf(stderr, "sidik print verify: unknown option '%s'; see --help\n", argv[i]);
            return SIDIK_CLI_EXIT_USAGE;
        } else {
            break;
        }
    }
    if (keypath == NULL || i == argc) {
        fprintf(stderr, "sidik print verify: needs --key PUBLIC.pem and at least one FILE; "
                        "see --help\n");
        return SIDIK_CLI_EXIT_USAGE;
    }
    EVP_PKEY *key;
    const char *why = NULL;
    int rc = sidik_print_key_load(keypath, false, &key, &why);
    if (rc != 0) {
        fprintf(stderr, "sidik print verify: key %s: %s (%s); give the .pub file sidikd wrote "
                        "beside its print_key\n",
                keypath, why ? why : "", sidik_strerror(rc));
        return SIDIK_CLI_EXIT_USAGE;
    }
    bool all = true;
    for (; i < argc; i++)
        all &= verify_file(key, argv[i]);
    EVP_PKEY_free(key);
    return all ? SIDIK_CLI_EXIT_OK : SIDIK_CLI_EXIT_FAIL;
}

int sidik_cmd_print(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SIDIK_CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return SIDIK_CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "verify") == 0)
        return verify(argc - 1, argv + 1);
    fprintf(stderr, "sidik print: unknown subcommand '%s'; see 'sidik print --help'\n", argv[1]);
    return SIDIK_CLI_EXIT_USAGE;
}
