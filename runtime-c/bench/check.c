/*
 * `check`: every kernel through both builds on randomized shapes and parameters, outputs
 * compared byte for byte, including the gaps between output rows (which both must leave
 * untouched). Shapes are drawn to reach every branch of the DSP paths: blocks of four tokens or
 * columns and the ones left over, lengths that are not multiples of 4, the extended-operand
 * buffer's limits (k around 384 and 1536), the Q*K^T, P*V and other stride patterns of matmul,
 * softmax and LayerNorm rows that take the exact fallback, every requantization shift, and
 * in-place use where the contract allows it. Parameters follow the host tests (tests/test_util.h):
 * random, with the extremes over-represented.
 */
#include <string.h>

#include "console.h"
#include "firmware.h"
#include "semihost.h"

#define SENTINEL 90 /* fills output gaps the kernels must not touch */
#define REPORTED_FAILURES 10

typedef struct {
    const char *kernel;
    uint32_t cases;
    uint32_t failures;
} tally;

/* Carves the work memory into 8-byte aligned pieces for one case. */
typedef struct {
    int8_t *next;
} carver;

static void *carve(carver *memory, int32_t bytes)
{
    void *piece = memory->next;
    memory->next += (bytes + 7) & ~7;
    if (memory->next > work_memory + WORK_BYTES) {
        console_write("check: work memory exhausted\n");
        semihost_exit(1);
    }
    return piece;
}

static int8_t *carve_outputs(carver *memory, int32_t bytes)
{
    int8_t *out = carve(memory, bytes);
    memset(out, SENTINEL, (size_t)bytes);
    return out;
}

/* Per-output-channel parameters of a linear or patch embedding: int8 weights [channels][taps],
 * int32 biases within +-bias_limit, requantization multipliers and shifts. */
typedef struct {
    int8_t *weights;
    int32_t *bias;
    int32_t *multipliers;
    int32_t *shifts;
} channel_params;

static channel_params random_channel_params(case_rng *rng, carver *memory, int32_t channels,
                                            int32_t taps, int32_t bias_limit)
{
    channel_params p;
    p.weights = carve(memory, channels * taps);
    p.bias = carve(memory, channels * 4);
    p.multipliers = carve(memory, channels * 4);
    p.shifts = carve(memory, channels * 4);
    rng_fill_s8(rng, p.weights, channels * taps);
    for (int32_t c = 0; c < channels; c++) {
        p.bias[c] = (int32_t)rng_range(rng, -bias_limit, bias_limit);
        p.multipliers[c] = rng_multiplier(rng);
        p.shifts[c] = rng_shift(rng);
    }
    return p;
}

/* Per-channel LayerNorm scale and offset in Q16, at the magnitudes the compiler produces. */
static void random_layernorm_params(case_rng *rng, carver *memory, int32_t dim, int32_t **gamma_q,
                                    int32_t **beta_q)
{
    *gamma_q = carve(memory, dim * 4);
    *beta_q = carve(memory, dim * 4);
    for (int32_t i = 0; i < dim; i++) {
        (*gamma_q)[i] = (int32_t)rng_range(rng, -(4 << 16), 4 << 16);
        (*beta_q)[i] = (int32_t)rng_range(rng, -(64 << 16), 64 << 16);
    }
}

/* Records one case: the two outputs must be identical. */
static void compare(tally *t, int32_t iteration, const int8_t *dsp, const int8_t *portable,
                    int32_t bytes)
{
    t->cases++;
    for (int32_t i = 0; i < bytes; i++) {
        if (dsp[i] == portable[i]) continue;
        t->failures++;
        if (t->failures <= REPORTED_FAILURES) {
            console_write("check: ");
            console_write(t->kernel);
            console_write(" case ");
            console_write_unsigned((uint64_t)iteration);
            console_write(": byte ");
            console_write_unsigned((uint64_t)i);
            console_write(" is ");
            console_write_signed(dsp[i]);
            console_write(", portable ");
            console_write_signed(portable[i]);
            console_write("\n");
        }
        return;
    }
}

