/*
 * mcu_matmul_s8: product of two int8 activations, out = a * b (one attention head: Q * K^T or
 * P * V).
 *
 * Shapes and layouts (all strides in elements, so a transposed operand needs no copy)
 *   a    m x k, element (i, p) at a[i * a_row_stride + p * a_col_stride]
 *   b    k x n, element (p, j) at b[p * b_row_stride + j * b_col_stride]
 *        (for Q * K^T pass K with b_row_stride = 1 and b_col_stride = K's row stride)
 *   out  m x n, element (i, j) at out[i * out_row_stride + j]
 *
 * Quantization
 *   a, b and out are per-tensor asymmetric with zero points a_zp, b_zp, out_zp; one multiplier
 *   and shift encode a_scale * b_scale / out_scale.
 *
 * Arithmetic and rounding
 *   acc        = sum_p (a[i][p] - a_zp) * (b[p][j] - b_zp)                  (int32)
 *   out[i][j]  = sat8(out_zp + mcu_requantize(acc, multiplier, shift))
 *   mcu_requantize rounds half up (add half, arithmetic shift right) and saturates to int32.
 *   Each product is at most 255 * 255 in magnitude, so the accumulator cannot overflow while
 *   k <= 33025.
 *
 * Paths (kernel_common.h)
 *   Portable: the formula above, one output at a time, any strides; the reference.
 *   DSP: one operand, contiguous along k, is streamed as int8; the other is sign-extended, minus
 *   its zero point, into an extended-operand buffer on the stack (kernel_dsp_dot.h), four
 *   vectors at a time, and every streamed row meets each block (dsp_dot_4x1: 16 instructions
 *   per 16 MACs; for k >= 4 and the fast output stage one assembly function takes the block's
 *   rows, products and output stage, mcu_matmul_s8_4_vectors_fast_asm). P * V streams the rows of P (a_col_stride == 1) against columns of V, which
 *   are gathered (b_col_stride == 1: one word load gives four adjacent columns). Q * K^T has
 *   both operands contiguous along k (a_col_stride == 1, b_row_stride == 1) and buffers the one
 *   with fewer vectors, since each buffered vector is extended once per call: the columns of
 *   K^T for a whole head, the query rows for a tile of a few queries. The streamed zero point
 *   is left out of the products and corrected once per output, e.g. for streamed rows of a
 *     sum_p (a - a_zp)(b - b_zp) = sum_p a (b - b_zp) - a_zp * sum_p (b - b_zp),
 *   the last sum taken once per buffered vector. Vectors left over, and all of them when four
 *   of length k do not fit the 3 KB buffer (k > 384), go two at a time against pairs of
 *   streamed rows (dsp_dot_2x2, k <= 768), then one at a time (dsp_dot_1x2, k <= 1536). The
 *   int32 sums are the same numbers rearranged (SMLAD wraps like int32 addition and the true
 *   sum fits), and the output stage rounds exactly like mcu_requantize, so both paths give the
 *   same bytes. When neither operand is contiguous along k, or k > 1536, the portable path
 *   runs.
 */
#include "kernel_common.h"
#if MCU_KERNELS_DSP
#include "kernel_dsp_dot.h"

/* The DSP path works on two views of the product. One operand is streamed: R int8 rows, row r
 * at streamed + r * streamed_stride, contiguous along k. The other is buffered: vectors of length
 * k, vector v starting at buffered + v * vector_stride with elements element_stride apart, taken
 * `vectors` at a time into the extended-operand buffer. Output (r, v) is at out + r * out_r_step
 * + v * out_v_step. For out = a * b either a's rows are streamed against b's columns or b's
 * columns against a's rows; out_r_step and out_v_step put each result in its place. */
typedef struct {
    const int8_t *streamed;
    int32_t streamed_stride, streamed_count, streamed_zp;
    const int8_t *buffered;
    int32_t vector_stride, element_stride, vector_count, buffered_zp;
    int8_t *out;
    int32_t out_r_step, out_v_step;
    int32_t k, multiplier, shift, out_zp;
} matmul_view;

/* One function per block shape (kept apart so that each gets the registers to itself). Each
 * takes the block's vectors, starting at vector v0, already in buffer, and
 * corrections[t] = -streamed_zp * sum of buffered vector t. */

/* What matmul_dsp_4_vectors_k16 needs besides its moving row and output pointers; read from
 * memory once per row where needed. Kept in registers across the products they would not fit
 * (the products take ten) and gcc would spill and reload them once per use instead. */
