/*
 * The network commands' settings (client_settings.h): flags over
 * environment over config file over defaults, each bad value refused with
 * where it came from.
 */
#include "client_settings.h"
#include "sidik/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A client.conf is a few lines; anything bigger is a wrong file. A line
 * must hold a whole PATH_MAX path with its key. */
#define FILE_MAX_BYTES (64 * 1024)
#define LINE_MAX_BYTES (PATH_MAX + 64)

const char sidik_client_flags_usage[] =
    "  --server HOST:PORT  sidikd's address ([::1]:7443 for IPv6; "
    "default " SIDIK_CLIENT_DEFAULT_SERVER ")\n"
    "  --ca FILE           the CA certificate the server's certificate must be signed by\n"
    "  --cert FILE         this station's client certificate (its OU is the role)\n"
    "  --key FILE          the private key of --cert\n"
    "  --timeout SECONDS   deadline of each call and of connecting (default 30; 0.5 works)\n"
    "  --config FILE       settings file (default $XDG_CONFIG_HOME/sidik/client.conf or\n"
    "                      ~/.config/sidik/client.conf): key = value lines, keys server,\n"
    "                      ca, cert, key, timeout; paths relative to the file's folder\n"
    "Flags win over SIDIK_SERVER, SIDIK_CA, SIDIK_CERT, SIDIK_KEY, SIDIK_TIMEOUT and\n"
    "SIDIK_CONFIG, which win over the config file, which wins over the defaults.\n";

typedef enum { K_SERVER, K_CA, K_CERT, K_KEY, K_TIMEOUT, K_COUNT } key_id;

static const struct {
    const char *name, *flag, *env;
} keys[K_COUNT] = {
    [K_SERVER] = {"server", "--server", "SIDIK_SERVER"},
    [K_CA] = {"ca", "--ca", "SIDIK_CA"},
    [K_CERT] = {"cert", "--cert", "SIDIK_CERT"},
    [K_KEY] = {"key", "--key", "SIDIK_KEY"},
    [K_TIMEOUT] = {"timeout", "--timeout", "SIDIK_TIMEOUT"},
};

/* ---- flags ------------------------------------------------------------------------ */

int sidik_client_flags_take(sidik_client_flags *f, int argc, char **argv, int *i, char *why,
                            size_t cap)
{
    static const char *const names[] = {"--server", "--ca",      "--cert",
                                        "--key",    "--timeout", "--config"};
    static const char *const what[] = {"HOST:PORT", "FILE", "FILE", "FILE", "SECONDS", "FILE"};
    const char **slot[] = {&f->server, &f->ca, &f->cert, &f->key, &f->timeout, &f->config};
    const char *a = argv[*i];
    for (size_t k = 0; k < SIDIK_ARRAY_SIZE(names); k++) {
        size_t n = strlen(names[k]);
        if (strncmp(a, names[k], n) != 0 || (a[n] != 0 && a[n] != '='))
            continue;
        const char *v;
        if (a[n] == '=') {
            v = a + n + 1;
        } else if (*i + 1 < argc) {
            v = argv[++*i];
        } else {
            (void)sidik_why(why, cap, 0, "%s needs a value: %s", names[k], what[k]);
            return SIDIK_EINVAL;
        }
        if (*slot[k] != NULL) {
            (void)sidik_why(why, cap, 0, "%s given twice", names[k]);
            return SIDIK_EINVAL;
        }
        *slot[k] = v;
        return 1;
    }
    return 0;
}

/* ---- values ----------------------------------------------------------------------- */