/* ---- parameters beyond random_cases.h, biased toward the edge cases ---- */

/* A length: mostly small, sometimes around the DSP buffers' limits for four vectors (384, and
 * 768 for the linear's wide buffer) and for one (1536). */
static int32_t random_length(case_rng *rng, int32_t small_max)
{
    switch (rng_range(rng, 0, 19)) {
    case 0:
    case 1: return (int32_t)rng_range(rng, 380, 390);
    case 2: return (int32_t)rng_range(rng, 1533, 1540);
    case 3: return (int32_t)rng_range(rng, 764, 772);
    default: return (int32_t)rng_range(rng, 1, small_max);
    }
}

/* ---- one function per kernel ---- */

static void check_linear(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t rows = (int32_t)rng_range(rng, 1, 13);
        const int32_t in_features = random_length(rng, 100);
        const int32_t out_features = (int32_t)rng_range(rng, 1, 24);
        const int32_t in_stride = in_features + (int32_t)rng_range(rng, 0, 5);
        const int32_t out_stride = out_features + (int32_t)rng_range(rng, 0, 5);
        const int32_t in_zp = rng_zero_point(rng), out_zp = rng_zero_point(rng);
        const int with_bias = rng_range(rng, 0, 3) != 0;

        int8_t *in = carve(&memory, rows * in_stride);
        rng_fill_s8(rng, in, rows * in_stride);
        const channel_params p =
            random_channel_params(rng, &memory, out_features, in_features, 1 << 22);
        const int32_t out_bytes = rows * out_stride;
        int8_t *dsp = carve_outputs(&memory, out_bytes);
        int8_t *portable = carve_outputs(&memory, out_bytes);
        mcu_linear_s8_flat(in, in_stride, dsp, out_stride, rows, in_features, out_features, p.weights,
                      with_bias ? p.bias : 0, p.multipliers, p.shifts, in_zp, out_zp);
        mcu_linear_s8_flat_portable(in, in_stride, portable, out_stride, rows, in_features,
                               out_features, p.weights, with_bias ? p.bias : 0, p.multipliers,
                               p.shifts, in_zp, out_zp);
        compare(t, iteration, dsp, portable, out_bytes);
    }
}

/* Input and output of a token-overwriting case in one piece of work memory, the output at
 * `shift` from the input; the input is filled with a copy of `input`. */
static int8_t *carve_overlapping(carver *memory, const int8_t *input, int32_t in_bytes,
                                 int32_t out_bytes, int32_t shift, int8_t **out)
{
    const int32_t low = shift < 0 ? shift : 0;
    const int32_t high = (shift + out_bytes > in_bytes) ? shift + out_bytes : in_bytes;
    int8_t *in = (int8_t *)carve(memory, high - low) - low;
    memcpy(in, input, (size_t)in_bytes);
    *out = in + shift;
    return in;
}

