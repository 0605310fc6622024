#include "test_support.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sidik/err.h"
#include "sidik/log.h"

/* Runs the logger into a pipe and returns what it wrote (static buffer). */
static int pipefd[2];

static int open_pipe(void **state)
{
    (void)state;
    if (pipe(pipefd) != 0)
        return -1;
    sidik_log_set_fd(pipefd[1]);
    sidik_log_set_level(SIDIK_LOG_LEVEL_INFO);
    return 0;
}

static int close_pipe(void **state)
{
    (void)state;
    sidik_log_set_fd(2);
    close(pipefd[0]);
    close(pipefd[1]);
    return 0;
}

static const char *drain(void)
{
    static char buf[16384];
    close(pipefd[1]);
    ssize_t n, total = 0;
    while ((n = read(pipefd[0], buf + total, sizeof buf - 1 - (size_t)total)) > 0)
        total += n;
    buf[total] = '\0';
    close(pipefd[0]);
    open_pipe(NULL);
    return buf;
}

static void test_log_line_format(void **state)
{
    (void)state;
    sidik_log(SIDIK_LOG_LEVEL_WARN, "disk nearly full", "shard=%u free_mb=%d", 7u, 120);
    const char *out = drain();
    regex_t re;
    assert_int_equal(
        regcomp(&re,
                "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                "level=warn msg=\"disk nearly full\" shard=7 free_mb=120\n$",
                REG_EXTENDED),
        0);
    assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
    regfree(&re);
}

static void test_log_threshold_filters(void **state)
{
    (void)state;
    SIDIK_LOG_DEBUG("hidden", NULL);
    SIDIK_LOG_INFO("shown", NULL);
    sidik_log_set_level(SIDIK_LOG_LEVEL_ERROR);
    SIDIK_LOG_WARN("hidden too", NULL);
    SIDIK_LOG_ERROR("also shown", "k=v");
    const char *out = drain();
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "level=info msg=\"shown\"\n"));
    assert_non_null(strstr(out, "level=error msg=\"also shown\" k=v\n"));
}

static void test_log_escapes_hostile_values(void **state)
{
    (void)state;
    /* A peer-controlled value trying to forge a second log line. */
    const char *evil = "CN=x\nts=2000-01-01T00:00:00.000Z level=error msg=\"forged\"\x1b[31m";
    SIDIK_LOG_INFO("client \"rejected\"", "subject=\"%s\"", evil);
    const char *out = drain();
    assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1); /* exactly one line */
    assert_non_null(strstr(out, "msg=\"client \\\"rejected\\\"\""));
    assert_non_null(strstr(out, "CN=x\\nts=2000"));
    assert_non_null(strstr(out, "\\x1b[31m"));
}

static void test_log_truncates_long_lines(void **state)
{
    (void)state;
    char big[10000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    SIDIK_LOG_INFO("big", "blob=%s", big);
    const char *out = drain();
    size_t n = strlen(out);
    assert_true(n <= 4096);
    assert_string_equal(out + n - strlen(" truncated=1\n"), " truncated=1\n");
}

static void test_log_level_parse(void **state)
{
    (void)state;
    sidik_log_level l = SIDIK_LOG_LEVEL_INFO;
    assert_int_equal(sidik_log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, SIDIK_LOG_LEVEL_DEBUG);
    assert_int_equal(sidik_log_level_parse("trace", &l), 0);
    assert_int_equal(l, SIDIK_LOG_LEVEL_TRACE);
    assert_int_equal(sidik_log_level_parse("verbose", &l), SIDIK_EINVAL);
    assert_int_equal(sidik_log_level_parse("", &l), SIDIK_EINVAL);
    assert_int_equal(sidik_log_level_parse(NULL, &l), SIDIK_EINVAL);
    assert_int_equal(l, SIDIK_LOG_LEVEL_TRACE);
    assert_string_equal(sidik_log_level_name(SIDIK_LOG_LEVEL_WARN), "warn");
}

static void test_log_level_from_env(void **state)
{
    (void)state;
    setenv("SIDIK_LOG", "error", 1);
    assert_int_equal(sidik_log_init_from_env(), 0);
    assert_int_equal(sidik_log_get_level(), SIDIK_LOG_LEVEL_ERROR);
    setenv("SIDIK_LOG", "loud", 1);
    assert_int_equal(sidik_log_init_from_env(), SIDIK_EINVAL);
    assert_int_equal(sidik_log_get_level(), SIDIK_LOG_LEVEL_INFO);
    const char *out = drain();
    assert_non_null(strstr(out, "level=warn msg=\"SIDIK_LOG holds an unknown level; using info\""));
    unsetenv("SIDIK_LOG");
    sidik_log_set_level(SIDIK_LOG_LEVEL_DEBUG);
    assert_int_equal(sidik_log_init_from_env(), 0);
    assert_int_equal(sidik_log_get_level(), SIDIK_LOG_LEVEL_DEBUG); /* unset: unchanged */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_line_format, open_pipe, close_pipe),
        cmocka_unit_test_setup_teardown(test_log_threshold_filters, open_pipe, close_pipe),
        cmocka_unit_test_setup_teardown(test_log_escapes_hostile_values, open_pipe, close_pipe),
        cmocka_unit_test_setup_teardown(test_log_truncates_long_lines, open_pipe, close_pipe),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test_setup_teardown(test_log_level_from_env, open_pipe, close_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
