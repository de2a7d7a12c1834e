/* Tests mcu_lut_s8: a hand-worked table, random tables and inputs, and in-place use. */
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

#define SENTINEL 90

int main(void)
{
    enum { MAX_COUNT = 1000 };
    static int8_t in[MAX_COUNT], out[MAX_COUNT + 1], buffer[MAX_COUNT];
    int8_t table[256];
    test_report report = {0, 0};

    /* Hand-worked: table[j] = 127 - j, so out = 127 - (in + 128) = -1 - in:
     * -128 -> 127, 127 -> -128, 0 -> -1, -1 -> 0. */
    for (int j = 0; j < 256; j++) table[j] = (int8_t)(127 - j);
    const int8_t hand_in[4] = {-128, 127, 0, -1};
    const int8_t hand_expected[4] = {127, -128, -1, 0};
    int8_t hand_out[4];
    mcu_lut_s8_flat(hand_in, hand_out, 4, table);
    for (int i = 0; i < 4; i++) expect_equal(&report, hand_expected[i], hand_out[i], "hand case %d", i);

    /* Every input value once, in place. */
    int8_t every_value[256];
    for (int j = 0; j < 256; j++) every_value[j] = (int8_t)(j - 128);
    mcu_lut_s8_flat(every_value, every_value, 256, table);
    for (int j = 0; j < 256; j++) expect_equal(&report, 127 - j, every_value[j], "in place, input %d", j - 128);

    case_rng rng = {6};
    for (int iteration = 0; iteration < 500; iteration++) {
        const int count = (int)rng_range(&rng, 0, MAX_COUNT);
        for (int j = 0; j < 256; j++) table[j] = rng_s8(&rng);
        rng_fill_s8(&rng, in, count);

        /* Separate output; the element after the last must stay untouched. */
        memset(out, SENTINEL, sizeof out);
        mcu_lut_s8_flat(in, out, count, table);
        for (int i = 0; i < count; i++) {
            expect_equal(&report, table[in[i] + 128], out[i], "iteration %d [%d]", iteration, i);
        }
        expect_equal(&report, SENTINEL, out[count], "iteration %d: wrote past count %d", iteration, count);

        /* In place. */
        memcpy(buffer, in, (size_t)count);
        mcu_lut_s8_flat(buffer, buffer, count, table);
        for (int i = 0; i < count; i++) {
            expect_equal(&report, table[in[i] + 128], buffer[i], "in place iteration %d [%d]",
                         iteration, i);
        }
    }
    return finish(&report, "test_lut");
}