/* The DSP build writing over its own input against the portable build on separate buffers. */
static void check_linear_overwrite(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t rows = (int32_t)rng_range(rng, 1, 13);
        /* The contract allows overlap up to MCU_LINEAR_OVERLAP_MAX_IN_FEATURES (1536, where one
         * token still fits the DSP buffer); wide inputs keep few outputs to fit the work memory. */
        int32_t in_features = random_length(rng, 100);
        if (in_features > MCU_LINEAR_OVERLAP_MAX_IN_FEATURES) {
            in_features = MCU_LINEAR_OVERLAP_MAX_IN_FEATURES;
        }
        const int wide = in_features > 100;
        const int32_t out_features = (!wide && rng_range(rng, 0, 3) == 0)
                                         ? in_features
                                         : (int32_t)rng_range(rng, 1, wide ? 24 : 120);
        /* Input rows are sometimes wider than their features: the query columns of qkv rows. */
        const int32_t in_stride = (!wide && rng_range(rng, 0, 2) == 0)
                                      ? in_features * (int32_t)rng_range(rng, 2, 3)
                                      : in_features;
        const int32_t in_zp = rng_zero_point(rng), out_zp = rng_zero_point(rng);

        int8_t *input = carve(&memory, rows * in_stride);
        rng_fill_s8(rng, input, rows * in_stride);
        const channel_params p =
            random_channel_params(rng, &memory, out_features, in_features, 1 << 22);
        const int32_t out_bytes = rows * out_features;
        int8_t *portable = carve_outputs(&memory, out_bytes);
        mcu_linear_s8_flat_portable(input, in_stride, portable, out_features, rows, in_features,
                               out_features, p.weights, p.bias, p.multipliers, p.shifts, in_zp,
                               out_zp);
        int8_t *dsp;
        const int32_t shift = rng_overlap_shift(rng, rows, in_stride, out_features);
        int8_t *in = carve_overlapping(&memory, input, rows * in_stride, out_bytes, shift, &dsp);
        mcu_linear_s8_flat(in, in_stride, dsp, out_features, rows, in_features, out_features,
                      p.weights, p.bias, p.multipliers, p.shifts, in_zp, out_zp);
        compare(t, iteration, dsp, portable, out_bytes);
    }
}

static void check_layernorm_overwrite(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t rows = (int32_t)rng_range(rng, 1, 9);
        const int32_t dim = (int32_t)rng_range(rng, 1, 200);
        const int32_t out_zp = rng_zero_point(rng);
        const int64_t eps_term = rng_range(rng, 0, 1000);
        int32_t *gamma_q, *beta_q;
        random_layernorm_params(rng, &memory, dim, &gamma_q, &beta_q);
        int8_t *input = carve(&memory, rows * dim);
        rng_fill_s8(rng, input, rows * dim);
        int8_t *portable = carve_outputs(&memory, rows * dim);
        mcu_layernorm_s8_flat_portable(input, dim, portable, dim, rows, dim, eps_term, gamma_q, beta_q,
                                  out_zp);
        int8_t *dsp;
        const int32_t shift = rng_overlap_shift(rng, rows, dim, dim);
        int8_t *in = carve_overlapping(&memory, input, rows * dim, rows * dim, shift, &dsp);
        mcu_layernorm_s8_flat(in, dim, dsp, dim, rows, dim, eps_term, gamma_q, beta_q, out_zp);
        compare(t, iteration, dsp, portable, rows * dim);
    }
}

/* The fused kernel's DSP build, writing over its input, against its portable build on separate
 * buffers (each built on its own build of mcu_layernorm_s8 and mcu_linear_s8). */
static void check_layernorm_linear(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t rows = (int32_t)rng_range(rng, 1, 11);
        /* Around 384 the linear's DSP path takes two tokens per weight-row pass, not four. */
        const int32_t dim = (int32_t)(rng_range(rng, 0, 4) == 0 ? rng_range(rng, 380, 390)
                                                                : rng_range(rng, 1, 100));
        const int32_t out_features = rng_range(rng, 0, 3) == 0 ? dim : (int32_t)rng_range(rng, 1, 60);
        const int32_t norm_zp = rng_zero_point(rng), out_zp = rng_zero_point(rng);
        const int64_t eps_term = rng_range(rng, 0, 1000);
        int32_t *gamma_q, *beta_q;
        random_layernorm_params(rng, &memory, dim, &gamma_q, &beta_q);
        const channel_params p = random_channel_params(rng, &memory, out_features, dim, 1 << 22);
        int8_t *scratch = carve(&memory, MCU_LAYERNORM_LINEAR_BLOCK * dim);
        int8_t *input = carve(&memory, rows * dim);
        rng_fill_s8(rng, input, rows * dim);
        const int32_t out_bytes = rows * out_features;
        int8_t *portable = carve_outputs(&memory, out_bytes);
        mcu_layernorm_linear_s8_flat_portable(input, dim, portable, out_features, rows, dim, eps_term,
                                         gamma_q, beta_q, norm_zp, out_features, p.weights, p.bias,
                                         p.multipliers, p.shifts, out_zp, scratch);
        int8_t *dsp;
        const int32_t shift = rng_overlap_shift(rng, rows, dim, out_features);
        int8_t *in = carve_overlapping(&memory, input, rows * dim, out_bytes, shift, &dsp);
        mcu_layernorm_linear_s8_flat(in, dim, dsp, out_features, rows, dim, eps_term, gamma_q, beta_q,
                                norm_zp, out_features, p.weights, p.bias, p.multipliers, p.shifts,
                                out_zp, scratch);
        compare(t, iteration, dsp, portable, out_bytes);
    }
}

