/*
 * `bench FILE`: instructions of the portable and the DSP build of the kernels on transformer-sized
 * cases, measured with SysTick; meaningful under QEMU with -icount, where ticks are virtual time
 * and each instruction is a fixed number of ticks (boards/README.md: 25.6 on mps2-an500 with
 * shift=10). The outputs of the two builds are also compared on every case.
 *
 * FILE is a tab-separated table, one line per case and build, after a header line:
 *   tick_hz <SysTick ticks per second>
 *   <name> <in> <out> <tokens> <macs> <path> <ticks>
 * name: linear, attention.qk, attention.softmax, attention.pv, attention (the three together),
 * layernorm, gelu_lut, add, patch_embed (in: taps per patch, out: embedding, tokens: patches);
 * path: portable or dsp; ticks exclude the cost of reading the tick counter. For the
 * element-wise kernels (softmax, layernorm, gelu_lut, add) macs counts elements: in is the row
 * length and tokens the number of rows.
 */
#include <string.h>

#include "console.h"
#include "firmware.h"
#include "semihost.h"
#include "timing.h"

typedef struct {
    int32_t file;
    int failed;
    uint64_t overhead_ticks; /* two back-to-back mcu_ticks() readings */
    case_rng rng;
    int8_t *next_free;       /* work memory not yet handed out */
} bench_state;

static void *take(bench_state *state, int32_t bytes)
{
    void *piece = state->next_free;
    state->next_free += (bytes + 7) & ~7;
    if (state->next_free > work_memory + WORK_BYTES) {
        console_write("bench: work memory exhausted\n");
        semihost_exit(1);
    }
    return piece;
}

/* ---- the output table ---- */

static char *append_text(char *at, const char *text)
{
    while (*text != '\0') *at++ = *text++;
    return at;
}

static char *append_unsigned(char *at, uint64_t value)
{
    char digits[20];
    int count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (count > 0) *at++ = digits[--count];
    return at;
}

static void write_line(bench_state *state, const char *line, int32_t length)
{
    if (semihost_write(state->file, line, (size_t)length) != length) state->failed = 1;
}

static void record(bench_state *state, const char *name, int32_t in, int32_t out, int32_t tokens,
                   uint64_t macs, const char *path, uint64_t ticks)
{
    char line[128];
    char *at = append_text(line, name);
    const uint64_t fields[4] = {(uint64_t)in, (uint64_t)out, (uint64_t)tokens, macs};
    for (int i = 0; i < 4; i++) at = append_unsigned(append_text(at, "\t"), fields[i]);
    at = append_text(append_text(append_text(at, "\t"), path), "\t");
    at = append_text(append_unsigned(at, ticks), "\n");
    write_line(state, line, (int32_t)(at - line));
}

/* Ticks since `start`, less the cost of the readings themselves. */
static uint64_t ticks_since(const bench_state *state, uint64_t start)
{
    const uint64_t elapsed = mcu_ticks() - start;
    return elapsed > state->overhead_ticks ? elapsed - state->overhead_ticks : 0;
}

static void expect_same(bench_state *state, const char *name, const int8_t *dsp,
                        const int8_t *portable, int32_t bytes)
{
    if (memcmp(dsp, portable, (size_t)bytes) == 0) return;
    console_write("bench: ");
    console_write(name);
    console_write(": the DSP and portable builds differ\n");
    state->failed = 1;
}

/* ---- cases ---- */

static void bench_linear(bench_state *state, int32_t in_features, int32_t out_features,
                         int32_t tokens)
{
    int8_t *const mark = state->next_free;
    int8_t *in = take(state, tokens * in_features);
    int8_t *weights = take(state, out_features * in_features);
    int32_t *bias = take(state, out_features * 4);
    int32_t *multipliers = take(state, out_features * 4);
    int32_t *shifts = take(state, out_features * 4);
    int8_t *out_portable = take(state, tokens * out_features);
    int8_t *out_dsp = take(state, tokens * out_features);
    rng_fill_s8(&state->rng, in, tokens * in_features);
    rng_fill_s8(&state->rng, weights, out_features * in_features);
    for (int32_t o = 0; o < out_features; o++) {
        bias[o] = (int32_t)rng_range(&state->rng, -(1 << 16), 1 << 16);
        multipliers[o] = (int32_t)rng_range(&state->rng, (int64_t)1 << 30, INT32_MAX);
        shifts[o] = (int32_t)rng_range(&state->rng, -10, -6);
    }
    const uint64_t macs = (uint64_t)tokens * in_features * out_features;

    uint64_t start = mcu_ticks();
    mcu_linear_s8_flat_portable(in, in_features, out_portable, out_features, tokens, in_features,
                           out_features, weights, bias, multipliers, shifts, 3, -5);
    record(state, "linear", in_features, out_features, tokens, macs, "portable",
           ticks_since(state, start));
    start = mcu_ticks();
    mcu_linear_s8_flat(in, in_features, out_dsp, out_features, tokens, in_features, out_features,
                  weights, bias, multipliers, shifts, 3, -5);
    record(state, "linear", in_features, out_features, tokens, macs, "dsp",
           ticks_since(state, start));
    expect_same(state, "linear", out_dsp, out_portable, tokens * out_features);
    state->next_free = mark;
}