int sidik_client_server_split(const char *server, char *host, size_t hcap, char *port, size_t pcap,
                              const char **why)
{
    static const char *const form =
        "expected HOST:PORT, such as sidik.example.id:7443 or [::1]:7443";
    const char *colon = strrchr(server, ':');
    if (colon == NULL || colon == server) {
        *why = form;
        return SIDIK_EFORMAT;
    }
    const char *h = server;
    size_t hn = (size_t)(colon - server);
    if (server[0] == '[') {
        if (hn < 3 || server[hn - 1] != ']') {
            *why = form;
            return SIDIK_EFORMAT;
        }
        h++, hn -= 2;
    } else if (memchr(server, ':', hn) != NULL) {
        *why = "an IPv6 address goes in brackets: [::1]:7443";
        return SIDIK_EFORMAT;
    }
    for (size_t j = 0; j < hn; j++) {
        unsigned char ch = (unsigned char)h[j];
        if (ch <= 0x20 || ch >= 0x7f || ch == '[' || ch == ']' || ch == '/') {
            *why = "the host has a character no host name or address has";
            return SIDIK_EFORMAT;
        }
    }
    const char *p = colon + 1;
    size_t pn = strlen(p);
    unsigned long v = 0;
    for (size_t j = 0; j < pn && v <= 65535; j++)
        v = p[j] >= '0' && p[j] <= '9' ? v * 10 + (unsigned long)(p[j] - '0') : 65536;
    if (pn == 0 || pn > 5 || v == 0 || v > 65535) {
        *why = "the port must be a number from 1 to 65535";
        return SIDIK_EFORMAT;
    }
    if (hn >= hcap || pn >= pcap) {
        *why = "HOST:PORT too long";
        return SIDIK_ETOOBIG;
    }
    memcpy(host, h, hn);
    host[hn] = 0;
    memcpy(port, p, pn + 1);
    return 0;
}

/* Seconds as digits with at most three decimals ("30", "2.5", "0.001"):
 * milliseconds are the resolution of grpc-timeout as we send it. */
static int parse_timeout(const char *v, size_t n, uint32_t *ms, const char **why)
{
    uint64_t whole = 0, frac = 0;
    size_t i = 0, digits = 0, decimals = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
        if (whole <= SIDIK_CLIENT_TIMEOUT_MAX_MS)
            whole = whole * 10 + (uint64_t)(v[i] - '0');
    if (i < n && v[i] == '.')
        for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++)
            if (++decimals <= 3)
                frac = frac * 10 + (uint64_t)(v[i] - '0');
    if (digits == 0 || i != n || decimals > 3 || (i > 0 && v[i - 1] == '.')) {
        *why = "expected seconds, such as 30 or 2.5 (at most 3 decimals)";
        return SIDIK_EFORMAT;
    }
    for (; decimals < 3; decimals++)
        frac *= 10;
    uint64_t total = whole * 1000 + frac;
    if (whole > SIDIK_CLIENT_TIMEOUT_MAX_MS / 1000 || total == 0 ||
        total > SIDIK_CLIENT_TIMEOUT_MAX_MS) {
        *why = "the timeout must be from 0.001 to 86400 seconds";
        return SIDIK_ERANGE;
    }
    *ms = (uint32_t)total;
    return 0;
}

/* Sets key k of s from v[0..n); dir (or NULL) is where a relative path is
 * taken from. */
static int set_value(sidik_client_settings *s, key_id k, const char *v, size_t n, const char *dir,
                     const char **why)
{
    if (n == 0) {
        *why = "empty value";
        return SIDIK_EFORMAT;
    }
    if (k == K_TIMEOUT)
        return parse_timeout(v, n, &s->timeout_ms, why);
    char *field = k == K_SERVER ? s->server : k == K_CA ? s->ca : k == K_CERT ? s->cert : s->key;
    size_t cap = k == K_SERVER ? sizeof s->server : PATH_MAX;
    size_t dn = k != K_SERVER && dir != NULL && v[0] != '/' ? strlen(dir) + 1 : 0;
    if (dn + n >= cap) {
        *why = k == K_SERVER ? "value longer than 255 bytes"
                             : "path longer than PATH_MAX (4095 bytes)";
        return SIDIK_ETOOBIG;
    }
    if (k == K_SERVER) {
        char server[sizeof s->server], host[sizeof s->server], port[8];
        memcpy(server, v, n);
        server[n] = 0;
        int rc = sidik_client_server_split(server, host, sizeof host, port, sizeof port, why);
        if (rc != 0)
            return rc;
    }
    if (dn > 0) {
        memcpy(field, dir, dn - 1);
        field[dn - 1] = '/';
    }
    memcpy(field + dn, v, n);
    field[dn + n] = 0;
    return 0;
}

/* ---- the config file -------------------------------------------------------------- */

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