typedef struct {
    const int32_t *buffer;
    int32_t corrections[4];
    int32_t multiplier, t, addend; /* requantize_fast_s8's output stage */
    int32_t row_stride, out_r_step;
    const int8_t *out_end;
} matmul_k16_rows;

/* matmul_dsp_4_vectors for the common attention head, k = 16 with the four outputs of a
 * streamed row adjacent (out_v_step == 1) and an output stage that takes requantize_fast_s8.
 * With a dot product this short the fixed costs per row weigh as much as the products, so the
 * four groups are written out (no loop, no tail tests) and the output stage is four
 * instructions per output. */
static __attribute__((noinline)) void matmul_dsp_4_vectors_k16(const matmul_k16_rows *rows,
                                                                const int8_t *row, int8_t *out)
{
    do {
        const int32_t *cursor = rows->buffer;
        int32_t acc0 = rows->corrections[0], acc1 = rows->corrections[1];
        int32_t acc2 = rows->corrections[2], acc3 = rows->corrections[3];
        dsp_dot_4x1_group(&cursor, load_u32(row), &acc0, &acc1, &acc2, &acc3);
        dsp_dot_4x1_group(&cursor, load_u32(row + 4), &acc0, &acc1, &acc2, &acc3);
        dsp_dot_4x1_group(&cursor, load_u32(row + 8), &acc0, &acc1, &acc2, &acc3);
        dsp_dot_4x1_group(&cursor, load_u32(row + 12), &acc0, &acc1, &acc2, &acc3);
        const int32_t multiplier = rows->multiplier, t = rows->t, addend = rows->addend;
        store_s8(out + 0, requantize_fast_s8(acc0, multiplier, t, addend));
        store_s8(out + 1, requantize_fast_s8(acc1, multiplier, t, addend));
        store_s8(out + 2, requantize_fast_s8(acc2, multiplier, t, addend));
        store_s8(out + 3, requantize_fast_s8(acc3, multiplier, t, addend));
        row += rows->row_stride;
        out += rows->out_r_step;
    } while (out != rows->out_end);
}

/* matmul_dsp_4_vectors for k >= 4 and an output stage that takes requantize_fast_s8, row loop,
 * products and output stage as one assembly function: gcc keeps the row's fixed work (the four
 * starts, the tail word, the output stage's operands and pointers) in memory and reloads it
 * around the products; here it is a frame on the stack, copied there once per block.
 * Per streamed row: r0-r3 the four sums from corrections[], r4 the row, r5 the buffer, r6 the
 * row's word, r7 and r8 its SXTB16 lanes, r9 and r10 a buffered pair (LDRD), r11 the end of the
 * row's full groups; two groups per pass (entered at the second for an odd count), then the
 * tail word (dsp_dot_tail_word: a load ending at element k - 1, shifted down) and the output
 * stage, SMMLA, ASR, SSAT #8 ASR #1 per output (requantize_fast_s8). */
typedef struct {
    const int8_t *row;      /* +0, stepped by row_stride */
    int32_t row_stride;     /* +4 */
    int8_t *out;            /* +8, stepped by out_r_step */
    int32_t out_r_step;     /* +12 */
    const int8_t *out_end;  /* +16 */
    int32_t out_v_step;     /* +20 */
    const int32_t *buffer;  /* +24 */
    int32_t full_bytes;     /* +28: 4 * (k / 4) */
    int32_t multiplier, t;  /* +32, +36 */
    int32_t addend;         /* +40 */
    int32_t entry;          /* +44: set by the function */
    int32_t corrections[4]; /* +48 */
    int32_t tail_offset;    /* +64: (k % 4) - 4, or 0 for no tail */
    int32_t tail_shift;     /* +68: 8 * (4 - k % 4) */
} matmul_fast_frame;

void mcu_matmul_s8_4_vectors_fast_asm(const matmul_fast_frame *frame);