static void check_matmul(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t m = (int32_t)rng_range(rng, 1, 14);
        const int32_t k = random_length(rng, 80);
        const int32_t n = (int32_t)rng_range(rng, 1, 14);
        int32_t a_row_stride, a_col_stride, b_row_stride, b_col_stride;
        if (rng_range(rng, 0, 4) != 0) { /* rows of a contiguous along k */
            a_row_stride = k + (int32_t)rng_range(rng, 0, 3);
            a_col_stride = 1;
        } else {
            a_row_stride = 1;
            a_col_stride = m + (int32_t)rng_range(rng, 0, 3);
        }
        switch (rng_range(rng, 0, 2)) {
        case 0: /* K^T: columns of b contiguous along k */
            b_row_stride = 1;
            b_col_stride = k + (int32_t)rng_range(rng, 0, 3);
            break;
        case 1: /* V: rows of b contiguous along n */
            b_row_stride = n + (int32_t)rng_range(rng, 0, 3);
            b_col_stride = 1;
            break;
        default: /* neither stride 1 */
            b_row_stride = 2 * n + (int32_t)rng_range(rng, 0, 3);
            b_col_stride = 2;
            break;
        }
        const int32_t out_stride = n + (int32_t)rng_range(rng, 0, 3);
        const int32_t a_zp = rng_zero_point(rng), b_zp = rng_zero_point(rng);
        const int32_t out_zp = rng_zero_point(rng);
        const int32_t multiplier = rng_multiplier(rng), shift = rng_shift(rng);

        const int32_t a_bytes = (m - 1) * a_row_stride + (k - 1) * a_col_stride + 1;
        const int32_t b_bytes = (k - 1) * b_row_stride + (n - 1) * b_col_stride + 1;
        int8_t *a = carve(&memory, a_bytes);
        int8_t *b = carve(&memory, b_bytes);
        rng_fill_s8(rng, a, a_bytes);
        rng_fill_s8(rng, b, b_bytes);
        const int32_t out_bytes = m * out_stride;
        int8_t *dsp = carve_outputs(&memory, out_bytes);
        int8_t *portable = carve_outputs(&memory, out_bytes);
        mcu_matmul_s8_flat(a, a_row_stride, a_col_stride, b, b_row_stride, b_col_stride, dsp,
                      out_stride, m, k, n, a_zp, b_zp, multiplier, shift, out_zp);
        mcu_matmul_s8_flat_portable(a, a_row_stride, a_col_stride, b, b_row_stride, b_col_stride,
                               portable, out_stride, m, k, n, a_zp, b_zp, multiplier, shift,
                               out_zp);
        compare(t, iteration, dsp, portable, out_bytes);
    }
}

