/*
 * The config file: deploy/sidikd.conf documents every key at its default,
 * units and ranges, and hostile files refused with the line and reason.
 */
#include "test_support.h"

#include "sidik/common.h"
#include "sidik/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXAMPLE SIDIK_SOURCE_DIR "/deploy/sidikd.conf"

static void test_server_config_example_is_the_defaults(void **state)
{
    (void)state;
    sidik_config want, got;
    sidik_config_defaults(&want);
    sidik_config_defaults(&got);
    unsigned line;
    const char *why = NULL;
    int rc = sidik_config_load(EXAMPLE, &got, &line, &why);
    if (rc != 0)
        print_error("line %u: %s\n", line, why ? why : "");
    assert_int_equal(rc, 0);
    assert_memory_equal(&got, &want, sizeof got);
    /* Every key is documented there, set at its default. */
    FILE *f = fopen(EXAMPLE, "r");
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    for (const char *const *k = sidik_config_keys; *k != NULL; k++) {
        char pat[80];
        snprintf(pat, sizeof pat, "\n%s = ", *k);
        if (strstr(text, pat) == NULL)
            print_error("%s is not documented\n", *k);
        assert_non_null(strstr(text, pat));
    }
}

static void test_server_config_values(void **state)
{
    (void)state;
    sidik_config c;
    sidik_config_defaults(&c);
    const char *text = "# a comment\n\n  listen = [::]:8443  \r\n"
                       "max_message_bytes=512K\nidle_timeout = 2h\nhandshake_timeout = 250ms\n"
                       "journal_segment_bytes = 1G\nio_threads = 16\nduplicate_fpir = 1e-4\n"
                       "review_fpir = 0.005\nlog_level = DEBUG\ndata_dir = /srv/sidik data\n"
                       "chunk_office_bytes = 8M\nchunk_office_enrollments = 3\n"
                       "chunk_total_bytes = 1G\nchunk_idle_timeout = 10m\n";
    assert_int_equal(sidik_config_parse(text, strlen(text), &c, NULL, NULL), 0);
    assert_string_equal(c.listen, "[::]:8443");
    assert_int_equal(c.max_message_bytes, 512 * 1024);
    assert_int_equal(c.idle_timeout_ms, 2 * 3600 * 1000);
    assert_int_equal(c.handshake_timeout_ms, 250);
    assert_int_equal(c.journal_segment_bytes, 1ull << 30);
    assert_int_equal(c.io_threads, 16);
    assert_true(c.duplicate_fpir == 1e-4);
    assert_true(c.review_fpir == 0.005);
    assert_string_equal(c.log_level, "DEBUG");
    assert_string_equal(c.data_dir, "/srv/sidik data");
    assert_int_equal(c.chunk_office_bytes, 8u << 20);
    assert_int_equal(c.chunk_office_enrollments, 3);
    assert_int_equal(c.chunk_total_bytes, 1ull << 30);
    assert_int_equal(c.chunk_idle_ms, 600000);
    assert_string_equal(c.metrics_listen, "127.0.0.1:9464"); /* untouched */
    /* No trailing newline, and an empty file. */
    assert_int_equal(sidik_config_parse("io_threads = 3", 14, &c, NULL, NULL), 0);
    assert_int_equal(c.io_threads, 3);
    assert_int_equal(sidik_config_parse("", 0, &c, NULL, NULL), 0);
}