#define MATMUL_ASM_GROUP_MACS            \
    "sxtb16 r7, r6\n\t"                   \
    "sxtb16 r8, r6, ror #8\n\t"           \
    "ldrd r9, r10, [r5], #8\n\t"          \
    "smlad r0, r8, r10, r0\n\t"           \
    "smlad r0, r7, r9, r0\n\t"            \
    "ldrd r9, r10, [r5], #8\n\t"          \
    "smlad r1, r8, r10, r1\n\t"           \
    "smlad r1, r7, r9, r1\n\t"            \
    "ldrd r9, r10, [r5], #8\n\t"          \
    "smlad r2, r8, r10, r2\n\t"           \
    "smlad r2, r7, r9, r2\n\t"            \
    "ldrd r9, r10, [r5], #8\n\t"          \
    "smlad r3, r8, r10, r3\n\t"           \
    "smlad r3, r7, r9, r3\n\t"

#define MATMUL_ASM_REQUANTIZE(acc)                 \
    "smmla " acc ", " acc ", r9, r11\n\t"           \
    "asr " acc ", " acc ", r10\n\t"                 \
    "ssat " acc ", #8, " acc ", asr #1\n\t"

__asm__(
    ".section .text.mcu_matmul_s8_4_vectors_fast_asm,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global mcu_matmul_s8_4_vectors_fast_asm\n\t"
    ".hidden mcu_matmul_s8_4_vectors_fast_asm\n\t"
    ".type mcu_matmul_s8_4_vectors_fast_asm, %function\n\t"
    ".thumb_func\n"
    "mcu_matmul_s8_4_vectors_fast_asm:\n\t"
    "push {r4-r11, lr}\n\t"
    "sub sp, sp, #76\n\t" /* the 72-byte frame; sp stays 8-byte aligned */
    "ldmia r0!, {r1-r9}\n\t"
    "stmia sp, {r1-r9}\n\t"
    "ldmia r0, {r1-r9}\n\t"
    "add r10, sp, #36\n\t"
    "stmia r10, {r1-r9}\n\t"
    /* An odd number of full groups enters the loop at its second group. */
    "ldr r1, [sp, #28]\n\t"
    "tst r1, #4\n\t"
    "ite eq\n\t"
    "adreq r2, .Lmatmul4_g0\n\t"
    "adrne r2, .Lmatmul4_g1\n\t"
    "orr r2, r2, #1\n\t"
    "str r2, [sp, #44]\n"
    ".Lmatmul4_row:\n\t"
    "ldr r4, [sp, #0]\n\t"
    "ldr r12, [sp, #4]\n\t"
    "add r12, r4, r12\n\t"
    "str r12, [sp, #0]\n\t"
    "ldrd r0, r1, [sp, #48]\n\t"
    "ldrd r2, r3, [sp, #56]\n\t"
    "ldr r5, [sp, #24]\n\t"
    "ldr r11, [sp, #28]\n\t"
    "add r11, r4, r11\n\t"
    "ldr pc, [sp, #44]\n"
    ".Lmatmul4_g0:\n\t"
    "ldr r6, [r4], #4\n\t" MATMUL_ASM_GROUP_MACS
    ".Lmatmul4_g1:\n\t"
    "ldr r6, [r4], #4\n\t" MATMUL_ASM_GROUP_MACS
    "cmp r4, r11\n\t"
    "bne .Lmatmul4_g0\n\t"
    "ldr r12, [sp, #64]\n\t"
    "cmp r12, #0\n\t"
    "beq 1f\n\t"
    "ldr r6, [r4, r12]\n\t"
    "ldr r12, [sp, #68]\n\t"
    "lsr r6, r6, r12\n\t" MATMUL_ASM_GROUP_MACS
    "1:\n\t"
    "ldrd r9, r10, [sp, #32]\n\t"
    "ldr r11, [sp, #40]\n\t"
    MATMUL_ASM_REQUANTIZE("r0")
    MATMUL_ASM_REQUANTIZE("r1")
    MATMUL_ASM_REQUANTIZE("r2")
    MATMUL_ASM_REQUANTIZE("r3")
    "ldr r12, [sp, #8]\n\t"
    "ldr lr, [sp, #20]\n\t"
    "strb r0, [r12]\n\t"
    "strb r1, [r12, lr]\n\t"
    "add r4, r12, lr, lsl #1\n\t"
    "strb r2, [r4]\n\t"
    "strb r3, [r4, lr]\n\t"
    "ldr lr, [sp, #12]\n\t"
    "add r12, r12, lr\n\t"
    "str r12, [sp, #8]\n\t"
    "ldr lr, [sp, #16]\n\t"
    "cmp r12, lr\n\t"
    "bne .Lmatmul4_row\n\t"
    "add sp, sp, #76\n\t"
    "pop {r4-r11, pc}\n\t"
    ".size mcu_matmul_s8_4_vectors_fast_asm, .-mcu_matmul_s8_4_vectors_fast_asm\n\t"
    ".text");

