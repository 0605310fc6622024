#include "test_support.h"

#include <string.h>

#include "sidik/err.h"
#include "sidik/grpc_frame.h"

static void test_server_prefix_round_trip(void **state)
{
    (void)state;
    const uint32_t lens[] = {0, 1, 255, 256, 65535, 4u << 20, 0x7fffffffu};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t p[5];
        sidik_grpc_prefix_encode(p, lens[i]);
        bool c = true;
        uint32_t len = 0;
        const char *why = NULL;
        assert_int_equal(sidik_grpc_prefix_decode(p, UINT32_MAX, &c, &len, &why), 0);
        assert_false(c);
        assert_int_equal(len, lens[i]);
    }
    const uint8_t compressed[5] = {1, 0, 0, 1, 0};
    bool c = false;
    uint32_t len = 0;
    const char *why = NULL;
    assert_int_equal(sidik_grpc_prefix_decode(compressed, 1000, &c, &len, &why), 0);
    assert_true(c);
    assert_int_equal(len, 256);
}

static void test_server_prefix_bad_flag(void **state)
{
    (void)state;
    for (int flag = 2; flag < 256; flag++) {
        uint8_t p[5] = {(uint8_t)flag, 0, 0, 0, 1};
        bool c;
        uint32_t len = 99;
        const char *why = NULL;
        assert_int_equal(sidik_grpc_prefix_decode(p, 100, &c, &len, &why), SIDIK_EFORMAT);
        assert_string_equal(why, "message prefix flag byte must be 0 or 1");
        assert_int_equal(len, 99);
    }
}

static void test_server_prefix_oversized(void **state)
{
    (void)state;
    const uint32_t limit = 4u << 20;
    uint8_t p[5];
    bool c;
    uint32_t len;
    const char *why = NULL;
    sidik_grpc_prefix_encode(p, limit);
    assert_int_equal(sidik_grpc_prefix_decode(p, limit, &c, &len, &why), 0);
    sidik_grpc_prefix_encode(p, limit + 1);
    assert_int_equal(sidik_grpc_prefix_decode(p, limit, &c, &len, &why), SIDIK_ETOOBIG);
    const uint8_t two_gib[5] = {0, 0x80, 0, 0, 0};
    assert_int_equal(sidik_grpc_prefix_decode(two_gib, limit, &c, &len, &why), SIDIK_ETOOBIG);
    assert_string_equal(why, "message length exceeds the server's limit");
}

static void test_server_timeout_units(void **state)
{
    (void)state;
    struct {
        const char *v;
        uint64_t ns;
    } ok[] = {
        {"1H", 3600000000000ull},
        {"2M", 120000000000ull},
        {"3S", 3000000000ull},
        {"250m", 250000000ull},
        {"7u", 7000ull},
        {"99999999n", 99999999ull},
        {"0S", 0},
        {"99999999H", UINT64_MAX}, /* 3.6e20 ns: saturates */
        {"5124095H", 5124095ull * 3600000000000ull}, /* the largest whole-hour value that fits */
        {"5124096H", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t ns = 1;
        const char *why = NULL;
        assert_int_equal(sidik_grpc_timeout_parse(ok[i].v, strlen(ok[i].v), &ns, &why), 0);
        assert_true(ns == ok[i].ns);
    }
}

static void test_server_timeout_garbage(void **state)
{
    (void)state;
    struct {
        const char *v;
        const char *why;
    } bad[] = {
        {"", "grpc-timeout needs digits and a unit"},
        {"S", "grpc-timeout needs digits and a unit"},
        {"5", "grpc-timeout needs digits and a unit"},
        {"123456789S", "grpc-timeout has more than 8 digits"},
        {"-5S", "grpc-timeout value is not all digits"},
        {"1 S", "grpc-timeout value is not all digits"},
        {"0x10S", "grpc-timeout value is not all digits"},
        {"10s", "grpc-timeout unit must be one of H M S m u n"},
        {"10", "grpc-timeout unit must be one of H M S m u n"},
        {"10ms", "grpc-timeout value is not all digits"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ns = 42;
        const char *why = NULL;
        assert_int_equal(sidik_grpc_timeout_parse(bad[i].v, strlen(bad[i].v), &ns, &why),
                         SIDIK_EFORMAT);
        assert_string_equal(why, bad[i].why);
        assert_true(ns == 42);
    }
    /* Not NUL-terminated: only n bytes are read. */
    uint64_t ns = 0;
    const char *why = NULL;
    assert_int_equal(sidik_grpc_timeout_parse("5Sjunk", 2, &ns, &why), 0);
    assert_true(ns == 5000000000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_prefix_round_trip),
        cmocka_unit_test(test_server_prefix_bad_flag),
        cmocka_unit_test(test_server_prefix_oversized),
        cmocka_unit_test(test_server_timeout_units),
        cmocka_unit_test(test_server_timeout_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