static void random_exp_table(case_rng *rng, uint16_t table[256])
{
    switch (rng_range(rng, 0, 4)) {
    case 0: /* arbitrary entries, table[0] > 0 */
        for (int d = 0; d < 256; d++) table[d] = (uint16_t)rng_range(rng, 0, 65535);
        table[0] = (uint16_t)rng_range(rng, 1, 65535);
        break;
    case 1: /* tiny entries: row sums below 512 take the DSP path's exact fallback */
        for (int d = 0; d < 256; d++) table[d] = (uint16_t)rng_range(rng, 0, 3);
        table[0] = (uint16_t)rng_range(rng, 1, 3);
        break;
    case 2: /* one-hot */
        table[0] = 65535;
        for (int d = 1; d < 256; d++) table[d] = 0;
        break;
    default: { /* decaying like the compiler's table */
        const int64_t decay_q16 = rng_range(rng, 50000, 65535);
        table[0] = 65535;
        for (int d = 1; d < 256; d++) table[d] = (uint16_t)((table[d - 1] * decay_q16) >> 16);
        break;
    }
    }
}

static void check_softmax(case_rng *rng, tally *t, int32_t cases)
{
    uint16_t table[256];
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t rows = (int32_t)rng_range(rng, 1, 5);
        /* Rows longer than 256 can sum to 2^24 or more (the other fallback). */
        const int32_t length = (int32_t)rng_range(rng, 1, rng_range(rng, 0, 3) == 0 ? 400 : 80);
        random_exp_table(rng, table);
        const int32_t spread = rng_range(rng, 0, 1) ? 255 : (int32_t)rng_range(rng, 0, 8);
        const int32_t base = (int32_t)rng_range(rng, -128, 127 - spread);
        int8_t *in = carve(&memory, rows * length);
        for (int32_t i = 0; i < rows * length; i++) {
            in[i] = (int8_t)(base + rng_range(rng, 0, spread));
        }
        int8_t *dsp = carve_outputs(&memory, rows * length);
        int8_t *portable = carve_outputs(&memory, rows * length);
        mcu_softmax_s8_flat(in, dsp, rows, length, table);
        mcu_softmax_s8_flat_portable(in, portable, rows, length, table);
        compare(t, iteration, dsp, portable, rows * length);
    }
}

/* floor(log2(value)) + 1, 0 for 0. */
static int32_t bit_length(uint64_t value)
{
    int32_t bits = 0;
    while (value != 0) {
        bits++;
        value >>= 1;
    }
    return bits;
}

static void check_layernorm(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        /* Every fourth case is one row whose variance v lands on a perfect square, or next to
         * one, to pin down the integer square root. */
        const int square_case = (iteration % 4) == 3;
        const int32_t rows = square_case ? 1 : (int32_t)rng_range(rng, 1, 6);
        const int32_t dim = (int32_t)(rng_range(rng, 0, 9) == 0 ? rng_range(rng, 700, 800)
                                                                : rng_range(rng, 1, 200));
        const int32_t in_stride = dim + (int32_t)rng_range(rng, 0, 4);
        const int32_t out_stride = dim + (int32_t)rng_range(rng, 0, 4);
        const int32_t out_zp = rng_zero_point(rng);

        int32_t *gamma_q = carve(&memory, dim * 4);
        int32_t *beta_q = carve(&memory, dim * 4);
        const int full_range = rng_range(rng, 0, 3) == 0;
        for (int32_t i = 0; i < dim; i++) {
            gamma_q[i] = full_range ? (int32_t)rng_range(rng, INT32_MIN, INT32_MAX)
                                    : (int32_t)rng_range(rng, -(4 << 16), 4 << 16);
            beta_q[i] = full_range ? (int32_t)rng_range(rng, INT32_MIN, INT32_MAX)
                                   : (int32_t)rng_range(rng, -(64 << 16), 64 << 16);
        }
        const int32_t spread = rng_range(rng, 0, 1) ? 255 : (int32_t)rng_range(rng, 0, 3);
        const int32_t base = (int32_t)rng_range(rng, -128, 127 - spread);
        int8_t *in = carve(&memory, rows * in_stride);
        for (int32_t i = 0; i < rows * in_stride; i++) {
            in[i] = (int8_t)(base + rng_range(rng, 0, spread));
        }

        int64_t eps_term;
        if (square_case) {
            /* v = dim * sum(x^2) - sum(x)^2 + eps_term (kernels.h); choose eps_term so that v is
             * s^2 - 1, s^2 or s^2 + 1 for a random s above sqrt of the rest. */
            int64_t sum = 0, squares = 0;
            for (int32_t i = 0; i < dim; i++) {
                sum += in[i];
                squares += (int64_t)in[i] * in[i];
            }
            const int64_t rest = dim * squares - sum * sum;
            const int32_t half_bits = (bit_length((uint64_t)rest) + 1) / 2;
            const int64_t root = rng_range(rng, (int64_t)1 << half_bits, INT32_MAX);
            eps_term = root * root - rest + rng_range(rng, -1, 1);
        } else {
            switch (rng_range(rng, 0, 3)) {
            case 0: eps_term = 0; break;
            case 1: eps_term = rng_range(rng, 1, 100); break;
            case 2: eps_term = rng_range(rng, 0, (int64_t)1 << 32); break;
            default: eps_term = rng_range(rng, 0, (int64_t)1 << 62); break;
            }
        }

        const int32_t out_bytes = rows * out_stride;
        int8_t *dsp = carve_outputs(&memory, out_bytes);
        int8_t *portable = carve_outputs(&memory, out_bytes);
        mcu_layernorm_s8_flat(in, in_stride, dsp, out_stride, rows, dim, eps_term, gamma_q, beta_q,
                         out_zp);
        mcu_layernorm_s8_flat_portable(in, in_stride, portable, out_stride, rows, dim, eps_term,
                                  gamma_q, beta_q, out_zp);
        compare(t, iteration, dsp, portable, out_bytes);
    }
}

