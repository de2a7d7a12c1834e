/* Tests mcu_matmul_s8 against a plain reference, with row-major and transposed operands (the
 * Q * K^T and P * V layouts), padded output rows and extreme zero points, plus hand cases. */
#include <string.h>

#include <mcuformer/kernels.h>

#include "test_util.h"

#define SENTINEL 90

typedef struct {
    int row_stride, col_stride;
} layout;

static int8_t element(const int8_t *matrix, layout l, int row, int col)
{
    return matrix[row * l.row_stride + col * l.col_stride];
}

/* out[i][j] = sat(out_zp + requantize(sum_p (a[i][p] - a_zp) * (b[p][j] - b_zp))) */
static void reference_matmul(const int8_t *a, layout a_layout, const int8_t *b, layout b_layout,
                             int8_t *out, int m, int k, int n, int32_t a_zp, int32_t b_zp,
                             int32_t multiplier, int32_t shift, int32_t out_zp)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            int64_t acc = 0;
            for (int p = 0; p < k; p++) {
                acc += (int64_t)(element(a, a_layout, i, p) - a_zp)
                     * (element(b, b_layout, p, j) - b_zp);
            }
            out[i * n + j] = ref_requantize_s8(acc, multiplier, shift, out_zp);
        }
    }
}

static void hand_worked_cases(test_report *report)
{
    /* a = [1 2; 3 4], b = [5 6; 7 8]: a * b = [19 22; 43 50]. Multiplier 2^30, shift 0 halves:
     * [9.5 11; 21.5 25] -> [10 11; 22 25] (halves round up); out_zp -10 -> [0 1; 12 15]. */
    const int8_t a[4] = {1, 2, 3, 4};
    const int8_t b[4] = {5, 6, 7, 8};
    const int8_t expected[4] = {0, 1, 12, 15};
    int8_t out[4];
    mcu_matmul_s8_flat(a, 2, 1, b, 2, 1, out, 2, 2, 2, 2, 0, 0, 1 << 30, 0, -10);
    for (int i = 0; i < 4; i++) expect_equal(report, expected[i], out[i], "plain hand case %d", i);

    /* Same product as Q * K^T: K = b^T = [5 7; 6 8] stored row-major, read with b_row_stride 1
     * and b_col_stride 2 (K's row stride). */
    const int8_t k_rows[4] = {5, 7, 6, 8};
    mcu_matmul_s8_flat(a, 2, 1, k_rows, 1, 2, out, 2, 2, 2, 2, 0, 0, 1 << 30, 0, -10);
    for (int i = 0; i < 4; i++) expect_equal(report, expected[i], out[i], "K^T hand case %d", i);

    /* Zero points: a_zp 1, b_zp -1 -> a' = [0 1; 2 3], b' = [6 7; 8 9];
     * a' * b' = [8 9; 36 41] -> halved [4 4.5; 18 20.5] -> [4 5; 18 21]. */
    const int8_t expected_zp[4] = {4, 5, 18, 21};
    mcu_matmul_s8_flat(a, 2, 1, b, 2, 1, out, 2, 2, 2, 2, 1, -1, 1 << 30, 0, 0);
    for (int i = 0; i < 4; i++) expect_equal(report, expected_zp[i], out[i], "zp hand case %d", i);
}

int main(void)
{
    enum { MAX_M = 13, MAX_K = 41, MAX_N = 13, MAX_PAD = 3 };
    static int8_t a[(MAX_M + MAX_PAD) * (MAX_K + MAX_PAD)];
    static int8_t b[(MAX_K + MAX_PAD) * (MAX_N + MAX_PAD)];
    static int8_t out[MAX_M * (MAX_N + MAX_PAD)];
    static int8_t expected[MAX_M * MAX_N];

    test_report report = {0, 0};
    hand_worked_cases(&report);

    case_rng rng = {2};
    for (int iteration = 0; iteration < 1500; iteration++) {
        const int m = (int)rng_range(&rng, 1, MAX_M);
        const int k = (int)rng_range(&rng, 1, MAX_K);
        const int n = (int)rng_range(&rng, 1, MAX_N);
        const int a_transposed = (int)rng_range(&rng, 0, 1);
        const int b_transposed = (int)rng_range(&rng, 0, 1);
        const layout a_layout = a_transposed
            ? (layout){1, m + (int)rng_range(&rng, 0, MAX_PAD)}
            : (layout){k + (int)rng_range(&rng, 0, MAX_PAD), 1};
        const layout b_layout = b_transposed
            ? (layout){1, k + (int)rng_range(&rng, 0, MAX_PAD)}
            : (layout){n + (int)rng_range(&rng, 0, MAX_PAD), 1};
        const int out_stride = n + (int)rng_range(&rng, 0, MAX_PAD);
        const int32_t a_zp = rng_zero_point(&rng);
        const int32_t b_zp = rng_zero_point(&rng);
        const int32_t out_zp = rng_zero_point(&rng);
        const int32_t multiplier = rng_multiplier(&rng);
        const int32_t shift = rng_shift(&rng);

        rng_fill_s8(&rng, a, (int64_t)sizeof a);
        rng_fill_s8(&rng, b, (int64_t)sizeof b);
        memset(out, SENTINEL, sizeof out);

        mcu_matmul_s8_flat(a, a_layout.row_stride, a_layout.col_stride, b, b_layout.row_stride,
                      b_layout.col_stride, out, out_stride, m, k, n, a_zp, b_zp, multiplier,
                      shift, out_zp);
        reference_matmul(a, a_layout, b, b_layout, expected, m, k, n, a_zp, b_zp, multiplier,
                         shift, out_zp);

        for (int i = 0; i < m; i++) {
            for (int j = 0; j < out_stride; j++) {
                const int8_t want = (j < n) ? expected[i * n + j] : SENTINEL;
                expect_equal(&report, want, out[i * out_stride + j],
                             "iteration %d (%d x %d x %d, a%s b%s) out[%d][%d]", iteration, m, k,
                             n, a_transposed ? "^T" : "", b_transposed ? "^T" : "", i, j);
            }
        }
    }
    return finish(&report, "test_matmul");
}