/* A table like the compiler's: exp_table[d] = 65535 * decay^d. */
static void make_exp_table(uint16_t table[256])
{
    table[0] = 65535;
    for (int d = 1; d < 256; d++) table[d] = (uint16_t)((table[d - 1] * 60000u) >> 16);
}

/* One head of attention over n tokens, as the compiler lays it out: Q, K and V are column slices
 * of one [n][3 * 64] qkv buffer; scores and probabilities are [n][n]; the output is [n][64]. */
static void bench_attention(bench_state *state, int32_t n)
{
    enum { HEAD = 64, QKV_STRIDE = 3 * HEAD };
    int8_t *const mark = state->next_free;
    int8_t *qkv = take(state, n * QKV_STRIDE);
    int8_t *scores[2] = {take(state, n * n), take(state, n * n)};
    int8_t *probabilities[2] = {take(state, n * n), take(state, n * n)};
    int8_t *out[2] = {take(state, n * HEAD), take(state, n * HEAD)};
    uint16_t table[256];
    make_exp_table(table);
    rng_fill_s8(&state->rng, qkv, n * QKV_STRIDE);
    const int8_t *q = qkv, *k = qkv + HEAD, *v = qkv + 2 * HEAD;
    const uint64_t matmul_macs = (uint64_t)n * n * HEAD;
    const char *paths[2] = {"portable", "dsp"};
    uint64_t total[2] = {0, 0};

    for (int p = 0; p < 2; p++) {
        uint64_t start = mcu_ticks();
        (p == 0 ? mcu_matmul_s8_flat_portable : mcu_matmul_s8_flat)(q, QKV_STRIDE, 1, k, 1, QKV_STRIDE,
                                                          scores[p], n, n, HEAD, n, 4, -3,
                                                          1518500250, -9, -7);
        uint64_t ticks = ticks_since(state, start);
        total[p] += ticks;
        record(state, "attention.qk", HEAD, n, n, matmul_macs, paths[p], ticks);
    }
    expect_same(state, "attention.qk", scores[1], scores[0], n * n);

    for (int p = 0; p < 2; p++) {
        uint64_t start = mcu_ticks();
        (p == 0 ? mcu_softmax_s8_flat_portable : mcu_softmax_s8_flat)(scores[0], probabilities[p], n, n,
                                                            table);
        uint64_t ticks = ticks_since(state, start);
        total[p] += ticks;
        record(state, "attention.softmax", n, n, n, (uint64_t)n * n, paths[p], ticks);
    }
    expect_same(state, "attention.softmax", probabilities[1], probabilities[0], n * n);

    for (int p = 0; p < 2; p++) {
        uint64_t start = mcu_ticks();
        (p == 0 ? mcu_matmul_s8_flat_portable : mcu_matmul_s8_flat)(probabilities[0], n, 1, v, QKV_STRIDE,
                                                          1, out[p], HEAD, n, n, HEAD, -128, 2,
                                                          1582956730, -6, 1);
        uint64_t ticks = ticks_since(state, start);
        total[p] += ticks;
        record(state, "attention.pv", n, HEAD, n, matmul_macs, paths[p], ticks);
    }
    expect_same(state, "attention.pv", out[1], out[0], n * HEAD);

    for (int p = 0; p < 2; p++) {
        record(state, "attention", HEAD, HEAD, n, 2 * matmul_macs, paths[p], total[p]);
    }
    state->next_free = mark;
}

/* The attention matmuls of one head for a block of `queries` query rows against n tokens, as a
 * per-head lowering calls them: Q * K^T (k = 64) and P * V (k = n), Q, K and V being column
 * slices of [n][3 * 64] qkv rows. */