static void check_lut(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t count = (int32_t)rng_range(rng, 0, 300);
        const int in_place = rng_range(rng, 0, 1) != 0;
        int8_t *table = carve(&memory, 256);
        int8_t *in = carve(&memory, count);
        rng_fill_s8(rng, table, 256);
        rng_fill_s8(rng, in, count);
        int8_t *dsp = carve_outputs(&memory, count);
        int8_t *portable = carve_outputs(&memory, count);
        if (in_place) {
            memcpy(dsp, in, (size_t)count);
            memcpy(portable, in, (size_t)count);
            mcu_lut_s8_flat(dsp, dsp, count, table);
            mcu_lut_s8_flat_portable(portable, portable, count, table);
        } else {
            mcu_lut_s8_flat(in, dsp, count, table);
            mcu_lut_s8_flat_portable(in, portable, count, table);
        }
        compare(t, iteration, dsp, portable, count);
    }
}

static void check_add(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t count = (int32_t)rng_range(rng, 0, 300);
        const int32_t a_zp = rng_zero_point(rng), b_zp = rng_zero_point(rng);
        const int32_t out_zp = rng_zero_point(rng);
        const int32_t shift = (int32_t)rng_range(rng, 1, 62);
        int32_t a_multiplier, b_multiplier;
        if (rng_range(rng, 0, 2) == 0) { /* anything an int32 can hold */
            a_multiplier = (int32_t)rng_range(rng, INT32_MIN, INT32_MAX);
            b_multiplier = (int32_t)rng_range(rng, INT32_MIN, INT32_MAX);
        } else { /* ratios of scales near 1: about 2^shift, capped to int32 */
            const int64_t one = (int64_t)1 << (shift < 30 ? shift : 30);
            a_multiplier = (int32_t)rng_range(rng, -one, one);
            b_multiplier = (int32_t)rng_range(rng, -one, one);
        }
        int8_t *a = carve(&memory, count);
        int8_t *b = carve(&memory, count);
        rng_fill_s8(rng, a, count);
        rng_fill_s8(rng, b, count);
        int8_t *dsp = carve_outputs(&memory, count);
        int8_t *portable = carve_outputs(&memory, count);
        switch (rng_range(rng, 0, 2)) {
        case 0: /* out == a */
            memcpy(dsp, a, (size_t)count);
            memcpy(portable, a, (size_t)count);
            mcu_add_s8_flat(dsp, b, dsp, count, a_zp, a_multiplier, b_zp, b_multiplier, shift, out_zp);
            mcu_add_s8_flat_portable(portable, b, portable, count, a_zp, a_multiplier, b_zp,
                                b_multiplier, shift, out_zp);
            break;
        case 1: /* out == b */
            memcpy(dsp, b, (size_t)count);
            memcpy(portable, b, (size_t)count);
            mcu_add_s8_flat(a, dsp, dsp, count, a_zp, a_multiplier, b_zp, b_multiplier, shift, out_zp);
            mcu_add_s8_flat_portable(a, portable, portable, count, a_zp, a_multiplier, b_zp,
                                b_multiplier, shift, out_zp);
            break;
        default:
            mcu_add_s8_flat(a, b, dsp, count, a_zp, a_multiplier, b_zp, b_multiplier, shift, out_zp);
            mcu_add_s8_flat_portable(a, b, portable, count, a_zp, a_multiplier, b_zp, b_multiplier,
                                shift, out_zp);
            break;
        }
        compare(t, iteration, dsp, portable, count);
    }
}

