#include "test_support.h"

#include <string.h>

#include "sidik/cpu.h"
#include "sidik/crc32c.h"
#include "sidik/err.h"

static bool have_sse42(void)
{
    sidik_cpu_features f;
    sidik_cpu_detect(&f);
    return sidik_cpu_best_level(&f) >= SIDIK_SIMD_SSE42;
}

/* Check values from RFC 3720 appendix B.4 and the common "123456789". */
static void test_storage_crc32c_known_vectors(void **state)
{
    (void)state;
    uint8_t zeros[32] = {0}, ones[32], inc[32], dec[32];
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++) {
        inc[i] = (uint8_t)i;
        dec[i] = (uint8_t)(31 - i);
    }
    uint32_t (*fns[2])(uint32_t, const void *, size_t) = {sidik_crc32c_scalar, sidik_crc32c};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(fns[k](0, "123456789", 9), 0xe3069283u);
        assert_int_equal(fns[k](0, zeros, 32), 0x8a9136aau);
        assert_int_equal(fns[k](0, ones, 32), 0x62a8ab43u);
        assert_int_equal(fns[k](0, inc, 32), 0x46dd794eu);
        assert_int_equal(fns[k](0, dec, 32), 0x113fdb5cu);
        assert_int_equal(fns[k](0, "", 0), 0);
    }
}

static void test_storage_crc32c_sse42_equals_scalar(void **state)
{
    (void)state;
    if (!have_sse42())
        skip();
    static uint8_t buf[4096 + 16];
    uint64_t s = 7;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)sidik_test_rand(&s);
    /* Every length 0..300 at every alignment 0..15, then some large ones. */
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 300; n++)
            assert_int_equal(sidik_crc32c_sse42(0, buf + off, n),
                             sidik_crc32c_scalar(0, buf + off, n));
    for (size_t n = 301; n <= 4096; n += 97)
        assert_int_equal(sidik_crc32c_sse42(0x1234, buf + 3, n),
                         sidik_crc32c_scalar(0x1234, buf + 3, n));
}

static void test_storage_crc32c_incremental(void **state)
{
    (void)state;
    const char *msg = "Nothing accepted is ever lost: journal entry 000042";
    size_t n = strlen(msg);
    uint32_t whole = sidik_crc32c(0, msg, n);
    for (size_t cut = 0; cut <= n; cut++) {
        assert_int_equal(sidik_crc32c_scalar(sidik_crc32c_scalar(0, msg, cut), msg + cut, n - cut),
                         whole);
        assert_int_equal(sidik_crc32c(sidik_crc32c(0, msg, cut), msg + cut, n - cut), whole);
    }
}

static void test_storage_crc32c_select(void **state)
{
    (void)state;
    assert_int_equal(sidik_crc32c_select(SIDIK_SIMD_SCALAR), 0);
    assert_int_equal(sidik_crc32c(0, "123456789", 9), 0xe3069283u);
    int rc = sidik_crc32c_select(SIDIK_SIMD_AVX2);
    if (have_sse42())
        assert_int_equal(rc, 0);
    else
        assert_int_equal(rc, SIDIK_ENOCPU);
    assert_int_equal(sidik_crc32c(0, "123456789", 9), 0xe3069283u);
}

static void test_storage_crc32c_detects_bit_flip(void **state)
{
    (void)state;
    uint8_t buf[256];
    for (int i = 0; i < 256; i++)
        buf[i] = (uint8_t)(i * 31);
    uint32_t good = sidik_crc32c(0, buf, sizeof buf);
    for (size_t bit = 0; bit < sizeof buf * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_not_equal(sidik_crc32c(0, buf, sizeof buf), good);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_crc32c_known_vectors),
        cmocka_unit_test(test_storage_crc32c_sse42_equals_scalar),
        cmocka_unit_test(test_storage_crc32c_incremental),
        cmocka_unit_test(test_storage_crc32c_select),
        cmocka_unit_test(test_storage_crc32c_detects_bit_flip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
