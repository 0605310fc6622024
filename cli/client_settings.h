/*
 * Where a network command of `sidik` finds the server and its certificates.
 *
 * Every command that talks to sidikd (status, and later upload, audit,
 * admin, print) takes the same six flags and reads the same environment and
 * config file, so an office sets its certificates up once. For each setting
 * the first of these that gives it wins:
 *
 *   1. the command line:  --server HOST:PORT, --ca FILE, --cert FILE,
 *                         --key FILE, --timeout SECONDS (--config FILE
 *                         picks the file of step 3)
 *   2. the environment:   SIDIK_SERVER, SIDIK_CA, SIDIK_CERT, SIDIK_KEY,
 *                         SIDIK_TIMEOUT (SIDIK_CONFIG picks the file);
 *                         an empty variable counts as unset
 *   3. a config file:     --config, else SIDIK_CONFIG (either must exist),
 *                         else $XDG_CONFIG_HOME/sidik/client.conf or
 *                         ~/.config/sidik/client.conf when it exists:
 *                         `key = value` lines, `#` comments, keys server,
 *                         ca, cert, key, timeout, each at most once;
 *                         relative paths are relative to the file's folder
 *   4. the defaults:      server 127.0.0.1:7443 (sidikd's default listen
 *                         port, deploy/sidikd.conf), timeout 30 s; the CA,
 *                         certificate and key have none and must be given.
 *
 * Errors are written into the caller's why buffer, naming where the bad
 * value came from: "/home/o/.config/sidik/client.conf:3: unknown key
 * 'sever'", "SIDIK_TIMEOUT: ...", "--server: ...".
 *
 * Thread safety: the functions read the environment (getenv) and touch no
 * other state; call them before starting threads that change it.
 */
#ifndef SIDIK_CLIENT_SETTINGS_H
#define SIDIK_CLIENT_SETTINGS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define SIDIK_CLIENT_DEFAULT_SERVER     "127.0.0.1:7443"
#define SIDIK_CLIENT_DEFAULT_TIMEOUT_MS 30000u
#define SIDIK_CLIENT_TIMEOUT_MAX_MS     86400000u /* a day: past it, no deadline means much */

typedef struct sidik_client_settings {
    char server[256];      /* HOST:PORT, [IPV6]:PORT */
    char ca[PATH_MAX];     /* PEM CA certificate(s) the server's certificate must chain to */
    char cert[PATH_MAX];   /* PEM client certificate (chain); its OU is the role, CN the name */
    char key[PATH_MAX];    /* PEM private key of cert */
    uint32_t timeout_ms;   /* per call (and for connecting): 1 ms .. a day */
    char config[PATH_MAX]; /* the config file read, "" when none */
} sidik_client_settings;

/* The common flags one command was given: pointers into its argv (borrowed
 * for as long as argv lives), NULL when not given. Zero-initialise it. */
typedef struct sidik_client_flags {
    const char *server, *ca, *cert, *key, *timeout, *config;
} sidik_client_flags;

/* The flags' lines for a command's --help, each starting with two spaces
 * and ending with a newline, followed by the precedence in two lines. */
extern const char sidik_client_flags_usage[];

/** Takes one common flag at argv[*i]: "--server X" (then *i is advanced to
 *  X) or "--server=X". Returns 1 when argv[*i] was one, 0 when it is not a
 *  common flag (nothing changed), SIDIK_EINVAL when the flag lacks its
 *  value or repeats ("--server needs a value: HOST:PORT"). */
int sidik_client_flags_take(sidik_client_flags *f, int argc, char **argv, int *i, char *why,
                            size_t cap);

/** s = the defaults above (no config file read). */
void sidik_client_settings_defaults(sidik_client_settings *s);

/** Applies config text[0..n) to s. path names the file in messages and
 *  relative paths in it are taken relative to path's folder. Errors
 *  (why: "PATH:LINE: reason"): SIDIK_EFORMAT (not key = value, unknown or
 *  repeated key, empty value, NUL byte, a server or timeout that does not
 *  parse), SIDIK_ETOOBIG (a value or line too long), SIDIK_ERANGE (timeout
 *  outside 0.001-86400 s). s may be partly changed on error. */
int sidik_client_settings_parse(sidik_client_settings *s, const char *text, size_t n,
                                const char *path, char *why, size_t cap);

/** All four steps above: defaults, the config file, the environment, then
 *  f (NULL: no flags). Errors: those of _parse; -errno when a config file
 *  named by --config or SIDIK_CONFIG (or a default one that exists) cannot
 *  be read; SIDIK_ETOOBIG for a file over 64 KiB or a value too long;
 *  SIDIK_EFORMAT / SIDIK_ERANGE for a bad flag or variable; SIDIK_EINVAL
 *  when no CA, certificate or key was given anywhere. */
int sidik_client_settings_load(sidik_client_settings *s, const sidik_client_flags *f, char *why,
                               size_t cap);

/** Splits "host:port" or "[v6]:port" into host (brackets removed) and
 *  port. 0, or SIDIK_EFORMAT with *why (static text). */
int sidik_client_server_split(const char *server, char *host, size_t hcap, char *port, size_t pcap,
                              const char **why);

#endif