static __attribute__((noinline)) void matmul_dsp_4_vectors(const matmul_view *view,
                                                            const int32_t *buffer,
                                                            const int32_t corrections[4],
                                                            int32_t v0)
{
    const int32_t k = view->k, multiplier = view->multiplier, shift = view->shift;
    const int32_t out_zp = view->out_zp, out_v_step = view->out_v_step;
    const int8_t *row = view->streamed;
    int8_t *out = view->out + v0 * out_v_step;
    if (k == 16 && out_v_step == 1 && requantize_fast_ok(shift, out_zp)) {
        const int32_t t = -2 - shift;
        const matmul_k16_rows rows = {
            .buffer = buffer,
            .corrections = {corrections[0], corrections[1], corrections[2], corrections[3]},
            .multiplier = multiplier, .t = t, .addend = requantize_fast_addend(t, out_zp),
            .row_stride = view->streamed_stride, .out_r_step = view->out_r_step,
            .out_end = out + view->streamed_count * view->out_r_step};
        if (view->streamed_count > 0) matmul_dsp_4_vectors_k16(&rows, row, out);
        return;
    }
    if (k >= 4 && requantize_fast_ok(shift, out_zp) &&
        (view->out_r_step != 0 || view->streamed_count == 1)) {
        if (view->streamed_count <= 0) return;
        const int32_t t = -2 - shift;
        const matmul_fast_frame frame = {
            .row = row, .row_stride = view->streamed_stride, .out = out,
            .out_r_step = view->out_r_step,
            .out_end = out + view->streamed_count * view->out_r_step, .out_v_step = out_v_step,
            .buffer = buffer, .full_bytes = k & ~3, .multiplier = multiplier, .t = t,
            .addend = requantize_fast_addend(t, out_zp),
            .corrections = {corrections[0], corrections[1], corrections[2], corrections[3]},
            .tail_offset = (k & 3) != 0 ? (k & 3) - 4 : 0, .tail_shift = 8 * (4 - (k & 3))};
        mcu_matmul_s8_4_vectors_fast_asm(&frame);
        return;
    }
    const int zp_ok = requantize_zp_ok(out_zp);
    for (int32_t r = 0; r < view->streamed_count; r++) {
        int32_t acc[4] = {corrections[0], corrections[1], corrections[2], corrections[3]};
        dsp_dot_4x1(buffer, row, k, acc);
        requantize_4_s8_dsp(acc[0], acc[1], acc[2], acc[3], multiplier, shift, out_zp, zp_ok,
                            out, out_v_step);
        row += view->streamed_stride;
        out += view->out_r_step;
    }
}

/* Two vectors against two streamed rows at a time; for an odd count the last row goes twice. */
static __attribute__((noinline)) void matmul_dsp_2_vectors(const matmul_view *view,
                                                            const int32_t *buffer,
                                                            const int32_t corrections[2],
                                                            int32_t v0)
{
    const int32_t multiplier = view->multiplier, shift = view->shift, out_zp = view->out_zp;
    int8_t *const out = view->out + v0 * view->out_v_step;
    for (int32_t r = 0; r < view->streamed_count; r += 2) {
        const int32_t r1 = (r + 1 < view->streamed_count) ? r + 1 : r;
        int32_t acc[4] = {corrections[0], corrections[1], corrections[0], corrections[1]};
        dsp_dot_2x2(buffer, view->streamed + r * view->streamed_stride,
                    view->streamed + r1 * view->streamed_stride, view->k, acc);
        int8_t *const out0 = out + r * view->out_r_step, *const out1 = out + r1 * view->out_r_step;
        const int32_t step = view->out_v_step;
        out0[0] = requantize_s8_dsp(acc[0], multiplier, shift, out_zp);
        out0[step] = requantize_s8_dsp(acc[1], multiplier, shift, out_zp);
        out1[0] = requantize_s8_dsp(acc[2], multiplier, shift, out_zp);
        out1[step] = requantize_s8_dsp(acc[3], multiplier, shift, out_zp);
    }
}

