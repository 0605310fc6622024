#include "test_support.h"

#include <errno.h>
#include <string.h>

#include "sidik/err.h"

static const int all_codes[] = {
#define X(name, value, grpc, msg) SIDIK_E##name,
    SIDIK_ERR_MAP(X)
#undef X
};

static void test_err_codes_unique_and_outside_errno(void **state)
{
    (void)state;
    size_t n = sizeof all_codes / sizeof all_codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(all_codes[i] <= -20000);
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(all_codes[i], all_codes[j]);
    }
}

static void test_err_names_and_messages(void **state)
{
    (void)state;
    assert_string_equal(sidik_err_name(SIDIK_EINVAL), "SIDIK_EINVAL");
    assert_string_equal(sidik_err_name(SIDIK_ETRUNCATED), "SIDIK_ETRUNCATED");
    assert_string_equal(sidik_strerror(SIDIK_ENOMEM), "out of memory");
    assert_string_equal(sidik_err_name(0), "OK");
    assert_string_equal(sidik_strerror(0), "success");
    for (size_t i = 0; i < sizeof all_codes / sizeof all_codes[0]; i++) {
        assert_true(strncmp(sidik_err_name(all_codes[i]), "SIDIK_E", 7) == 0);
        assert_true(strlen(sidik_strerror(all_codes[i])) > 3);
    }
}

static void test_err_errno_passes_through(void **state)
{
    (void)state;
    assert_string_equal(sidik_err_name(-ENOSPC), "ENOSPC");
    assert_string_equal(sidik_strerror(-ENOSPC), "No space left on device");
    assert_string_equal(sidik_err_name(-EIO), "EIO");
}

static void test_err_unknown_code(void **state)
{
    (void)state;
    assert_string_equal(sidik_err_name(-19999), "UNKNOWN");
    assert_string_equal(sidik_strerror(-19999), "unknown error");
    assert_string_equal(sidik_err_name(12345), "UNKNOWN");
    assert_int_equal(sidik_err_grpc(-19999), SIDIK_GRPC_UNKNOWN);
}

static void test_err_grpc_mapping(void **state)
{
    (void)state;
    assert_int_equal(sidik_err_grpc(0), SIDIK_GRPC_OK);
    assert_int_equal(sidik_err_grpc(SIDIK_EINVAL), SIDIK_GRPC_INVALID_ARGUMENT);
    assert_int_equal(sidik_err_grpc(SIDIK_ENOMEM), SIDIK_GRPC_RESOURCE_EXHAUSTED);
    assert_int_equal(sidik_err_grpc(SIDIK_ETOOBIG), SIDIK_GRPC_RESOURCE_EXHAUSTED);
    assert_int_equal(sidik_err_grpc(SIDIK_EEXISTS), SIDIK_GRPC_ALREADY_EXISTS);
    assert_int_equal(sidik_err_grpc(SIDIK_EDENIED), SIDIK_GRPC_PERMISSION_DENIED);
    assert_int_equal(sidik_err_grpc(SIDIK_EUNAUTH), SIDIK_GRPC_UNAUTHENTICATED);
    assert_int_equal(sidik_err_grpc(SIDIK_ECORRUPT), SIDIK_GRPC_DATA_LOSS);
    assert_int_equal(sidik_err_grpc(SIDIK_ETIMEOUT), SIDIK_GRPC_DEADLINE_EXCEEDED);
    assert_int_equal(sidik_err_grpc(SIDIK_EBUSY), SIDIK_GRPC_UNAVAILABLE);
    assert_int_equal(sidik_err_grpc(-ENOSPC), SIDIK_GRPC_RESOURCE_EXHAUSTED);
    assert_int_equal(sidik_err_grpc(-ECONNRESET), SIDIK_GRPC_UNAVAILABLE);
    assert_int_equal(sidik_err_grpc(-ETIMEDOUT), SIDIK_GRPC_DEADLINE_EXCEEDED);
    assert_int_equal(sidik_err_grpc(-EIO), SIDIK_GRPC_INTERNAL);
    assert_string_equal(sidik_grpc_status_name(SIDIK_GRPC_PERMISSION_DENIED), "PERMISSION_DENIED");
    assert_string_equal(sidik_grpc_status_name(SIDIK_GRPC_UNAUTHENTICATED), "UNAUTHENTICATED");
    assert_string_equal(sidik_grpc_status_name((sidik_grpc_status)17), "UNKNOWN");
}

/* The reason a failure path writes for its caller, returning its code. */
static void test_err_why(void **state)
{
    (void)state;
    char why[8] = "unset";
    assert_int_equal(sidik_why(why, sizeof why, SIDIK_EINVAL, "bad %s %d", "key", 42), SIDIK_EINVAL);
    assert_string_equal(why, "bad key"); /* cut to the buffer, terminated */
    assert_int_equal(sidik_why(why, sizeof why, 0, "%s", ""), 0);
    assert_string_equal(why, "");
    assert_int_equal(sidik_why(NULL, 100, -ENOENT, "x"), -ENOENT); /* no buffer: only the code */
    memcpy(why, "keep", 5);
    assert_int_equal(sidik_why(why, 0, SIDIK_EFULL, "overwrite"), SIDIK_EFULL);
    assert_string_equal(why, "keep");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_codes_unique_and_outside_errno),
        cmocka_unit_test(test_err_names_and_messages),
        cmocka_unit_test(test_err_errno_passes_through),
        cmocka_unit_test(test_err_unknown_code),
        cmocka_unit_test(test_err_grpc_mapping),
        cmocka_unit_test(test_err_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
