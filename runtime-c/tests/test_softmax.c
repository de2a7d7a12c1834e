/* Tests mcu_softmax_s8 against a plain reference over random rows and tables, plus hand-worked
 * cases (constant rows, a dominant element, ties). */
#include <mcuformer/kernels.h>

#include "test_util.h"

/* Per row: e_i = table[max - in[i]], inverse = floor(2^40 / sum e),
 * out[i] = sat(floor((e_i * inverse + 2^31) / 2^32) - 128), written with divisions. */
static void reference_softmax(const int8_t *in, int8_t *out, int rows, int length,
                              const uint16_t table[256])
{
    for (int r = 0; r < rows; r++) {
        const int8_t *row = in + r * length;
        int max = -128;
        for (int i = 0; i < length; i++) max = row[i] > max ? row[i] : max;
        uint64_t sum = 0;
        for (int i = 0; i < length; i++) sum += table[max - row[i]];
        const uint64_t inverse = sum ? 1099511627776ull / sum : 0; /* 2^40 */
        for (int i = 0; i < length; i++) {
            const uint64_t q8 = ((uint64_t)table[max - row[i]] * inverse + 2147483648ull)
                              / 4294967296ull;
            out[r * length + i] = ref_saturate_s8((int64_t)q8 - 128);
        }
    }
}

/* exp_table for "one-hot": only the maximum gets weight. */
static void make_hard_max_table(uint16_t table[256])
{
    table[0] = 65535;
    for (int d = 1; d < 256; d++) table[d] = 0;
}

/* A decreasing table like the compiler's: table[0] = 65535, each next entry a random fraction
 * (between about 0.76 and 1) of the previous one. */
static void make_decaying_table(case_rng *rng, uint16_t table[256])
{
    const int64_t decay_q16 = rng_range(rng, 50000, 65535);
    table[0] = 65535;
    for (int d = 1; d < 256; d++) table[d] = (uint16_t)((table[d - 1] * decay_q16) >> 16);
}

static void run_hand_case(test_report *report, const char *name, const int8_t *in,
                          const int8_t *expected, int length, const uint16_t table[256])
{
    int8_t out[256];
    mcu_softmax_s8_flat(in, out, 1, length, table);
    for (int i = 0; i < length; i++) expect_equal(report, expected[i], out[i], "%s [%d]", name, i);
}

static void hand_worked_cases(test_report *report)
{
    uint16_t table[256];
    case_rng rng = {77};
    make_decaying_table(&rng, table);

    /* Constant row of 4: every e = 65535, sum = 262140, inverse = floor(2^40 / 262140)
     * = floor(2^38 / 65535) = 4194368; e * inverse + 2^31 = 277025390528 = 64.4999... * 2^32
     * -> 64, minus 128 -> -64 (probability 1/4 = 64/256). The table does not matter. */
    const int8_t constant4[4] = {-7, -7, -7, -7};
    const int8_t expected4[4] = {-64, -64, -64, -64};
    run_hand_case(report, "constant row of 4", constant4, expected4, 4, table);

    /* Constant row of 256: inverse = floor(2^40 / (256 * 65535)) = 65537;
     * 65535 * 65537 = 2^32 - 1, plus 2^31, >> 32 -> 1 -> -127 (probability 1/256). */
    int8_t constant256[256], expected256[256];
    for (int i = 0; i < 256; i++) {
        constant256[i] = 100;
        expected256[i] = -127;
    }
    run_hand_case(report, "constant row of 256", constant256, expected256, 256, table);

    /* A single element: sum = 65535, inverse = floor(2^40 / 65535) = 16777472;
     * 65535 * 16777472 + 2^31 = 256.4999... * 2^32 -> 256 -> 128, saturated to 127. */
    const int8_t single[1] = {-128};
    const int8_t expected_single[1] = {127};
    run_hand_case(report, "single element", single, expected_single, 1, table);

    /* Hard max table, one clear maximum: e = [65535 0 0] -> [127 -128 -128]. */
    uint16_t hard[256];
    make_hard_max_table(hard);
    const int8_t dominant[3] = {10, -100, 3};
    const int8_t expected_dominant[3] = {127, -128, -128};
    run_hand_case(report, "dominant element", dominant, expected_dominant, 3, hard);

    /* Hard max table, a tie: sum = 131070, inverse = floor(2^39 / 65535) = 8388736;
     * 65535 * 8388736 + 2^31 = 128.4999... * 2^32 -> 128 -> 0 (probability 1/2). */
    const int8_t tie[3] = {5, 5, -1};
    const int8_t expected_tie[3] = {0, 0, -128};
    run_hand_case(report, "tie", tie, expected_tie, 3, hard);

    /* The maximum may be -128 itself: a row of -128s with the hard max table is a tie of two,
     * exactly as above -> [0 0]. */
    const int8_t lowest[2] = {-128, -128};
    const int8_t expected_lowest[2] = {0, 0};
    run_hand_case(report, "row of -128", lowest, expected_lowest, 2, hard);

    /* A table of zeros (never made by the compiler) must not divide by zero: all -128. */
    uint16_t zeros[256] = {0};
    const int8_t expected_zeros[3] = {-128, -128, -128};
    run_hand_case(report, "all-zero table", tie, expected_zeros, 3, zeros);
}

int main(void)
{
    enum { MAX_ROWS = 5, MAX_LENGTH = 300 };
    static int8_t in[MAX_ROWS * MAX_LENGTH], out[MAX_ROWS * MAX_LENGTH];
    static int8_t expected[MAX_ROWS * MAX_LENGTH];
    uint16_t table[256];

    test_report report = {0, 0};
    hand_worked_cases(&report);

    case_rng rng = {3};
    for (int iteration = 0; iteration < 1500; iteration++) {
        const int rows = (int)rng_range(&rng, 1, MAX_ROWS);
        const int length = (int)rng_range(&rng, 1, MAX_LENGTH);
        switch (rng_range(&rng, 0, 3)) {
        case 0: /* arbitrary table entries, but table[0] > 0 as the compiler guarantees */
            for (int d = 0; d < 256; d++) table[d] = (uint16_t)rng_range(&rng, 0, 65535);
            table[0] = (uint16_t)rng_range(&rng, 1, 65535);
            break;
        case 1: make_hard_max_table(table); break;
        default: make_decaying_table(&rng, table); break;
        }
        /* Narrow value ranges give many ties and near-uniform rows; full ranges reach d = 255. */
        const int spread = (int)rng_range(&rng, 0, 1) ? 255 : (int)rng_range(&rng, 0, 8);
        const int base = (int)rng_range(&rng, -128, 127 - spread);
        for (int i = 0; i < rows * length; i++) in[i] = (int8_t)(base + rng_range(&rng, 0, spread));

        mcu_softmax_s8_flat(in, out, rows, length, table);
        reference_softmax(in, expected, rows, length, table);
        for (int i = 0; i < rows * length; i++) {
            expect_equal(&report, expected[i], out[i], "iteration %d (rows %d length %d) row %d [%d]",
                         iteration, rows, length, i / length, i % length);
        }
    }
    return finish(&report, "test_softmax");
}