/* One vector against two streamed rows at a time. */
static __attribute__((noinline)) void matmul_dsp_1_vector(const matmul_view *view,
                                                           const int32_t *buffer,
                                                           int32_t correction, int32_t v0)
{
    const int32_t multiplier = view->multiplier, shift = view->shift, out_zp = view->out_zp;
    int8_t *const out = view->out + v0 * view->out_v_step;
    for (int32_t r = 0; r < view->streamed_count; r += 2) {
        const int32_t r1 = (r + 1 < view->streamed_count) ? r + 1 : r;
        int32_t acc[2] = {correction, correction};
        dsp_dot_1x2(buffer, view->streamed + r * view->streamed_stride,
                    view->streamed + r1 * view->streamed_stride, view->k, acc);
        out[r * view->out_r_step] =
            requantize_s8_dsp(acc[0], multiplier, shift, out_zp);
        out[r1 * view->out_r_step] =
            requantize_s8_dsp(acc[1], multiplier, shift, out_zp);
    }
}

static void matmul_dsp(const matmul_view *view)
{
    int32_t buffer[DSP_DOT_BUFFER_WORDS];
    int32_t v = 0;
    for (int32_t vectors = 4; vectors >= 1; vectors /= 2) {
        if (!dsp_dot_fits(vectors, view->k)) continue;
        for (; v + vectors <= view->vector_count; v += vectors) {
            int32_t corrections[4];
            dsp_dot_fill(buffer, vectors, view->buffered + v * view->vector_stride,
                         view->vector_stride, view->element_stride, view->k, view->buffered_zp);
            dsp_dot_sums(buffer, vectors, view->k, corrections);
            for (int32_t t = 0; t < vectors; t++) corrections[t] *= -view->streamed_zp;
            if (vectors == 4) {
                matmul_dsp_4_vectors(view, buffer, corrections, v);
            } else if (vectors == 2) {
                matmul_dsp_2_vectors(view, buffer, corrections, v);
            } else {
                matmul_dsp_1_vector(view, buffer, corrections[0], v);
            }
        }
    }
}

#endif /* MCU_KERNELS_DSP */

void mcu_matmul_s8_flat(const int8_t *a, int32_t a_row_stride, int32_t a_col_stride, const int8_t *b,
                   int32_t b_row_stride, int32_t b_col_stride, int8_t *out, int32_t out_row_stride,
                   int32_t m, int32_t k, int32_t n, int32_t a_zp, int32_t b_zp, int32_t multiplier,
                   int32_t shift, int32_t out_zp)
{
#if MCU_KERNELS_DSP
    /* Stream whichever operand is contiguous along k; when both are (Q * K^T), buffer the one
     * with fewer vectors, since each buffered vector is extended once per call. */
    const int stream_a = (a_col_stride == 1) && (b_row_stride != 1 || n <= m);
    if ((stream_a || b_row_stride == 1) && dsp_dot_fits(1, k)) {
        const matmul_view rows_of_a = {
            .streamed = a, .streamed_stride = a_row_stride, .streamed_count = m,
            .streamed_zp = a_zp, .buffered = b, .vector_stride = b_col_stride,
            .element_stride = b_row_stride, .vector_count = n, .buffered_zp = b_zp, .out = out,
            .out_r_step = out_row_stride, .out_v_step = 1, .k = k, .multiplier = multiplier,
            .shift = shift, .out_zp = out_zp};
        const matmul_view columns_of_b = {
            .streamed = b, .streamed_stride = b_col_stride, .streamed_count = n,
            .streamed_zp = b_zp, .buffered = a, .vector_stride = a_row_stride,
            .element_stride = a_col_stride, .vector_count = m, .buffered_zp = a_zp, .out = out,
            .out_r_step = 1, .out_v_step = out_row_stride, .k = k, .multiplier = multiplier,
            .shift = shift, .out_zp = out_zp};
        const matmul_view view = stream_a ? rows_of_a : columns_of_b;
        matmul_dsp(&view);
        return;
    }
#endif
    for (int32_t i = 0; i < m; i++) {
        const int8_t *a_row = a + i * a_row_stride;
        int8_t *out_row = out + i * out_row_stride;

        for (int32_t j = 0; j < n; j++) {
            const int8_t *b_col = b + j * b_col_stride;
            int32_t acc = 0;
            for (int32_t p = 0; p < k; p++) {
                acc += ((int32_t)a_row[p * a_col_stride] - a_zp)
                     * ((int32_t)b_col[p * b_row_stride] - b_zp);
            }
            out_row[j] = requantize_to_s8(acc, multiplier, shift, out_zp);
        }
    }
}