/* One line; on error msg says why, naming the key where there is one. */
static int parse_line(sidik_client_settings *s, const char *l, size_t n, const char *dir,
                      bool *seen, char *msg, size_t mcap)
{
    while (n > 0 && is_space(*l))
        l++, n--;
    while (n > 0 && is_space(l[n - 1]))
        n--;
    if (n == 0 || l[0] == '#')
        return 0;
    const char *eq = memchr(l, '=', n);
    size_t kn = eq != NULL ? (size_t)(eq - l) : 0;
    while (kn > 0 && is_space(l[kn - 1]))
        kn--;
    if (eq == NULL || kn == 0) {
        (void)sidik_why(msg, mcap, 0, "%s",
                        eq == NULL ? "expected key = value" : "missing key before '='");
        return SIDIK_EFORMAT;
    }
    const char *v = eq + 1;
    size_t vn = n - (size_t)(v - l);
    while (vn > 0 && is_space(*v))
        v++, vn--;
    for (int k = 0; k < K_COUNT; k++) {
        if (strlen(keys[k].name) != kn || memcmp(keys[k].name, l, kn) != 0)
            continue;
        if (seen[k]) {
            (void)sidik_why(msg, mcap, 0, "key '%s' set twice", keys[k].name);
            return SIDIK_EFORMAT;
        }
        seen[k] = true;
        const char *why = NULL;
        int rc = set_value(s, (key_id)k, v, vn, dir, &why);
        if (rc != 0)
            (void)sidik_why(msg, mcap, 0, "%s: %s", keys[k].name, why);
        return rc;
    }
    /* The key is quoted back: printable bytes only, and not all of a
     * hostile one. */
    char key[40];
    size_t shown = kn < sizeof key - 1 ? kn : sizeof key - 1;
    for (size_t j = 0; j < shown; j++)
        key[j] = l[j] > 0x20 && l[j] < 0x7f ? l[j] : '?';
    key[shown] = 0;
    (void)sidik_why(msg, mcap, 0, "unknown key '%s%s' (known: server, ca, cert, key, timeout)", key,
                    shown < kn ? "..." : "");
    return SIDIK_EFORMAT;
}

int sidik_client_settings_parse(sidik_client_settings *s, const char *text, size_t n,
                                const char *path, char *why, size_t cap)
{
    if (s == NULL || (text == NULL && n > 0) || path == NULL)
        return SIDIK_EINVAL;
    /* The folder relative paths are taken from: none for a bare name,
     * which is relative to the working directory already. */
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t dn = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (dn >= sizeof dir) {
        (void)sidik_why(why, cap, 0, "%s: path longer than PATH_MAX", path);
        return SIDIK_ETOOBIG;
    }
    memcpy(dir, path, dn);
    dir[dn] = 0;
    bool seen[K_COUNT] = {0};
    unsigned line = 0;
    for (size_t at = 0; at < n;) {
        line++;
        const char *nl = memchr(text + at, '\n', n - at);
        size_t len = nl != NULL ? (size_t)(nl - (text + at)) : n - at;
        char msg[160];
        int rc = 0;
        if (len > LINE_MAX_BYTES) {
            (void)sidik_why(msg, sizeof msg, 0, "line longer than %d bytes", LINE_MAX_BYTES);
            rc = SIDIK_ETOOBIG;
        } else if (memchr(text + at, 0, len) != NULL) {
            (void)sidik_why(msg, sizeof msg, 0, "NUL byte in the line");
            rc = SIDIK_EFORMAT;
        } else {
            rc = parse_line(s, text + at, len, dn > 0 ? dir : NULL, seen, msg, sizeof msg);
        }
        if (rc != 0) {
            (void)sidik_why(why, cap, 0, "%s:%u: %s", path, line, msg);
            return rc;
        }
        at += len + (nl != NULL);
    }
    return 0;
}

/* Reads path whole into a new NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char *buf = sidik_trymalloc(FILE_MAX_BYTES + 1);
    if (buf == NULL) {
        close(fd);
        return SIDIK_ENOMEM;
    }
    size_t n = 0;
    ssize_t r = 0;
    while (n <= FILE_MAX_BYTES && (r = read(fd, buf + n, FILE_MAX_BYTES + 1 - n)) > 0)
        n += (size_t)r;
    int rc = r < 0 ? -errno : n > FILE_MAX_BYTES ? SIDIK_ETOOBIG : 0;
    close(fd);
    if (rc != 0) {
        sidik_free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* The config file to read: --config, SIDIK_CONFIG (*from names which),
 * or the XDG default when it exists (*from NULL). NULL: none. */
