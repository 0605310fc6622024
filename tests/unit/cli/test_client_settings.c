/*
 * The network commands' settings (cli/client_settings.h): flags over the
 * environment over the config file over the defaults, key by key; the
 * config file chosen by --config, SIDIK_CONFIG, $XDG_CONFIG_HOME or
 * ~/.config; and every bad value refused with where it came from (file and
 * line, variable or flag) and the exact reason.
 */
#include "test_support.h"

#include "client_settings.h"
#include "sidik/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64]; /* a scratch folder per test, made by setup */

static const char *const vars[] = {"SIDIK_SERVER",  "SIDIK_CA",     "SIDIK_CERT",     "SIDIK_KEY",
                                   "SIDIK_TIMEOUT", "SIDIK_CONFIG", "XDG_CONFIG_HOME"};

/* Setup: a clean environment whose HOME is an empty scratch folder. */
static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/sidik-settings-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(vars); i++)
        unsetenv(vars[i]);
    setenv("HOME", dir, 1);
    return sidik_test_setup(state);
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return -1;
    return sidik_test_teardown(state);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Writes text (n bytes) to dir/name, making folders on the way; returns the
 * path in a static buffer (the next call reuses it). */
static const char *write_file(const char *name, const char *text, size_t n)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = 0;
        mkdir(path, 0700);
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
    return path;
}

static const char *write_conf(const char *name, const char *text)
{
    return write_file(name, text, strlen(text));
}

/* Parses text as dir/client.conf and requires rc and, on error, exactly
 * "dir/client.conf:" followed by want. */
static void parse_fails(const char *text, size_t n, int rc, const char *want)
{
    sidik_client_settings s;
    sidik_client_settings_defaults(&s);
    char path[128], why[512] = "", full[700];
    snprintf(path, sizeof path, "%s/client.conf", dir);
    assert_int_equal(sidik_client_settings_parse(&s, text, n, path, why, sizeof why), rc);
    snprintf(full, sizeof full, "%s:%s", path, want);
    assert_string_equal(why, full);
}

/* ---- defaults and precedence ------------------------------------------------ */

static void test_cli_settings_defaults_match_sidikd_conf(void **state)
{
    (void)state;
    sidik_client_settings s;
    sidik_client_settings_defaults(&s);
    assert_string_equal(s.server, "127.0.0.1:7443");
    assert_int_equal(s.timeout_ms, 30000);
    assert_string_equal(s.ca, "");
    assert_string_equal(s.config, "");
    /* The default port is the one sidikd listens on by default. */
    FILE *f = fopen(SIDIK_SOURCE_DIR "/deploy/sidikd.conf", "r");
    assert_non_null(f);
    char line[256];
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "listen = ", 9) == 0) {
            found = true;
            assert_string_equal(strrchr(line, ':'), ":7443\n");
        }
    fclose(f);
    assert_true(found);
}

static void test_cli_settings_flags_over_env_over_file(void **state)
{
    (void)state;
    const char *conf = write_conf("etc/client.conf", "server = file.example:1\n"
                                                     "ca = pki/ca.crt\n"
                                                     "cert = /abs/office.crt\n"
                                                     "key = pki/office.key\n"
                                                     "timeout = 7\n");
    char want[256];
    sidik_client_settings s;
    char why[512] = "";
    sidik_client_flags f = {.config = conf};

    /* The file alone: relative paths from its folder, absolute kept. */
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), 0);
    assert_string_equal(s.server, "file.example:1");
    snprintf(want, sizeof want, "%s/etc/pki/ca.crt", dir);
    assert_string_equal(s.ca, want);
    assert_string_equal(s.cert, "/abs/office.crt");
    snprintf(want, sizeof want, "%s/etc/pki/office.key", dir);
    assert_string_equal(s.key, want);
    assert_int_equal(s.timeout_ms, 7000);
    assert_string_equal(s.config, conf);

    /* The environment over the file, key by key; empty counts as unset;
     * its relative paths stay relative to the working directory. */
    setenv("SIDIK_SERVER", "env.example:2", 1);
    setenv("SIDIK_CA", "env/ca.crt", 1);
    setenv("SIDIK_TIMEOUT", "2.5", 1);
    setenv("SIDIK_KEY", "", 1);
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), 0);
    assert_string_equal(s.server, "env.example:2");
    assert_string_equal(s.ca, "env/ca.crt");
    assert_string_equal(s.cert, "/abs/office.crt");
    assert_string_equal(s.key, want);
    assert_int_equal(s.timeout_ms, 2500);

    /* Flags over both. */
    f.server = "[::1]:3";
    f.cert = "flag.crt";
    f.timeout = "0.001";
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), 0);
    assert_string_equal(s.server, "[::1]:3");
    assert_string_equal(s.ca, "env/ca.crt");
    assert_string_equal(s.cert, "flag.crt");
    assert_int_equal(s.timeout_ms, 1);
}