static void bench_attention_block(bench_state *state, int32_t queries, int32_t n)
{
    enum { HEAD = 64, QKV_STRIDE = 3 * HEAD };
    int8_t *const mark = state->next_free;
    int8_t *qkv = take(state, n * QKV_STRIDE);
    int8_t *probabilities = take(state, queries * n);
    int8_t *scores[2] = {take(state, queries * n), take(state, queries * n)};
    int8_t *out[2] = {take(state, queries * HEAD), take(state, queries * HEAD)};
    rng_fill_s8(&state->rng, qkv, n * QKV_STRIDE);
    rng_fill_s8(&state->rng, probabilities, queries * n);
    const int8_t *q = qkv, *k = qkv + HEAD, *v = qkv + 2 * HEAD;
    const uint64_t macs = (uint64_t)queries * n * HEAD;
    const char *paths[2] = {"portable", "dsp"};
    for (int p = 0; p < 2; p++) {
        const uint64_t start = mcu_ticks();
        (p == 0 ? mcu_matmul_s8_flat_portable : mcu_matmul_s8_flat)(
            q, QKV_STRIDE, 1, k, 1, QKV_STRIDE, scores[p], n, queries, HEAD, n, 4, -3, 1518500250,
            -9, -7);
        record(state, "attention.qk", HEAD, n, queries, macs, paths[p], ticks_since(state, start));
    }
    expect_same(state, "attention.qk", scores[1], scores[0], queries * n);
    for (int p = 0; p < 2; p++) {
        const uint64_t start = mcu_ticks();
        (p == 0 ? mcu_matmul_s8_flat_portable : mcu_matmul_s8_flat)(
            probabilities, n, 1, v, QKV_STRIDE, 1, out[p], HEAD, queries, n, HEAD, -128, 2,
            1582956730, -6, 1);
        record(state, "attention.pv", n, HEAD, queries, macs, paths[p], ticks_since(state, start));
    }
    expect_same(state, "attention.pv", out[1], out[0], queries * HEAD);
    state->next_free = mark;
}

static void bench_layernorm(bench_state *state, int32_t dim, int32_t rows)
{
    int8_t *const mark = state->next_free;
    int8_t *in = take(state, rows * dim);
    int32_t *gamma_q = take(state, dim * 4);
    int32_t *beta_q = take(state, dim * 4);
    int8_t *out[2] = {take(state, rows * dim), take(state, rows * dim)};
    rng_fill_s8(&state->rng, in, rows * dim);
    for (int32_t i = 0; i < dim; i++) {
        gamma_q[i] = (int32_t)rng_range(&state->rng, 1 << 14, 3 << 16);
        beta_q[i] = (int32_t)rng_range(&state->rng, -(16 << 16), 16 << 16);
    }
    for (int p = 0; p < 2; p++) {
        const uint64_t start = mcu_ticks();
        (p == 0 ? mcu_layernorm_s8_flat_portable : mcu_layernorm_s8_flat)(in, dim, out[p], dim, rows, dim,
                                                                300, gamma_q, beta_q, -2);
        record(state, "layernorm", dim, dim, rows, (uint64_t)rows * dim,
               p == 0 ? "portable" : "dsp", ticks_since(state, start));
    }
    expect_same(state, "layernorm", out[1], out[0], rows * dim);
    state->next_free = mark;
}

/* Patch embedding of a square image of `size` pixels and `channels` channels. */
static void bench_patch_embed(bench_state *state, int32_t channels, int32_t size, int32_t patch,
                              int32_t embed)
{
    int8_t *const mark = state->next_free;
    const int32_t grid = size / patch, taps = channels * patch * patch;
    int8_t *image = take(state, channels * size * size);
    int8_t *weights = take(state, embed * taps);
    int32_t *bias = take(state, embed * 4);
    int32_t *multipliers = take(state, embed * 4);
    int32_t *shifts = take(state, embed * 4);
    int8_t *out[2] = {take(state, grid * grid * embed), take(state, grid * grid * embed)};
    rng_fill_s8(&state->rng, image, channels * size * size);
    rng_fill_s8(&state->rng, weights, embed * taps);
    for (int32_t e = 0; e < embed; e++) {
        bias[e] = (int32_t)rng_range(&state->rng, -(1 << 14), 1 << 14);
        multipliers[e] = (int32_t)rng_range(&state->rng, (int64_t)1 << 30, INT32_MAX);
        shifts[e] = (int32_t)rng_range(&state->rng, -9, -5);
    }
    for (int p = 0; p < 2; p++) {
        const uint64_t start = mcu_ticks();
        (p == 0 ? mcu_patch_embed_s8_flat_portable : mcu_patch_embed_s8_flat)(
            image, channels, size, size, patch, 0, 0, grid, grid, weights, bias, multipliers,
            shifts, embed, -128, -22, out[p]);
        record(state, "patch_embed", taps, embed, grid * grid, (uint64_t)grid * grid * taps * embed,
               p == 0 ? "portable" : "dsp", ticks_since(state, start));
    }
    expect_same(state, "patch_embed", out[1], out[0], grid * grid * embed);
    state->next_free = mark;
}