static void check_patch_embed(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t channels = (int32_t)rng_range(rng, 1, 3);
        /* Mostly small patches; sometimes enough taps for the DSP path's wide buffer (385 to 768
         * taps), its one-patch blocks (over 768) or its portable fallback (over 1536). */
        const int32_t patch =
            (int32_t)(rng_range(rng, 0, 7) == 0 ? rng_range(rng, 11, 23) : rng_range(rng, 1, 6));
        const int32_t grid_h = (int32_t)rng_range(rng, 1, 5);
        const int32_t grid_w = (int32_t)rng_range(rng, 1, 5);
        const int32_t pad_top = (int32_t)rng_range(rng, 0, patch - 1);
        const int32_t pad_left = (int32_t)rng_range(rng, 0, patch - 1);
        const int32_t height = grid_h * patch - pad_top - (int32_t)rng_range(rng, 0, pad_top);
        const int32_t width = grid_w * patch - pad_left - (int32_t)rng_range(rng, 0, pad_left);
        const int32_t embed = (int32_t)rng_range(rng, 1, 20);
        const int32_t in_zp = rng_zero_point(rng), out_zp = rng_zero_point(rng);
        const int32_t taps = channels * patch * patch;

        int8_t *image = carve(&memory, channels * height * width);
        rng_fill_s8(rng, image, channels * height * width);
        const channel_params p = random_channel_params(rng, &memory, embed, taps, 1 << 20);
        const int32_t out_bytes = grid_h * grid_w * embed;
        int8_t *dsp = carve_outputs(&memory, out_bytes);
        int8_t *portable = carve_outputs(&memory, out_bytes);
        mcu_patch_embed_s8_flat(image, channels, height, width, patch, pad_top, pad_left, grid_h,
                           grid_w, p.weights, p.bias, p.multipliers, p.shifts, embed, in_zp,
                           out_zp, dsp);
        mcu_patch_embed_s8_flat_portable(image, channels, height, width, patch, pad_top, pad_left,
                                    grid_h, grid_w, p.weights, p.bias, p.multipliers, p.shifts,
                                    embed, in_zp, out_zp, portable);
        compare(t, iteration, dsp, portable, out_bytes);
    }
}