static void test_cli_settings_which_config_file(void **state)
{
    (void)state;
    char path[256], why[512] = "";
    sidik_client_settings s;
    write_conf(".config/sidik/client.conf", "server = home:1\nca = a\ncert = b\nkey = c\n");
    write_conf("xdg/sidik/client.conf", "server = xdg:1\nca = a\ncert = b\nkey = c\n");
    char named[256], flag[256]; /* write_conf's buffer is reused */
    snprintf(named, sizeof named, "%s",
             write_conf("named.conf", "server = named:1\nca = a\ncert = b\nkey = c\n"));
    snprintf(flag, sizeof flag, "%s",
             write_conf("flag.conf", "server = flag:1\nca = a\ncert = b\nkey = c\n"));

    assert_int_equal(sidik_client_settings_load(&s, NULL, why, sizeof why), 0);
    assert_string_equal(s.server, "home:1");
    snprintf(path, sizeof path, "%s/.config/sidik/client.conf", dir);
    assert_string_equal(s.config, path);
    /* A relative XDG_CONFIG_HOME is ignored, as the XDG spec says. */
    setenv("XDG_CONFIG_HOME", "xdg", 1);
    assert_int_equal(sidik_client_settings_load(&s, NULL, why, sizeof why), 0);
    assert_string_equal(s.server, "home:1");
    snprintf(path, sizeof path, "%s/xdg", dir);
    setenv("XDG_CONFIG_HOME", path, 1);
    assert_int_equal(sidik_client_settings_load(&s, NULL, why, sizeof why), 0);
    assert_string_equal(s.server, "xdg:1");
    setenv("SIDIK_CONFIG", named, 1);
    assert_int_equal(sidik_client_settings_load(&s, NULL, why, sizeof why), 0);
    assert_string_equal(s.server, "named:1");
    sidik_client_flags f = {.config = flag};
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), 0);
    assert_string_equal(s.server, "flag:1");
    assert_string_equal(s.config, flag);
}

static void test_cli_settings_no_default_file_is_fine(void **state)
{
    (void)state;
    char why[512] = "";
    sidik_client_settings s;
    setenv("SIDIK_CA", "ca.crt", 1);
    setenv("SIDIK_CERT", "c.crt", 1);
    setenv("SIDIK_KEY", "c.key", 1);
    assert_int_equal(sidik_client_settings_load(&s, NULL, why, sizeof why), 0);
    assert_string_equal(s.server, "127.0.0.1:7443");
    assert_string_equal(s.config, "");
    assert_int_equal(s.timeout_ms, 30000);
}

static void test_cli_settings_missing_files_named(void **state)
{
    (void)state;
    char why[512] = "", want[512];
    sidik_client_settings s;
    setenv("SIDIK_CERT", "c.crt", 1);
    setenv("SIDIK_KEY", "c.key", 1);
    assert_int_equal(sidik_client_settings_load(&s, NULL, why, sizeof why), SIDIK_EINVAL);
    assert_string_equal(why, "no CA certificate given: use --ca FILE, SIDIK_CA, or 'ca = FILE' "
                             "in ~/.config/sidik/client.conf");
    setenv("SIDIK_CA", "ca.crt", 1);
    unsetenv("SIDIK_KEY");
    const char *conf = write_conf("c.conf", "# nothing\n");
    sidik_client_flags f = {.config = conf};
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), SIDIK_EINVAL);
    snprintf(want, sizeof want,
             "no client key given: use --key FILE, SIDIK_KEY, or 'key = FILE' in %s", conf);
    assert_string_equal(why, want);

    snprintf(want, sizeof want, "%s/none.conf", dir);
    setenv("SIDIK_CONFIG", want, 1);
    assert_int_equal(sidik_client_settings_load(&s, NULL, why, sizeof why), -ENOENT);
    char full[700];
    snprintf(full, sizeof full,
             "cannot read the config file %s (named by SIDIK_CONFIG): No such file or directory",
             want);
    assert_string_equal(why, full);
    f.config = want;
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), -ENOENT);
    snprintf(full, sizeof full,
             "cannot read the config file %s (named by --config): No such file or directory", want);
    assert_string_equal(why, full);
    /* A folder where the file should be. */
    f.config = dir;
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), -EISDIR);
}

