/* What the commands print (cli/out.h): JSON and CSV strings from hostile
 * bytes, times both ways, and tables. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "sidik/common.h"

/* What fn(f, s) writes, as a string (the caller frees). */
static char *captured(void (*fn)(FILE *, const char *), const char *s)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    fn(f, s);
    fclose(f);
    return buf;
}

static void expect(void (*fn)(FILE *, const char *), const char *in, const char *want)
{
    char *got = captured(fn, in);
    if (strcmp(got, want) != 0)
        fail_msg("in %s: got [%s], want [%s]", in, got, want);
    free(got);
}

static void test_cli_out_json_string(void **state)
{
    (void)state;
    expect(sidik_out_json_string, "plain", "\"plain\"");
    expect(sidik_out_json_string, "q\"b\\", "\"q\\\"b\\\\\"");
    expect(sidik_out_json_string, "\t\n\x01\x7f", "\"\\u0009\\u000a\\u0001\\u007f\"");
    expect(sidik_out_json_string, "J\xc3\xa9r\xc3\xb4me", "\"J\xc3\xa9r\xc3\xb4me\"");
    /* A lone continuation byte, an overlong form, a surrogate, a cut
     * sequence: each becomes U+FFFD so the output parses. */
    expect(sidik_out_json_string, "a\x80" "b", "\"a\\ufffdb\"");
    expect(sidik_out_json_string, "\xc0\xaf", "\"\\ufffd\\ufffd\"");
    expect(sidik_out_json_string, "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
    expect(sidik_out_json_string, "\xe2\x82", "\"\\ufffd\\ufffd\"");
    expect(sidik_out_json_string, "", "\"\"");
}

static void test_cli_out_csv_field(void **state)
{
    (void)state;
    expect(sidik_out_csv_field, "plain", "plain");
    expect(sidik_out_csv_field, "a,b", "\"a,b\"");
    expect(sidik_out_csv_field, "say \"hi\"", "\"say \"\"hi\"\"\"");
    expect(sidik_out_csv_field, "two\nlines", "\"two\nlines\"");
    expect(sidik_out_csv_field, "cr\r", "\"cr\r\"");
    expect(sidik_out_csv_field, "", "");
}

static void test_cli_out_time(void **state)
{
    (void)state;
    char s[32];
    sidik_out_time(0, s, sizeof s);
    assert_string_equal(s, "-");
    sidik_out_time(1796207703000, s, sizeof s);
    assert_string_equal(s, "2026-12-02T10:35:03Z");
    int64_t ms;
    assert_int_equal(sidik_out_parse_time("2026-12-02T10:35:03Z", &ms), 0);
    assert_int_equal(ms, 1796207703000);
    assert_int_equal(sidik_out_parse_time("2026-12-02T10:35:03", &ms), 0);
    assert_int_equal(ms, 1796207703000);
    assert_int_equal(sidik_out_parse_time("2026-12-02", &ms), 0);
    assert_int_equal(ms, 1796169600000);
    assert_int_equal(sidik_out_parse_time("1970-01-01", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(sidik_out_parse_time("2024-02-29", &ms), 0);
    assert_int_equal(sidik_out_parse_time("@1796207703000", &ms), 0);
    assert_int_equal(ms, 1796207703000);
    /* Every round trip of a second-aligned time. */
    for (int64_t t = 0; t < 4102444800000; t += 86400000LL * 37 + 3723000) {
        sidik_out_time(t == 0 ? 1000 : t, s, sizeof s);
        assert_int_equal(sidik_out_parse_time(s, &ms), 0);
        assert_int_equal(ms, t == 0 ? 1000 : t);
    }
    static const char *const bad[] = {
        "", "2026", "2026-13-01", "2026-00-10", "2026-02-30", "2023-02-29", "2026-04-31",
        "1969-12-31", "2026-12-02T24:00:00", "2026-12-02T10:60:00", "2026-12-02T10:00:60",
        "2026-12-02 10:00:00", "2026-12-02T10:00:00+07", "2026-12-02T10:00", "2026/12/02",
        "-5", "12a", "1796207703000", "@", "@12a", "@-5", "@9999999999999999", "2026-12-02Z", "2026-1-02", "2026-12-02T10:00:00ZZ",
    };
    for (size_t i = 0; i < SIDIK_ARRAY_SIZE(bad); i++)
        if (sidik_out_parse_time(bad[i], &ms) != SIDIK_EINVAL)
            fail_msg("'%s' was taken as a time", bad[i]);
}

static void test_cli_out_table(void **state)
{
    (void)state;
    setenv("NO_COLOR", "1", 1); /* the memstream is no terminal anyway */
    static const char *const head[] = {"id", ">count", "note"};
    sidik_table t;
    sidik_table_init(&t, 3, head);
    static const char *const r1[] = {"a", "7", "first"};
    static const char *const r2[] = {"\xc3\xa9t\xc3\xa9", "1234", ""};
    assert_int_equal(sidik_table_row(&t, r1), 0);
    assert_int_equal(sidik_table_row(&t, r2), 0);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    sidik_table_print(&t, f);
    fclose(f);
    /* Widths count characters, numbers align right, no trailing blanks. */
    assert_string_equal(buf, "id   count  note\n"
                             "a        7  first\n"
                             "\xc3\xa9t\xc3\xa9   1234  \n");
    free(buf);
    /* Many rows (the array grows) and an overlong cell cut at a character. */
    char longcell[300];
    memset(longcell, 'x', sizeof longcell);
    memcpy(longcell + 90, "\xc3\xa9\xc3\xa9", 4);
    longcell[sizeof longcell - 1] = 0;
    static const char *rr[3];
    rr[0] = longcell, rr[1] = "1", rr[2] = "n";
    for (int i = 0; i < 500; i++)
        assert_int_equal(sidik_table_row(&t, rr), 0);
    assert_int_equal(t.nrows, 502);
    const char *cut = t.cells[(size_t)501 * SIDIK_TABLE_COLS];
    assert_true(strlen(cut) < SIDIK_TABLE_CELL);
    assert_string_equal(cut + strlen(cut) - 3, "...");
    assert_int_equal(strncmp(cut + 90, "\xc3\xa9", 2), 0);
    sidik_table_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_out_json_string),
        cmocka_unit_test(test_cli_out_csv_field),
        cmocka_unit_test(test_cli_out_time),
        cmocka_unit_test(test_cli_out_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
