/* Tests the exact integer square root that mcu_layernorm_s8 uses. The helper is static, so this
 * test compiles layernorm_s8.c into itself to reach it; it checks the defining property
 * r^2 <= v < (r + 1)^2 exhaustively for small v and around perfect squares over the whole
 * 64-bit range. */
#include "../src/layernorm_s8.c"

#include "test_util.h"

static void check_root(test_report *report, uint64_t value)
{
    const uint64_t root = integer_sqrt_u64(value);
    const int low_ok = root <= 0xFFFFFFFFull && root * root <= value;
    /* (root + 1)^2 would not fit in 64 bits when root = 2^32 - 1; it exceeds every value then. */
    const int high_ok = root == 0xFFFFFFFFull || (root + 1) * (root + 1) > value;
    expect_equal(report, 1, low_ok && high_ok, "isqrt(%llu) returned %llu",
                 (unsigned long long)value, (unsigned long long)root);
}

int main(void)
{
    test_report report = {0, 0};

    /* Hand-worked: sqrt(0) = 0, sqrt(15) = 3.87 -> 3, sqrt(16) = 4, sqrt(2^62) = 2^31,
     * sqrt(2^64 - 1) = 2^32 - 0.0000000001 -> 2^32 - 1, sqrt(2^63 - 1) = 3037000499.97 -> 3037000499. */
    expect_equal(&report, 0, integer_sqrt_u64(0), "isqrt(0)");
    expect_equal(&report, 3, integer_sqrt_u64(15), "isqrt(15)");
    expect_equal(&report, 4, integer_sqrt_u64(16), "isqrt(16)");
    expect_equal(&report, 2147483648ll, integer_sqrt_u64(4611686018427387904ull), "isqrt(2^62)");
    expect_equal(&report, 4294967295ll, integer_sqrt_u64(18446744073709551615ull), "isqrt(2^64-1)");
    expect_equal(&report, 3037000499ll, integer_sqrt_u64(9223372036854775807ull), "isqrt(2^63-1)");

    for (uint64_t value = 0; value < 200000; value++) check_root(&report, value);

    case_rng rng = {4};
    for (int i = 0; i < 200000; i++) {
        /* Around a random perfect square, with roots of every bit length. */
        const int bits = (int)rng_range(&rng, 1, 32);
        const uint64_t root = rng_next(&rng) >> (64 - bits);
        const uint64_t square = root * root;
        check_root(&report, square);
        if (square > 0) check_root(&report, square - 1);
        check_root(&report, square + 1);
        check_root(&report, rng_next(&rng) >> rng_range(&rng, 0, 63));
    }
    return finish(&report, "test_layernorm_isqrt");
}