/* ---- the config file's errors, with their line ---------------------------------- */

static void test_cli_settings_file_errors(void **state)
{
    (void)state;
#define FAILS(text, rc, want) parse_fails(text, strlen(text), rc, want)
    FAILS("server = a:1\n\n# c\nsever = x\n", SIDIK_EFORMAT,
          "4: unknown key 'sever' (known: server, ca, cert, key, timeout)");
    FAILS("ca = a\nca = b\n", SIDIK_EFORMAT, "2: key 'ca' set twice");
    FAILS("just words\n", SIDIK_EFORMAT, "1: expected key = value");
    FAILS(" = x\n", SIDIK_EFORMAT, "1: missing key before '='");
    FAILS("key =   \n", SIDIK_EFORMAT, "1: key: empty value");
    FAILS("timeout = 1m\n", SIDIK_EFORMAT,
          "1: timeout: expected seconds, such as 30 or 2.5 (at most 3 decimals)");
    FAILS("timeout = 1.2345\n", SIDIK_EFORMAT,
          "1: timeout: expected seconds, such as 30 or 2.5 (at most 3 decimals)");
    FAILS("timeout = 86400.001\n", SIDIK_ERANGE,
          "1: timeout: the timeout must be from 0.001 to 86400 seconds");
    FAILS("timeout = 0\n", SIDIK_ERANGE,
          "1: timeout: the timeout must be from 0.001 to 86400 seconds");
    FAILS("timeout = 99999999999999999999999\n", SIDIK_ERANGE,
          "1: timeout: the timeout must be from 0.001 to 86400 seconds");
    FAILS("server = sidik.example.id\n", SIDIK_EFORMAT,
          "1: server: expected HOST:PORT, such as sidik.example.id:7443 or [::1]:7443");
    FAILS("server = ::1:7443\n", SIDIK_EFORMAT,
          "1: server: an IPv6 address goes in brackets: [::1]:7443");
    FAILS("server = host:65536\n", SIDIK_EFORMAT,
          "1: server: the port must be a number from 1 to 65535");
    FAILS("server = ho st:1\n", SIDIK_EFORMAT,
          "1: server: the host has a character no host name or address has");
    /* A hostile key is quoted back printable, and cut. */
    FAILS("\x1b[2Jwipe = 1\n", SIDIK_EFORMAT,
          "1: unknown key '?[2Jwipe' (known: server, ca, cert, key, timeout)");
    FAILS("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = 1\n", SIDIK_EFORMAT,
          "1: unknown key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' (known: server, ca, cert, "
          "key, timeout)");
#undef FAILS
    parse_fails("ca = a\nca\0 = b\n", 14, SIDIK_EFORMAT, "2: NUL byte in the line");

    /* Overlong: a server past its 255 bytes, a path past PATH_MAX, a line
     * past any path. */
    char big[PATH_MAX + 200];
    snprintf(big, sizeof big, "server = %0300d:1\n", 0);
    parse_fails(big, strlen(big), SIDIK_ETOOBIG, "1: server: value longer than 255 bytes");
    memset(big, 'p', sizeof big);
    memcpy(big, "ca = /", 6);
    big[6 + PATH_MAX] = '\n';
    parse_fails(big, 7 + PATH_MAX, SIDIK_ETOOBIG, "1: ca: path longer than PATH_MAX (4095 bytes)");
    /* Relative: the folder's length counts too. */
    size_t rel = PATH_MAX - strlen(dir) - 1; /* with "DIR/", one byte too many */
    memcpy(big, "ca = ", 5);
    memset(big + 5, 'p', rel);
    parse_fails(big, 5 + rel, SIDIK_ETOOBIG, "1: ca: path longer than PATH_MAX (4095 bytes)");
    sidik_client_settings s;
    char path[128], why[256] = "";
    snprintf(path, sizeof path, "%s/client.conf", dir);
    assert_int_equal(sidik_client_settings_parse(&s, big, 4 + rel, path, why, sizeof why), 0);
    assert_int_equal(strlen(s.ca), PATH_MAX - 1);
    memset(big, 'q', sizeof big);
    parse_fails(big, sizeof big, SIDIK_ETOOBIG, "1: line longer than 4160 bytes");
}