static void bench_elementwise(bench_state *state, int32_t dim, int32_t rows)
{
    int8_t *const mark = state->next_free;
    const int32_t count = rows * dim;
    int8_t *a = take(state, count);
    int8_t *b = take(state, count);
    int8_t *table = take(state, 256);
    int8_t *out[2] = {take(state, count), take(state, count)};
    rng_fill_s8(&state->rng, a, count);
    rng_fill_s8(&state->rng, b, count);
    rng_fill_s8(&state->rng, table, 256);
    for (int p = 0; p < 2; p++) {
        const uint64_t start = mcu_ticks();
        (p == 0 ? mcu_lut_s8_flat_portable : mcu_lut_s8_flat)(a, out[p], count, table);
        record(state, "gelu_lut", dim, dim, rows, (uint64_t)count, p == 0 ? "portable" : "dsp",
               ticks_since(state, start));
    }
    expect_same(state, "gelu_lut", out[1], out[0], count);
    for (int p = 0; p < 2; p++) {
        const uint64_t start = mcu_ticks();
        (p == 0 ? mcu_add_s8_flat_portable : mcu_add_s8_flat)(a, b, out[p], count, -12, 1063627118, 5,
                                                    318613125, 30, -18);
        record(state, "add", dim, dim, rows, (uint64_t)count, p == 0 ? "portable" : "dsp",
               ticks_since(state, start));
    }
    expect_same(state, "add", out[1], out[0], count);
    state->next_free = mark;
}

int32_t bench_kernels(const char *path)
{
    bench_state state = {semihost_open(path, SEMIHOST_OPEN_WRITE_BINARY), 0, 0, {7u}, work_memory};
    if (state.file < 0) {
        console_write("bench: cannot open the output file through semihosting\n");
        return 1;
    }
    const uint64_t first = mcu_ticks();
    state.overhead_ticks = mcu_ticks() - first;

    char header[40];
    char *at = append_text(header, "tick_hz\t");
    at = append_text(append_unsigned(at, mcu_tick_hz()), "\n");
    write_line(&state, header, (int32_t)(at - header));

    static const int32_t linear_shapes[][2] = {{64, 128}, {192, 192}, {192, 576}, {192, 768},
                                               {768, 192}};
    for (uint32_t s = 0; s < sizeof linear_shapes / sizeof linear_shapes[0]; s++) {
        bench_linear(&state, linear_shapes[s][0], linear_shapes[s][1], 1);
        bench_linear(&state, linear_shapes[s][0], linear_shapes[s][1], 16);
    }
    /* A DeiT-tiny block lowered per head: the query / key-value rows of one head over all
     * tokens, and the projections over row blocks of 8 tokens. */
    bench_linear(&state, 192, 64, 226);
    bench_linear(&state, 192, 128, 226);
    bench_linear(&state, 192, 64, 8);
    bench_linear(&state, 192, 192, 8);
    bench_linear(&state, 192, 768, 8);
    bench_linear(&state, 768, 192, 8);
    bench_attention(&state, 65);
    bench_attention(&state, 197);
    bench_attention_block(&state, 8, 226);
    bench_layernorm(&state, 64, 16);
    bench_layernorm(&state, 192, 16);
    bench_layernorm(&state, 768, 16);
    bench_elementwise(&state, 192, 16);
    bench_patch_embed(&state, 1, 28, 4, 64);
    bench_patch_embed(&state, 3, 32, 4, 192);
    bench_patch_embed(&state, 3, 64, 16, 192); /* DeiT's 16 x 16 x 3 patches: 768 taps */

    if (semihost_close(state.file) != 0) state.failed = 1;
    console_write(state.failed ? "kernel bench: FAIL\n" : "kernel bench: done\n");
    return state.failed;
}