static void check_mean_tokens(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        const int32_t rows = (int32_t)rng_range(rng, 1, 60);
        const int32_t dim = (int32_t)rng_range(rng, 1, 70);
        const int32_t stride = dim + (int32_t)rng_range(rng, 0, 3);
        const int32_t in_zp = rng_zero_point(rng), out_zp = rng_zero_point(rng);
        const int32_t multiplier = rng_multiplier(rng), shift = rng_shift(rng);
        int8_t *in = carve(&memory, rows * stride);
        rng_fill_s8(rng, in, rows * stride);
        int8_t *dsp = carve_outputs(&memory, dim);
        int8_t *portable = carve_outputs(&memory, dim);
        mcu_mean_tokens_s8_flat(in, stride, rows, dim, in_zp, multiplier, shift, out_zp, dsp);
        mcu_mean_tokens_s8_flat_portable(in, stride, rows, dim, in_zp, multiplier, shift, out_zp,
                                    portable);
        compare(t, iteration, dsp, portable, dim);
    }
}

static void check_copy(case_rng *rng, tally *t, int32_t cases)
{
    for (int32_t iteration = 0; iteration < cases; iteration++) {
        carver memory = {work_memory};
        int32_t shape[4], in_strides[4], out_strides[4];
        int32_t count = 1;
        for (int d = 0; d < 4; d++) {
            shape[d] = (int32_t)rng_range(rng, 1, 5);
            count *= shape[d];
        }
        /* Output row-major; input the same elements in a random axis order (a transpose). */
        int32_t order[4] = {0, 1, 2, 3};
        for (int d = 3; d > 0; d--) {
            const int other = (int)rng_range(rng, 0, d);
            const int32_t swap = order[d];
            order[d] = order[other];
            order[other] = swap;
        }
        int32_t out_step = 1, in_step = 1;
        for (int d = 3; d >= 0; d--) {
            out_strides[d] = out_step;
            out_step *= shape[d];
            in_strides[order[d]] = in_step;
            in_step *= shape[order[d]];
        }
        const int requantize = rng_range(rng, 0, 1) != 0;
        const int32_t in_zp = rng_zero_point(rng), out_zp = rng_zero_point(rng);
        const int32_t multiplier = requantize ? rng_multiplier(rng) : 0;
        const int32_t shift = rng_shift(rng);
        int8_t *in = carve(&memory, count);
        rng_fill_s8(rng, in, count);
        int8_t *dsp = carve_outputs(&memory, count);
        int8_t *portable = carve_outputs(&memory, count);
        mcu_copy_s8_flat(in, in_strides, dsp, out_strides, shape, in_zp, multiplier, shift, out_zp);
        mcu_copy_s8_flat_portable(in, in_strides, portable, out_strides, shape, in_zp, multiplier,
                             shift, out_zp);
        compare(t, iteration, dsp, portable, count);
    }
}

uint32_t check_kernels(void)
{
    static const struct {
        const char *name;
        void (*check)(case_rng *, tally *, int32_t);
        int32_t cases;
    } kernels[] = {
        {"linear", check_linear, 1200},          {"matmul", check_matmul, 1500},
        {"softmax", check_softmax, 1500},        {"layernorm", check_layernorm, 2000},
        {"lut", check_lut, 600},                 {"add", check_add, 1500},
        {"patch_embed", check_patch_embed, 500}, {"mean_tokens", check_mean_tokens, 300},
        {"copy", check_copy, 300},
        {"linear (overwriting its input)", check_linear_overwrite, 600},
        {"layernorm (overwriting its input)", check_layernorm_overwrite, 600},
        {"layernorm_linear (overwriting its input)", check_layernorm_linear, 600},
    };
    case_rng rng = {20240601u};
    uint32_t failures = 0;
    for (uint32_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        tally t = {kernels[i].name, 0, 0};
        kernels[i].check(&rng, &t, kernels[i].cases);
        console_write("check: ");
        console_write(t.kernel);
        if (t.failures == 0) {
            console_write(" bit-exact in ");
        } else {
            console_write(" DIFFERS in ");
            console_write_unsigned(t.failures);
            console_write(" of ");
        }
        console_write_unsigned(t.cases);
        console_write(" cases\n");
        failures += t.failures;
    }
    return failures;
}