static void test_cli_settings_file_forms(void **state)
{
    (void)state;
    sidik_client_settings s;
    sidik_client_settings_defaults(&s);
    char why[256] = "";
    /* CRLF, indentation, comments, no final newline; a bare file name has
     * no folder, so its paths stay as written. */
    const char *text = "# office JKT-01\r\n\t server\t=\t[fe80::1]:8443 \r\n\n"
                       "  # ca = ignored\nca=ca.pem\ncert = c d.pem\nkey = k.pem";
    assert_int_equal(
        sidik_client_settings_parse(&s, text, strlen(text), "client.conf", why, sizeof why), 0);
    assert_string_equal(s.server, "[fe80::1]:8443");
    assert_string_equal(s.ca, "ca.pem");
    assert_string_equal(s.cert, "c d.pem");
    assert_string_equal(s.key, "k.pem");
    /* A file at the root: "/" is its folder. */
    assert_int_equal(sidik_client_settings_parse(&s, "ca = x", 6, "/client.conf", why, sizeof why),
                     0);
    assert_string_equal(s.ca, "//x");
}

static void test_cli_settings_file_too_big(void **state)
{
    (void)state;
    static char text[64 * 1024 + 1];
    memset(text, '#', sizeof text);
    for (size_t i = 99; i < sizeof text; i += 100)
        text[i] = '\n';
    const char *path = write_file("big.conf", text, sizeof text);
    char why[512] = "", want[512];
    sidik_client_settings s;
    sidik_client_flags f = {.config = path};
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), SIDIK_ETOOBIG);
    snprintf(want, sizeof want, "%s: larger than 64 KiB; a client.conf is a few key = value lines",
             path);
    assert_string_equal(why, want);
    /* Exactly 64 KiB of comment is a file, if a pointless one. */
    path = write_file("edge.conf", text, sizeof text - 1);
    f.config = path;
    setenv("SIDIK_CA", "a", 1);
    setenv("SIDIK_CERT", "b", 1);
    setenv("SIDIK_KEY", "c", 1);
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), 0);
}

/* ---- the environment and flags ------------------------------------------------------- */

static void test_cli_settings_env_and_flag_errors(void **state)
{
    (void)state;
    char why[512] = "";
    sidik_client_settings s;
    char big[5000];
    memset(big, 's', sizeof big);
    big[300] = 0;
    memcpy(big + 290, ":1", 2);
    setenv("SIDIK_SERVER", big, 1);
    assert_int_equal(sidik_client_settings_load(&s, NULL, why, sizeof why), SIDIK_ETOOBIG);
    assert_string_equal(why, "SIDIK_SERVER: value longer than 255 bytes");
    unsetenv("SIDIK_SERVER");
    setenv("SIDIK_TIMEOUT", "-1", 1);
    assert_int_equal(sidik_client_settings_load(&s, NULL, why, sizeof why), SIDIK_EFORMAT);
    assert_string_equal(why, "SIDIK_TIMEOUT: expected seconds, such as 30 or 2.5 (at most 3 "
                             "decimals)");
    /* A flag's error names the flag, and the flag is what is read. */
    memset(big, 'c', sizeof big);
    big[sizeof big - 1] = 0;
    sidik_client_flags f = {.ca = big};
    unsetenv("SIDIK_TIMEOUT");
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), SIDIK_ETOOBIG);
    assert_string_equal(why, "--ca: path longer than PATH_MAX (4095 bytes)");
    setenv("SIDIK_TIMEOUT", "soon", 1);
    f = (sidik_client_flags){.timeout = "1.", .ca = "a", .cert = "b", .key = "c"};
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), SIDIK_EFORMAT);
    /* Environment keys are checked in order, so SIDIK_TIMEOUT is not
     * reached: the flag replaces it. The flag's own error is what shows. */
    assert_string_equal(why, "--timeout: expected seconds, such as 30 or 2.5 (at most 3 "
                             "decimals)");
    f.timeout = "86400";
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), 0);
    assert_int_equal(s.timeout_ms, 86400000);
    f.server = "";
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), SIDIK_EFORMAT);
    assert_string_equal(why, "--server: empty value");
    f.server = NULL;
    f.config = "";
    assert_int_equal(sidik_client_settings_load(&s, &f, why, sizeof why), SIDIK_EFORMAT);
    assert_string_equal(why, "--config: empty value");
}