static void test_server_config_hostile(void **state)
{
    (void)state;
    char longline[5000];
    memset(longline, '#', sizeof longline - 1);
    longline[sizeof longline - 1] = 0;
    char longval[300] = "data_dir = ";
    memset(longval + 11, 'x', 280);
    longval[291] = 0;
    struct {
        const char *text;
        size_t len; /* 0: strlen */
        int rc;
        unsigned line;
        const char *why;
    } cases[] = {
        {"listen 0.0.0.0:1", 0, SIDIK_EFORMAT, 1, "expected key = value"},
        {"\n\nbogus = 1", 0, SIDIK_EFORMAT, 3, "unknown key"},
        {" = 1", 0, SIDIK_EFORMAT, 1, "missing key before '='"},
        {"io_threads = 2\nio_threads = 3", 0, SIDIK_EFORMAT, 2, "key set twice"},
        {"io_threads = 0", 0, SIDIK_ERANGE, 1, "value outside the key's range (deploy/sidikd.conf gives it)"},
        {"io_threads = 99999999999999999999999", 0, SIDIK_EFORMAT, 1, "expected a whole number"},
        {"io_threads = -1", 0, SIDIK_EFORMAT, 1, "expected a whole number"},
        {"io_threads = 2x", 0, SIDIK_EFORMAT, 1, "expected a whole number"},
        {"io_threads =", 0, SIDIK_EFORMAT, 1, "expected a whole number"},
        {"max_message_bytes = 1T", 0, SIDIK_EFORMAT, 1,
         "expected a whole number, optionally with K, M or G"},
        {"max_message_bytes = 65M", 0, SIDIK_ERANGE, 1,
         "value outside the key's range (deploy/sidikd.conf gives it)"},
        {"idle_timeout = 10", 0, SIDIK_ERANGE, 1,
         "value outside the key's range (deploy/sidikd.conf gives it)"},
        {"idle_timeout = 10 s", 0, SIDIK_EFORMAT, 1,
         "expected a duration such as 500ms, 10s, 5m or 1h"},
        {"duplicate_fpir = nan", 0, SIDIK_EFORMAT, 1,
         "expected a decimal number such as 0.001 or 1e-3"},
        {"duplicate_fpir = 0x1p-3", 0, SIDIK_EFORMAT, 1,
         "expected a decimal number such as 0.001 or 1e-3"},
        {"duplicate_fpir = 1e999", 0, SIDIK_EFORMAT, 1,
         "expected a decimal number such as 0.001 or 1e-3"},
        {"duplicate_fpir = 0", 0, SIDIK_ERANGE, 1,
         "value outside the key's range (deploy/sidikd.conf gives it)"},
        {"duplicate_fpir = 0.05\nreview_fpir = 0.01", 0, SIDIK_ERANGE, 0,
         "review_fpir must be at least duplicate_fpir"},
        {"max_message_bytes = 8M", 0, SIDIK_ERANGE, 0,
         "chunk_office_bytes must be at least max_message_bytes"},
        {"chunk_office_bytes = 512M", 0, SIDIK_ERANGE, 0,
         "chunk_total_bytes must be at least chunk_office_bytes"},
        {"chunk_idle_timeout = 500ms", 0, SIDIK_ERANGE, 1,
         "value outside the key's range (deploy/sidikd.conf gives it)"},
        {"chunk_office_enrollments = 0", 0, SIDIK_ERANGE, 1,
         "value outside the key's range (deploy/sidikd.conf gives it)"},
        {"listen = 7443", 0, SIDIK_EFORMAT, 1, "expected host:port with a port of 0-65535 (0: any free port)"},
        {"listen = host:", 0, SIDIK_EFORMAT, 1, "expected host:port with a port of 0-65535 (0: any free port)"},
        {"listen = host:65536", 0, SIDIK_EFORMAT, 1, "expected host:port with a port of 0-65535 (0: any free port)"},
        {"listen = ho st:1", 0, SIDIK_EFORMAT, 1, "expected host:port with a port of 0-65535 (0: any free port)"},
        {"listen = :1", 0, SIDIK_EFORMAT, 1, "expected host:port with a port of 0-65535 (0: any free port)"},
        {"log_level = loud", 0, SIDIK_EFORMAT, 1, "expected error, warn, info, debug or trace"},
        {"data_dir =", 0, SIDIK_EFORMAT, 1, "empty value"},
        {longval, 0, SIDIK_ETOOBIG, 1, "value longer than 255 bytes"},
        {longline, 0, SIDIK_EFORMAT, 1, "line longer than 4096 bytes"},
        {"io_threads = 2\0\n", 16, SIDIK_EFORMAT, 1, "NUL byte in the file"},
    };
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(cases); i++) {
        sidik_config c;
        sidik_config_defaults(&c);
        unsigned line = 99;
        const char *why = NULL;
        size_t n = cases[i].len ? cases[i].len : strlen(cases[i].text);
        int rc = sidik_config_parse(cases[i].text, n, &c, &line, &why);
        if (rc != cases[i].rc || line != cases[i].line)
            print_error("case %zu: %s line %u (%s)\n", i, sidik_err_name(rc), line, why ? why : "");
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(line, cases[i].line);
        assert_string_equal(why, cases[i].why);
    }
    sidik_config c;
    assert_int_equal(sidik_config_parse(NULL, 1, &c, NULL, NULL), SIDIK_EINVAL);
    assert_int_equal(sidik_config_parse("", 0, NULL, NULL, NULL), SIDIK_EINVAL);
}

static void test_server_config_files(void **state)
{
    (void)state;
    sidik_config c;
    sidik_config_defaults(&c);
    const char *why;
    assert_int_equal(sidik_config_load("/nonexistent/sidikd.conf", &c, NULL, &why), -ENOENT);
    assert_int_equal(sidik_config_load(NULL, &c, NULL, &why), SIDIK_EINVAL);
    char path[] = "/tmp/sidik-conf-XXXXXX";
    int fd = mkstemp(path);
    char *big = malloc((1 << 20) + 2);
    memset(big, '\n', (1 << 20) + 2);
    assert_int_equal(write(fd, big, (1 << 20) + 2), (1 << 20) + 2);
    close(fd);
    assert_int_equal(sidik_config_load(path, &c, NULL, &why), SIDIK_ETOOBIG);
    assert_string_equal(why, "config file larger than 1 MiB");
    unlink(path);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIDIK_TEST(test_server_config_example_is_the_defaults),
        SIDIK_TEST(test_server_config_values),
        SIDIK_TEST(test_server_config_hostile),
        SIDIK_TEST(test_server_config_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