static const char *config_path(const sidik_client_flags *f, char *buf, size_t cap,
                               const char **from)
{
    const char *env = getenv("SIDIK_CONFIG");
    *from = NULL;
    if (f != NULL && f->config != NULL) {
        *from = "--config";
        return f->config;
    }
    if (env != NULL && env[0] != 0) {
        *from = "SIDIK_CONFIG";
        return env;
    }
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n;
    /* The XDG spec ignores a relative XDG_CONFIG_HOME. */
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(buf, cap, "%s/sidik/client.conf", xdg);
    else if (home != NULL && home[0] != 0)
        n = snprintf(buf, cap, "%s/.config/sidik/client.conf", home);
    else
        return NULL;
    struct stat st;
    return n > 0 && (size_t)n < cap && stat(buf, &st) == 0 ? buf : NULL;
}

static int load_config(sidik_client_settings *s, const sidik_client_flags *f, char *why, size_t cap)
{
    char buf[PATH_MAX];
    const char *from;
    const char *path = config_path(f, buf, sizeof buf, &from);
    if (path == NULL)
        return 0;
    if (path[0] == 0) {
        (void)sidik_why(why, cap, 0, "%s: empty value", from);
        return SIDIK_EFORMAT;
    }
    if (strlen(path) >= sizeof s->config) {
        (void)sidik_why(why, cap, 0, "%s: path longer than PATH_MAX (4095 bytes)", from);
        return SIDIK_ETOOBIG;
    }
    char *text = NULL;
    size_t n = 0;
    int rc = read_file(path, &text, &n);
    if (rc == SIDIK_ETOOBIG)
        (void)sidik_why(why, cap, 0,
                        "%s: larger than 64 KiB; a client.conf is a few key = value lines", path);
    else if (rc != 0 && from != NULL)
        (void)sidik_why(why, cap, 0, "cannot read the config file %s (named by %s): %s", path, from,
                        sidik_strerror(rc));
    else if (rc != 0)
        (void)sidik_why(why, cap, 0, "cannot read the config file %s: %s", path,
                        sidik_strerror(rc));
    if (rc != 0)
        return rc;
    rc = sidik_client_settings_parse(s, text, n, path, why, cap);
    sidik_free(text);
    if (rc == 0)
        snprintf(s->config, sizeof s->config, "%s", path);
    return rc;
}

void sidik_client_settings_defaults(sidik_client_settings *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->server, sizeof s->server, "%s", SIDIK_CLIENT_DEFAULT_SERVER);
    s->timeout_ms = SIDIK_CLIENT_DEFAULT_TIMEOUT_MS;
}

int sidik_client_settings_load(sidik_client_settings *s, const sidik_client_flags *f, char *why,
                               size_t cap)
{
    if (s == NULL)
        return SIDIK_EINVAL;
    sidik_client_settings_defaults(s);
    int rc = load_config(s, f, why, cap);
    if (rc != 0)
        return rc;
    const char *given[K_COUNT] = {0};
    if (f != NULL) {
        given[K_SERVER] = f->server;
        given[K_CA] = f->ca;
        given[K_CERT] = f->cert;
        given[K_KEY] = f->key;
        given[K_TIMEOUT] = f->timeout;
    }
    for (int k = 0; k < K_COUNT; k++) {
        const char *v = given[k], *from = keys[k].flag;
        if (v == NULL) {
            v = getenv(keys[k].env);
            from = keys[k].env;
            if (v != NULL && v[0] == 0)
                v = NULL; /* an empty variable is an unset one */
        }
        if (v == NULL)
            continue;
        const char *reason = NULL;
        rc = set_value(s, (key_id)k, v, strlen(v), NULL, &reason);
        if (rc != 0) {
            (void)sidik_why(why, cap, 0, "%s: %s", from, reason);
            return rc;
        }
    }
    static const char *const need[] = {"CA certificate", "client certificate", "client key"};
    const char *have[] = {s->ca, s->cert, s->key};
    for (int k = K_CA; k <= K_KEY; k++)
        if (have[k - K_CA][0] == 0) {
            (void)sidik_why(why, cap, 0, "no %s given: use %s FILE, %s, or '%s = FILE' in %s",
                            need[k - K_CA], keys[k].flag, keys[k].env, keys[k].name,
                            s->config[0] ? s->config : "~/.config/sidik/client.conf");
            return SIDIK_EINVAL;
        }
    return 0;
}