static void test_cli_settings_flags_take(void **state)
{
    (void)state;
    char *argv[] = {"list",  "--server",  "h:1",       "--ca=x.pem",
                    "--all", "--serverx", "--timeout", "--key"};
    int argc = (int)SIDIK_ARRAY_SIZE(argv);
    sidik_client_flags f = {0};
    char why[128] = "";
    int i = 1;
    assert_int_equal(sidik_client_flags_take(&f, argc, argv, &i, why, sizeof why), 1);
    assert_int_equal(i, 2);
    assert_string_equal(f.server, "h:1");
    i = 3;
    assert_int_equal(sidik_client_flags_take(&f, argc, argv, &i, why, sizeof why), 1);
    assert_int_equal(i, 3);
    assert_string_equal(f.ca, "x.pem");
    i = 4;
    assert_int_equal(sidik_client_flags_take(&f, argc, argv, &i, why, sizeof why), 0);
    i = 5;
    assert_int_equal(sidik_client_flags_take(&f, argc, argv, &i, why, sizeof why), 0);
    assert_int_equal(i, 5);
    /* "--timeout --key": the next word is its value, as getopt takes it. */
    i = 6;
    assert_int_equal(sidik_client_flags_take(&f, argc, argv, &i, why, sizeof why), 1);
    assert_string_equal(f.timeout, "--key");
    i = 7;
    assert_int_equal(sidik_client_flags_take(&f, argc, argv, &i, why, sizeof why), SIDIK_EINVAL);
    assert_string_equal(why, "--key needs a value: FILE");
    i = 1;
    assert_int_equal(sidik_client_flags_take(&f, argc, argv, &i, why, sizeof why), SIDIK_EINVAL);
    assert_string_equal(why, "--server given twice");
    assert_non_null(strstr(sidik_client_flags_usage, "  --server HOST:PORT"));
    assert_non_null(strstr(sidik_client_flags_usage, "  --timeout SECONDS"));
}

static void test_cli_settings_server_split(void **state)
{
    (void)state;
    char host[64], port[8];
    const char *why = NULL;
    assert_int_equal(
        sidik_client_server_split("[::1]:7443", host, sizeof host, port, sizeof port, &why), 0);
    assert_string_equal(host, "::1");
    assert_string_equal(port, "7443");
    assert_int_equal(sidik_client_server_split("sidik.example.id:65535", host, sizeof host, port,
                                               sizeof port, &why),
                     0);
    assert_string_equal(host, "sidik.example.id");
    assert_string_equal(port, "65535");
    static const char *const bad[] = {":7443", "h:",     "h:0",   "h:65536",  "h:1x",
                                      "[]:1",  "[::1:1", "a:b:1", "h:000001", "h/x:1"};
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(bad); i++) {
        why = NULL;
        if (sidik_client_server_split(bad[i], host, sizeof host, port, sizeof port, &why) !=
            SIDIK_EFORMAT)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(why);
    }
    assert_int_equal(sidik_client_server_split("abcdefghij:1", host, 5, port, sizeof port, &why),
                     SIDIK_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cli_settings_defaults_match_sidikd_conf),
        T(test_cli_settings_flags_over_env_over_file),
        T(test_cli_settings_which_config_file),
        T(test_cli_settings_no_default_file_is_fine),
        T(test_cli_settings_missing_files_named),
        T(test_cli_settings_file_errors),
        T(test_cli_settings_file_forms),
        T(test_cli_settings_file_too_big),
        T(test_cli_settings_env_and_flag_errors),
        T(test_cli_settings_flags_take),
        T(test_cli_settings_server_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
