/*
 * mcu_linear_s8: fully connected layer applied to every token.
 *
 * Shapes and layouts
 *   in       [rows][in_features]          int8, row r starts at in + r * in_row_stride
 *   weights  [out_features][in_features]  int8, in the channel-pair layout of kernels.h
 *            (mcu_linear_weights_pack): channels 2c, 2c + 1 interleaved byte by byte, the even
 *            one stored + 128 as an unsigned byte; an odd last channel is a plain row
 *   bias     [out_features]               int32, or NULL for no bias
 *   out      [rows][out_features]         int8, row r starts at out + r * out_row_stride
 *
 * Quantization
 *   Input: per-tensor asymmetric (in_zp). Weights: per-output-channel symmetric (zero point 0).
 *   Bias is in the accumulator's scale, in_scale * weight_scale[o]. Output: per-tensor
 *   asymmetric (out_zp), reached through a per-channel fixed-point multiplier and shift.
 *
 * Arithmetic and rounding
 *   acc        = bias[o] + sum_k (in[r][k] - in_zp) * w[o][k]              (int32)
 *   out[r][o]  = sat8(out_zp + mcu_requantize(acc, multipliers[o], shifts[o]))
 *   mcu_requantize rounds half up (add half, arithmetic shift right) and saturates to int32.
 *   Each product is at most 255 * 128 in magnitude, so the int32 accumulator cannot overflow
 *   while in_features * 32640 + |bias| < 2^31 (in_features up to about 65000).
 *
 * Paths (kernel_common.h)
 *   Portable: the formula above, one output at a time; the reference.
 *   DSP: the tokens are taken four at a time. Their inputs, minus in_zp, are sign-extended once
 *   into a buffer on the stack, one word [x(2p+1) : x(2p)] per pair of inputs and token. A word
 *   of a channel pair's weights, read as two 16-bit lanes, is 256 * w(2c+1)[k] + w(2c)[k] + 128
 *   for k = 2p, 2p + 1, so per token
 *     SMLAD(word, x)              adds 256 * odd + even + 128 * (x(2p) + x(2p+1))
 *     SMLAD(SXTB16 ROR 8 word, x) adds odd
 *   where even and odd are the two channels' products: with the 128 * sum_k x(k) taken out once
 *   per token, both channels come from one weight load and one extension, and the even one is
 *   pair - 256 * odd, exact modulo 2^32 like every SMLAD sum (the true values fit int32). The
 *   inner loop (linear_words_4_tokens, asm) takes 11 instructions per word and 16 MACs: LDR,
 *   SXTB16, two LDRD, eight SMLAD, four words per pass. The buffer takes 3 KB of stack, or 6 KB
 *   for in_features 385 to 768 (so that four of those tokens fit too) in calls of four rows or
 *   more. When four tokens do not fit (in_features > 768), and for the tokens left over, two
 *   tokens go together (in_features <= 768; linear_words_2_tokens, asm, 7 instructions per word
 *   and 8 MACs), then one, two channel pairs at a time. Four tokens with in_features even, a bias
 *   and the fast output stage for every channel (every real layer) take one hand-written assembly
 *   function for the whole block, MAC loop and output stage (mcu_linear_s8_pairs_4_tokens_fast_asm,
 *   about 77 instructions per channel pair besides the words); two tokens likewise
 *   (mcu_linear_s8_pairs_2_tokens_fast_asm). The output stage is requantize_fast_s8 when every
 *   channel of the call allows it, requantize_s8_dsp otherwise; both round exactly like
 *   mcu_requantize, so the two paths give the same bytes. in_features > 1536 takes the portable path.
 *
 * Aliasing (token overwriting)
 *   out may overlap in when in_features <= MCU_LINEAR_OVERLAP_MAX_IN_FEATURES and the shift
 *   (out - in, in bytes) is <= 0 for out_row_stride < in_row_stride (such as the output
 *   projection reading the query columns of qkv rows), >= 0 for out_row_stride > in_row_stride,
 *   any for equal strides. Tokens run in the order tokens_backward() (kernel_common.h) picks, and each token
 *   is read whole before its output row is written: the DSP path extends a block of tokens into
 *   its stack buffer first; the portable path copies a token whose output row overlaps it into a
 *   stack row first. A block or a token yields the same bytes in either order.
 */
#include <stddef.h>

#include "kernel_common.h"

#if MCU_KERNELS_DSP
#include "kernel_dsp_dot.h"

/* The token buffer holds one word per pair of inputs and token, in DSP_DOT_BUFFER_WORDS (3 KB of
 * stack: four tokens for in_features <= 384, two for <= 768, one for <= 1536) or, for a layer of
 * 385 to 768 inputs (the second linear of a ViT's MLP), DSP_DOT_WIDE_BUFFER_WORDS, so that it too
 * runs four tokens at a time (0.83 rather than 0.97 instructions per MAC for 768 -> 192). */

static inline int32_t linear_pairs(int32_t in_features)
{
    return (in_features + 1) / 2;
}

/* Extends `tokens` tokens (rows in_row_stride apart) minus in_zp into buffer: word p * tokens + t
 * is [in[t][2p + 1] - in_zp : in[t][2p] - in_zp] (0 past in_features), and corrections[t] =
 * -128 * sum_k (in[t][k] - in_zp), which removes the 128 the channel-pair layout adds to the even
 * channel's weights. */
static void linear_fill(int32_t *buffer, int32_t tokens, const int8_t *in, int32_t in_row_stride,
                        int32_t in_features, int32_t in_zp, int32_t corrections[4])
{
    const int32_t minus_zp = lanes_s16(-in_zp);
    for (int32_t t = 0; t < tokens; t++) {
        const int8_t *row = in + t * in_row_stride;
        int32_t *slot = buffer + t;
        int32_t sum = 0;
        int32_t k = 0;
        for (; k + 4 <= in_features; k += 4, slot += 2 * tokens) {
            const uint32_t word = load_u32(row + k);
            const int32_t even = sxtab16_even(minus_zp, word); /* [x2 : x0] */
            const int32_t odd = sxtab16_odd(minus_zp, word);   /* [x3 : x1] */
            slot[0] = pack_low_halves(even, odd);              /* [x1 : x0] */
            slot[tokens] = pack_high_halves(even, odd);        /* [x3 : x2] */
            sum = __smlad(__sadd16(even, odd), lanes_s16(1), sum);
        }
        for (; k < in_features; k += 2, slot += tokens) {
            const int32_t low = row[k] - in_zp;
            const int32_t high = (k + 1 < in_features) ? row[k + 1] - in_zp : 0;
            *slot = pack_low_halves(low, high);
            sum += low + high;
        }
        corrections[t] = (int32_t)((uint32_t)sum * (uint32_t)-128);
    }
}

/* The weights of channel pair (2c, 2c + 1) for two inputs k, k + 1 (one word of the layout)
 * against one token's extended pair x = [x1 : x0]: SMLAD of the word itself adds
 * 256 * (w1 . x) + (w0 . x) + 128 * (x0 + x1) to *pair, SMLAD of its odd bytes adds w1 . x to
 * *odd. The caller starts *pair at bias0 + 256 * bias1 + corrections[t] and *odd at bias1, so that
 * at the end *odd is channel 2c + 1's accumulator and *pair - 256 * *odd channel 2c's, both
 * exact: SMLAD wraps like int32 arithmetic, and the true values fit. */
#define LINEAR_PAIR_MAC(word, odd_bytes, x, pair, odd) \
    do {                                                \
        (pair) = __smlad((int32_t)(word), (x), (pair)); \
        (odd) = __smlad((odd_bytes), (x), (odd));       \
    } while (0)

/* The last word of a channel pair when in_features is odd: inputs in_features - 1 and a 0. */
static inline uint32_t linear_last_word(const int8_t *pair_row, int32_t in_features)
{
    const uint8_t *bytes = (const uint8_t *)pair_row + 2 * (in_features - 1);
    return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8;
}

/* The start of a channel pair's accumulators (see LINEAR_PAIR_MAC). */
static inline int32_t linear_pair_start(const int32_t *bias, int32_t o)
{
    if (bias == NULL) return 0;
    return (int32_t)((uint32_t)bias[o] + ((uint32_t)bias[o + 1] << 8));
}

/* Channel 2c's accumulator from the pair and odd sums. */
static inline int32_t linear_even(int32_t pair, int32_t odd)
{
    return (int32_t)((uint32_t)pair - ((uint32_t)odd << 8));
}

/* One word of a channel pair, read at [at] and stepped past, against four tokens' extended
 * pairs, read at [cursor] and stepped past: eleven instructions, for 16 MACs. */
#define LINEAR_WORD_4_TOKENS                              \
    "ldr %[word], [%[at]], #4\n\t"                         \
    "sxtb16 %[odd_bytes], %[word], ror #8\n\t"             \
    "ldrd %[x0], %[x1], [%[cursor]], #8\n\t"               \
    "smlad %[pair0], %[word], %[x0], %[pair0]\n\t"         \
    "smlad %[odd0], %[odd_bytes], %[x0], %[odd0]\n\t"      \
    "smlad %[pair1], %[word], %[x1], %[pair1]\n\t"         \
    "smlad %[odd1], %[odd_bytes], %[x1], %[odd1]\n\t"      \
    "ldrd %[x0], %[x1], [%[cursor]], #8\n\t"               \
    "smlad %[pair2], %[word], %[x0], %[pair2]\n\t"         \
    "smlad %[odd2], %[odd_bytes], %[x0], %[odd2]\n\t"      \
    "smlad %[pair3], %[word], %[x1], %[pair3]\n\t"         \
    "smlad %[odd3], %[odd_bytes], %[x1], %[odd3]\n\t"

/* The `words` (>= 1) words of a channel pair from at on against four tokens (linear_pairs_4_tokens),
 * written as one asm statement: the eight accumulators, the two pointers and four temporaries
 * take all fourteen registers, which gcc, left to schedule the loop itself, does not manage
 * without spilling accumulators. The loop takes four words per pass and reloads its end pointer
 * from the stack once per pass (44 + 3 instructions per 64 MACs); for a count that is not a
 * multiple of four it is entered at its second, third or fourth word (words % 4 = 3, 2, 1), so
 * that one statement covers every count and the accumulators stay in the same registers from
 * the start of the channel pair to its output stage. */
static inline void linear_words_4_tokens(const int8_t *at, int32_t words, const int32_t *cursor,
                                         int32_t *pair0, int32_t *pair1, int32_t *pair2,
                                         int32_t *pair3, int32_t *odd0, int32_t *odd1,
                                         int32_t *odd2, int32_t *odd3)
{
    const int8_t *const end = at + 4 * words;
    uint32_t word;
    int32_t odd_bytes, x0, x1;
    __asm__("ldr %[x0], %[end]\n\t"
            "sub %[x0], %[x0], %[at]\n\t"
            "ands %[x0], %[x0], #12\n\t" /* 4 * (words % 4) */
            "beq 1f\n\t"
            "cmp %[x0], #8\n\t"
            "bhi 2f\n\t"
            "beq 3f\n\t"
            "b 4f\n"
            "1:\n\t" LINEAR_WORD_4_TOKENS
            "2:\n\t" LINEAR_WORD_4_TOKENS
            "3:\n\t" LINEAR_WORD_4_TOKENS
            "4:\n\t" LINEAR_WORD_4_TOKENS
            "ldr %[x0], %[end]\n\t"
            "cmp %[at], %[x0]\n\t"
            "bne 1b"
            : [word] "=&r"(word), [odd_bytes] "=&r"(odd_bytes), [x0] "=&r"(x0), [x1] "=&r"(x1),
              [at] "+r"(at), [cursor] "+r"(cursor), [pair0] "+r"(*pair0), [pair1] "+r"(*pair1),
              [pair2] "+r"(*pair2), [pair3] "+r"(*pair3), [odd0] "+r"(*odd0), [odd1] "+r"(*odd1),
              [odd2] "+r"(*odd2), [odd3] "+r"(*odd3)
            : [end] "m"(end)
            : "cc", "memory");
}

/* The output stage of one channel, out = sat8(out_zp + requantize(acc, multiplier, shift)):
 * requantize_fast_s8 when the call's every shift and out_zp allow it (`fast`, decided once per
 * call; zp_term = 1 + 2 * out_zp), the general requantize_s8_dsp otherwise. */
static inline void linear_store(int8_t *out, int32_t acc, int32_t multiplier, int32_t shift,
                                int fast, int32_t zp_term, int32_t out_zp)
{
    if (fast) {
        const int32_t t = -2 - shift;
        store_s8(out, requantize_fast_s8(acc, multiplier, t, (int32_t)((uint32_t)zp_term << t)));
    } else {
        *out = requantize_s8_dsp(acc, multiplier, shift, out_zp);
    }
}

/* Whether every channel's output stage can take requantize_fast_s8 (requantize_fast_ok). */
static int linear_fast_outputs(const int32_t *shifts, int32_t out_features, int32_t out_zp)
{
    if (!requantize_zp_ok(out_zp)) return 0;
    for (int32_t o = 0; o < out_features; o++) {
        if (!requantize_fast_ok(shifts[o], out_zp)) return 0;
    }
    return 1;
}

/* What a block of tokens needs besides its buffer: the layer and where the block's outputs go. */
typedef struct {
    const int32_t *buffer;
    int32_t corrections[4];
    int8_t *out_block;
    int32_t out_row_stride, in_features, channels; /* channels: the paired ones, even */
    const int8_t *weights;
    const int32_t *bias, *multipliers, *shifts;
    int32_t out_zp, zp_term, fast;
} linear_block;

/* One function per block of tokens (kept apart, not inlined, so that each gets the registers to
 * itself). Each writes the block's rows of the paired channels. */

/* One channel's accumulators for the four tokens of a block through the output stage, to out,
 * out + stride, out + 2 * stride and out + 3 * stride: requantize_fast_s8, with its operands
 * derived from the shift once for the four, when the call allows it (`fast`), requantize_s8_dsp
 * otherwise, kept out of line. */
static __attribute__((noinline)) void linear_store_4_general(int8_t *out, int32_t stride,
                                                             int32_t acc0, int32_t acc1,
                                                             int32_t acc2, int32_t acc3,
                                                             int32_t multiplier, int32_t shift,
                                                             int32_t out_zp)
{
    out[0] = requantize_s8_dsp(acc0, multiplier, shift, out_zp);
    out[stride] = requantize_s8_dsp(acc1, multiplier, shift, out_zp);
    out[2 * stride] = requantize_s8_dsp(acc2, multiplier, shift, out_zp);
    out[3 * stride] = requantize_s8_dsp(acc3, multiplier, shift, out_zp);
}

static inline void linear_store_4(int8_t *out, int32_t stride, int32_t acc0, int32_t acc1,
                                  int32_t acc2, int32_t acc3, int32_t multiplier, int32_t shift,
                                  int fast, int32_t zp_term, int32_t out_zp)
{
    if (fast) {
        const int32_t t = -2 - shift, addend = (int32_t)((uint32_t)zp_term << t);
        /* One pointer stepped along, rather than four addresses kept live. */
        store_s8(out, requantize_fast_s8(acc0, multiplier, t, addend));
        out += stride;
        store_s8(out, requantize_fast_s8(acc1, multiplier, t, addend));
        out += stride;
        store_s8(out, requantize_fast_s8(acc2, multiplier, t, addend));
        out += stride;
        store_s8(out, requantize_fast_s8(acc3, multiplier, t, addend));
    } else {
        linear_store_4_general(out, stride, acc0, acc1, acc2, acc3, multiplier, shift, out_zp);
    }
}

/* Four tokens: per word of weights one LDR, one SXTB16, two LDRD and eight SMLADs (16 MACs).
 * pair<t> and odd<t> are token t's sums (LINEAR_PAIR_MAC), then pair<t> becomes the even
 * channel's. Inlined into one function per kind of output stage (`fast` a constant), so that
 * neither carries the other's registers and branches. */
static inline __attribute__((always_inline)) void linear_pairs_4_tokens(const linear_block *block,
                                                                       int fast)
{
    const int32_t in_features = block->in_features, words = in_features / 2;
    const int32_t stride = block->out_row_stride;
    const int8_t *pair_row = block->weights;
    /* Pointers stepped from pair to pair rather than indices: fewer live values. */
    const int32_t *bias = block->bias, *multiplier = block->multipliers, *shift = block->shifts;
    int8_t *out = block->out_block;
    for (int8_t *const end = out + block->channels; out != end; out += 2) {
        int32_t start = 0, odd_start = 0;
        if (bias != NULL) {
            odd_start = bias[1];
            start = linear_pair_start(bias, 0);
            bias += 2;
        }
        int32_t pair0 = start + block->corrections[0], pair1 = start + block->corrections[1];
        int32_t pair2 = start + block->corrections[2], pair3 = start + block->corrections[3];
        int32_t odd0 = odd_start, odd1 = odd_start, odd2 = odd_start, odd3 = odd_start;
        if (words > 0) {
            linear_words_4_tokens(pair_row, words, block->buffer, &pair0, &pair1, &pair2, &pair3,
                                  &odd0, &odd1, &odd2, &odd3);
        }
        if ((in_features & 1) != 0) {
            const uint32_t word = linear_last_word(pair_row, in_features);
            const int32_t odd_bytes = sxtb16_odd(word);
            const int32_t *const last = block->buffer + 4 * words;
            LINEAR_PAIR_MAC(word, odd_bytes, last[0], pair0, odd0);
            LINEAR_PAIR_MAC(word, odd_bytes, last[1], pair1, odd1);
            LINEAR_PAIR_MAC(word, odd_bytes, last[2], pair2, odd2);
            LINEAR_PAIR_MAC(word, odd_bytes, last[3], pair3, odd3);
        }
        pair_row += 2 * in_features;
        const int32_t zp_term = block->zp_term, zp = block->out_zp;
        linear_store_4(out, stride, linear_even(pair0, odd0), linear_even(pair1, odd1),
                       linear_even(pair2, odd2), linear_even(pair3, odd3), multiplier[0], shift[0],
                       fast, zp_term, zp);
        linear_store_4(out + 1, stride, odd0, odd1, odd2, odd3, multiplier[1], shift[1], fast,
                       zp_term, zp);
        multiplier += 2;
        shift += 2;
    }
}

static __attribute__((noinline)) void linear_pairs_4_tokens_fast(const linear_block *block)
{
    linear_pairs_4_tokens(block, 1);
}

static __attribute__((noinline)) void linear_pairs_4_tokens_general(const linear_block *block)
{
    linear_pairs_4_tokens(block, 0);
}

/* The whole of linear_pairs_4_tokens_fast, MAC loop and output stage, as one assembly function,
 * for the common case: in_features even, a bias, and requantize_fast_s8 for every channel. Written
 * by hand because gcc, with the eight accumulators and the block's fields competing for fourteen
 * registers, spills and reloads around the output stage (about 130 instructions per channel pair
 * outside the MAC loop); here the fields live in a frame on the stack, copied there once per call,
 * and each channel pair takes about 77 instructions besides its words.
 * Per channel pair:
 *   r0-r3  pair<t> = bias0 + 256 * bias1 + corrections[t], r4-r7 odd<t> = bias1
 *   MAC loop: linear_words_4_tokens's, four words per pass, entered at the word words % 4 calls
 *          for (the entry is worked out once per call); r8 the weights, r9 the token buffer,
 *          r10, r11 token pairs, r12 the weight word, lr its odd bytes
 *   output: pair<t> -= odd<t> << 8 (the even channel), then per channel t = -2 - shift,
 *          addend = zp_term << t and per token SMMLA, ASR, SSAT #8 ASR #1 (requantize_fast_s8),
 *          the two channels' bytes stored side by side, token by token. */
typedef struct {
    const int32_t *bias;        /* +0, stepped by two channels */
    const int32_t *multipliers; /* +4, stepped */
    const int32_t *shifts;      /* +8, stepped */
    int8_t *out;                /* +12, stepped: the block's first row, at the channel pair */
    const int8_t *out_end;      /* +16: out + channels */
    const int8_t *weights;      /* +20, stepped: the channel pair's words */
    const int32_t *buffer;      /* +24 */
    const int32_t *buffer_end;  /* +28: buffer + 4 * words */
    int32_t words;              /* +32 (>= 1); the asm keeps its entry address there */
    int32_t zp_term;            /* +36: 1 + 2 * out_zp */
    int32_t stride;             /* +40: out_row_stride */
    int32_t unused;             /* +44 */
    int32_t corrections[4];     /* +48 */
} linear_fast_frame;

void mcu_linear_s8_pairs_4_tokens_fast_asm(const linear_fast_frame *frame);

#define LINEAR_ASM_WORD_4_TOKENS                 \
    "ldr r12, [r8], #4\n\t"                       \
    "sxtb16 lr, r12, ror #8\n\t"                  \
    "ldrd r10, r11, [r9], #8\n\t"                 \
    "smlad r0, r12, r10, r0\n\t"                  \
    "smlad r4, lr, r10, r4\n\t"                   \
    "smlad r1, r12, r11, r1\n\t"                  \
    "smlad r5, lr, r11, r5\n\t"                   \
    "ldrd r10, r11, [r9], #8\n\t"                 \
    "smlad r2, r12, r10, r2\n\t"                  \
    "smlad r6, lr, r10, r6\n\t"                   \
    "smlad r3, r12, r11, r3\n\t"                  \
    "smlad r7, lr, r11, r7\n\t"

/* Requantizes accumulator `acc` in place: multiplier m, t and addend as above. */
#define LINEAR_ASM_REQUANTIZE(acc, m, t, addend)          \
    "smmla " acc ", " acc ", " m ", " addend "\n\t"        \
    "asr " acc ", " acc ", " t "\n\t"                      \
    "ssat " acc ", #8, " acc ", asr #1\n\t"

__asm__(
    ".section .text.mcu_linear_s8_pairs_4_tokens_fast_asm,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global mcu_linear_s8_pairs_4_tokens_fast_asm\n\t"
    ".hidden mcu_linear_s8_pairs_4_tokens_fast_asm\n\t"
    ".type mcu_linear_s8_pairs_4_tokens_fast_asm, %function\n\t"
    ".thumb_func\n"
    "mcu_linear_s8_pairs_4_tokens_fast_asm:\n\t"
    "push {r4-r11, lr}\n\t"
    "sub sp, sp, #68\n\t" /* the 64-byte frame; sp stays 8-byte aligned */
    "ldmia r0!, {r1-r8}\n\t"
    "stmia sp, {r1-r8}\n\t"
    "ldmia r0, {r1-r8}\n\t"
    "add r9, sp, #32\n\t"
    "stmia r9, {r1-r8}\n\t"
    /* The entry of the MAC loop for words % 4 = 0, 3, 2, 1: its first, second, third, fourth
     * word, with the Thumb bit set for LDR PC. */
    "ands r1, r1, #3\n\t"
    "bne 1f\n\t"
    "adr r2, .Llinear4_w0\n\t"
    "b 3f\n"
    "1:\n\t"
    "cmp r1, #2\n\t"
    "bhi 2f\n\t"
    "adr r2, .Llinear4_w2\n\t"
    "beq 3f\n\t"
    "adr r2, .Llinear4_w3\n\t"
    "b 3f\n"
    "2:\n\t"
    "adr r2, .Llinear4_w1\n"
    "3:\n\t"
    "orr r2, r2, #1\n\t"
    "str r2, [sp, #32]\n"
    ".Llinear4_pair:\n\t"
    "ldr r12, [sp, #0]\n\t"
    "ldrd lr, r4, [r12], #8\n\t" /* bias0, bias1 */
    "str r12, [sp, #0]\n\t"
    "add lr, lr, r4, lsl #8\n\t"
    "ldrd r10, r11, [sp, #48]\n\t"
    "add r0, lr, r10\n\t"
    "add r1, lr, r11\n\t"
    "ldrd r10, r11, [sp, #56]\n\t"
    "add r2, lr, r10\n\t"
    "add r3, lr, r11\n\t"
    "mov r5, r4\n\t"
    "mov r6, r4\n\t"
    "mov r7, r4\n\t"
    "ldr r8, [sp, #20]\n\t"
    "ldr r9, [sp, #24]\n\t"
    "ldr pc, [sp, #32]\n"
    ".Llinear4_w0:\n\t" LINEAR_ASM_WORD_4_TOKENS
    ".Llinear4_w1:\n\t" LINEAR_ASM_WORD_4_TOKENS
    ".Llinear4_w2:\n\t" LINEAR_ASM_WORD_4_TOKENS
    ".Llinear4_w3:\n\t" LINEAR_ASM_WORD_4_TOKENS
    "ldr r10, [sp, #28]\n\t"
    "cmp r9, r10\n\t"
    "bne .Llinear4_w0\n\t"
    "str r8, [sp, #20]\n\t"
    "sub r0, r0, r4, lsl #8\n\t"
    "sub r1, r1, r5, lsl #8\n\t"
    "sub r2, r2, r6, lsl #8\n\t"
    "sub r3, r3, r7, lsl #8\n\t"
    "ldr r8, [sp, #4]\n\t"
    "ldrd r9, r10, [r8], #8\n\t" /* multipliers */
    "str r8, [sp, #4]\n\t"
    "ldr r8, [sp, #8]\n\t"
    "ldrd r11, r12, [r8], #8\n\t" /* shifts */
    "str r8, [sp, #8]\n\t"
    "ldr lr, [sp, #36]\n\t"
    "mvn r11, r11\n\t" /* t = -2 - shift = ~shift - 1 */
    "sub r11, r11, #1\n\t"
    "mvn r12, r12\n\t"
    "sub r12, r12, #1\n\t"
    "lsl r8, lr, r11\n\t"
    "lsl lr, lr, r12\n\t"
    LINEAR_ASM_REQUANTIZE("r0", "r9", "r11", "r8")
    LINEAR_ASM_REQUANTIZE("r1", "r9", "r11", "r8")
    LINEAR_ASM_REQUANTIZE("r2", "r9", "r11", "r8")
    LINEAR_ASM_REQUANTIZE("r3", "r9", "r11", "r8")
    LINEAR_ASM_REQUANTIZE("r4", "r10", "r12", "lr")
    LINEAR_ASM_REQUANTIZE("r5", "r10", "r12", "lr")
    LINEAR_ASM_REQUANTIZE("r6", "r10", "r12", "lr")
    LINEAR_ASM_REQUANTIZE("r7", "r10", "r12", "lr")
    "ldr r8, [sp, #12]\n\t"
    "ldr r9, [sp, #40]\n\t"
    "add r10, r8, #2\n\t"
    "str r10, [sp, #12]\n\t"
    "strb r0, [r8]\n\t"
    "strb r4, [r8, #1]\n\t"
    "add r8, r8, r9\n\t"
    "strb r1, [r8]\n\t"
    "strb r5, [r8, #1]\n\t"
    "add r8, r8, r9\n\t"
    "strb r2, [r8]\n\t"
    "strb r6, [r8, #1]\n\t"
    "add r8, r8, r9\n\t"
    "strb r3, [r8]\n\t"
    "strb r7, [r8, #1]\n\t"
    "ldr r11, [sp, #16]\n\t"
    "cmp r10, r11\n\t"
    "bne .Llinear4_pair\n\t"
    "add sp, sp, #68\n\t"
    "pop {r4-r11, pc}\n\t"
    ".size mcu_linear_s8_pairs_4_tokens_fast_asm, .-mcu_linear_s8_pairs_4_tokens_fast_asm\n\t"
    ".text");

/* The same for two tokens (linear_pairs_2_tokens: in_features 386..768, and tokens left over),
 * with the frame above (corrections[2] and [3] unused, buffer_end = buffer + 2 * words): r0, r1
 * pair<t>, r4, r5 odd<t>, r2 the buffer's end; the rest as in the 4-token function. */
void mcu_linear_s8_pairs_2_tokens_fast_asm(const linear_fast_frame *frame);

#define LINEAR_ASM_WORD_2_TOKENS                 \
    "ldr r12, [r8], #4\n\t"                       \
    "sxtb16 lr, r12, ror #8\n\t"                  \
    "ldrd r10, r11, [r9], #8\n\t"                 \
    "smlad r0, r12, r10, r0\n\t"                  \
    "smlad r4, lr, r10, r4\n\t"                   \
    "smlad r1, r12, r11, r1\n\t"                  \
    "smlad r5, lr, r11, r5\n\t"

__asm__(
    ".section .text.mcu_linear_s8_pairs_2_tokens_fast_asm,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global mcu_linear_s8_pairs_2_tokens_fast_asm\n\t"
    ".hidden mcu_linear_s8_pairs_2_tokens_fast_asm\n\t"
    ".type mcu_linear_s8_pairs_2_tokens_fast_asm, %function\n\t"
    ".thumb_func\n"
    "mcu_linear_s8_pairs_2_tokens_fast_asm:\n\t"
    "push {r4-r11, lr}\n\t"
    "sub sp, sp, #68\n\t"
    "ldmia r0!, {r1-r8}\n\t"
    "stmia sp, {r1-r8}\n\t"
    "ldmia r0, {r1-r8}\n\t"
    "add r9, sp, #32\n\t"
    "stmia r9, {r1-r8}\n\t"
    "ands r1, r1, #3\n\t"
    "bne 1f\n\t"
    "adr r2, .Llinear2_w0\n\t"
    "b 3f\n"
    "1:\n\t"
    "cmp r1, #2\n\t"
    "bhi 2f\n\t"
    "adr r2, .Llinear2_w2\n\t"
    "beq 3f\n\t"
    "adr r2, .Llinear2_w3\n\t"
    "b 3f\n"
    "2:\n\t"
    "adr r2, .Llinear2_w1\n"
    "3:\n\t"
    "orr r2, r2, #1\n\t"
    "str r2, [sp, #32]\n"
    ".Llinear2_pair:\n\t"
    "ldr r12, [sp, #0]\n\t"
    "ldrd lr, r4, [r12], #8\n\t" /* bias0, bias1 */
    "str r12, [sp, #0]\n\t"
    "add lr, lr, r4, lsl #8\n\t"
    "ldrd r10, r11, [sp, #48]\n\t"
    "add r0, lr, r10\n\t"
    "add r1, lr, r11\n\t"
    "mov r5, r4\n\t"
    "ldr r8, [sp, #20]\n\t"
    "ldr r9, [sp, #24]\n\t"
    "ldr r2, [sp, #28]\n\t"
    "ldr pc, [sp, #32]\n"
    ".Llinear2_w0:\n\t" LINEAR_ASM_WORD_2_TOKENS
    ".Llinear2_w1:\n\t" LINEAR_ASM_WORD_2_TOKENS
    ".Llinear2_w2:\n\t" LINEAR_ASM_WORD_2_TOKENS
    ".Llinear2_w3:\n\t" LINEAR_ASM_WORD_2_TOKENS
    "cmp r9, r2\n\t"
    "bne .Llinear2_w0\n\t"
    "str r8, [sp, #20]\n\t"
    "sub r0, r0, r4, lsl #8\n\t"
    "sub r1, r1, r5, lsl #8\n\t"
    "ldr r8, [sp, #4]\n\t"
    "ldrd r9, r10, [r8], #8\n\t" /* multipliers */
    "str r8, [sp, #4]\n\t"
    "ldr r8, [sp, #8]\n\t"
    "ldrd r11, r12, [r8], #8\n\t" /* shifts */
    "str r8, [sp, #8]\n\t"
    "ldr lr, [sp, #36]\n\t"
    "mvn r11, r11\n\t"
    "sub r11, r11, #1\n\t"
    "mvn r12, r12\n\t"
    "sub r12, r12, #1\n\t"
    "lsl r8, lr, r11\n\t"
    "lsl lr, lr, r12\n\t"
    LINEAR_ASM_REQUANTIZE("r0", "r9", "r11", "r8")
    LINEAR_ASM_REQUANTIZE("r1", "r9", "r11", "r8")
    LINEAR_ASM_REQUANTIZE("r4", "r10", "r12", "lr")
    LINEAR_ASM_REQUANTIZE("r5", "r10", "r12", "lr")
    "ldr r8, [sp, #12]\n\t"
    "ldr r9, [sp, #40]\n\t"
    "add r10, r8, #2\n\t"
    "str r10, [sp, #12]\n\t"
    "strb r0, [r8]\n\t"
    "strb r4, [r8, #1]\n\t"
    "add r8, r8, r9\n\t"
    "strb r1, [r8]\n\t"
    "strb r5, [r8, #1]\n\t"
    "ldr r11, [sp, #16]\n\t"
    "cmp r10, r11\n\t"
    "bne .Llinear2_pair\n\t"
    "add sp, sp, #68\n\t"
    "pop {r4-r11, pc}\n\t"
    ".size mcu_linear_s8_pairs_2_tokens_fast_asm, .-mcu_linear_s8_pairs_2_tokens_fast_asm\n\t"
    ".text");

/* One word of a channel pair, read at [at] and stepped past, against two tokens' extended pairs,
 * read at [cursor] and stepped past: seven instructions, for 8 MACs. */
#define LINEAR_WORD_2_TOKENS                              \
    "ldr %[word], [%[at]], #4\n\t"                         \
    "sxtb16 %[odd_bytes], %[word], ror #8\n\t"             \
    "ldrd %[x0], %[x1], [%[cursor]], #8\n\t"               \
    "smlad %[pair0], %[word], %[x0], %[pair0]\n\t"         \
    "smlad %[odd0], %[odd_bytes], %[x0], %[odd0]\n\t"      \
    "smlad %[pair1], %[word], %[x1], %[pair1]\n\t"         \
    "smlad %[odd1], %[odd_bytes], %[x1], %[odd1]\n\t"

/* The `words` (>= 1) words of a channel pair from at on against two tokens
 * (linear_pairs_2_tokens): like linear_words_4_tokens, four words per pass (28 + 2 instructions
 * per 32 MACs), entered at the word that words % 4 calls for; with half the accumulators the end
 * pointer stays in a register. */
static inline void linear_words_2_tokens(const int8_t *at, int32_t words, const int32_t *cursor,
                                         int32_t *pair0, int32_t *pair1, int32_t *odd0,
                                         int32_t *odd1)
{
    const int8_t *const end = at + 4 * words;
    uint32_t word;
    int32_t odd_bytes, x0, x1;
    __asm__("sub %[x0], %[end], %[at]\n\t"
            "ands %[x0], %[x0], #12\n\t" /* 4 * (words % 4) */
            "beq 1f\n\t"
            "cmp %[x0], #8\n\t"
            "bhi 2f\n\t"
            "beq 3f\n\t"
            "b 4f\n"
            "1:\n\t" LINEAR_WORD_2_TOKENS
            "2:\n\t" LINEAR_WORD_2_TOKENS
            "3:\n\t" LINEAR_WORD_2_TOKENS
            "4:\n\t" LINEAR_WORD_2_TOKENS
            "cmp %[at], %[end]\n\t"
            "bne 1b"
            : [word] "=&r"(word), [odd_bytes] "=&r"(odd_bytes), [x0] "=&r"(x0), [x1] "=&r"(x1),
              [at] "+r"(at), [cursor] "+r"(cursor), [pair0] "+r"(*pair0), [pair1] "+r"(*pair1),
              [odd0] "+r"(*odd0), [odd1] "+r"(*odd1)
            : [end] "r"(end)
            : "cc", "memory");
}

/* Two tokens: per word of weights one LDR, one SXTB16, one LDRD and four SMLADs (8 MACs). */
static __attribute__((noinline)) void linear_pairs_2_tokens(const linear_block *block)
{
    const int32_t in_features = block->in_features, words = in_features / 2;
    const int32_t stride = block->out_row_stride;
    const int8_t *pair_row = block->weights;
    for (int32_t o = 0; o < block->channels; o += 2, pair_row += 2 * in_features) {
        const int32_t *bias = block->bias;
        const int32_t start = linear_pair_start(bias, o), odd_start = bias ? bias[o + 1] : 0;
        int32_t pair0 = start + block->corrections[0], pair1 = start + block->corrections[1];
        int32_t odd0 = odd_start, odd1 = odd_start;
        if (words > 0) {
            linear_words_2_tokens(pair_row, words, block->buffer, &pair0, &pair1, &odd0, &odd1);
        }
        if ((in_features & 1) != 0) {
            const uint32_t word = linear_last_word(pair_row, in_features);
            const int32_t odd_bytes = sxtb16_odd(word);
            const int32_t *const last = block->buffer + 2 * words;
            LINEAR_PAIR_MAC(word, odd_bytes, last[0], pair0, odd0);
            LINEAR_PAIR_MAC(word, odd_bytes, last[1], pair1, odd1);
        }
        const int32_t m0 = block->multipliers[o], m1 = block->multipliers[o + 1];
        const int32_t s0 = block->shifts[o], s1 = block->shifts[o + 1];
        const int32_t fast = block->fast, zp_term = block->zp_term, zp = block->out_zp;
        int8_t *out = block->out_block + o;
        linear_store(out, linear_even(pair0, odd0), m0, s0, fast, zp_term, zp);
        linear_store(out + 1, odd0, m1, s1, fast, zp_term, zp);
        out += stride;
        linear_store(out, linear_even(pair1, odd1), m0, s0, fast, zp_term, zp);
        linear_store(out + 1, odd1, m1, s1, fast, zp_term, zp);
    }
}

/* One token, two channel pairs at a time (a last pair alone): per word index one LDR of the
 * token, and per pair one LDR, one SXTB16 and two SMLADs (4 MACs). */
static __attribute__((noinline)) void linear_pairs_1_token(const linear_block *block)
{
    const int32_t in_features = block->in_features, words = in_features / 2;
    const int32_t *const buffer = block->buffer;
    for (int32_t o = 0; o < block->channels; o += 4) {
        /* A last lone pair goes twice, as both pairs. */
        const int32_t o1 = (o + 2 < block->channels) ? o + 2 : o;
        const int8_t *row_a = block->weights + o * in_features;
        const int8_t *row_b = block->weights + o1 * in_features;
        const int32_t *bias = block->bias;
        int32_t pair_a = linear_pair_start(bias, o) + block->corrections[0];
        int32_t pair_b = linear_pair_start(bias, o1) + block->corrections[0];
        int32_t odd_a = bias ? bias[o + 1] : 0, odd_b = bias ? bias[o1 + 1] : 0;
        for (int32_t p = 0; p < words; p++) {
            const uint32_t word_a = load_u32(row_a + 4 * p), word_b = load_u32(row_b + 4 * p);
            LINEAR_PAIR_MAC(word_a, sxtb16_odd(word_a), buffer[p], pair_a, odd_a);
            LINEAR_PAIR_MAC(word_b, sxtb16_odd(word_b), buffer[p], pair_b, odd_b);
        }
        if ((in_features & 1) != 0) {
            const uint32_t word_a = linear_last_word(row_a, in_features);
            const uint32_t word_b = linear_last_word(row_b, in_features);
            LINEAR_PAIR_MAC(word_a, sxtb16_odd(word_a), buffer[words], pair_a, odd_a);
            LINEAR_PAIR_MAC(word_b, sxtb16_odd(word_b), buffer[words], pair_b, odd_b);
        }
        const int32_t fast = block->fast, zp_term = block->zp_term, zp = block->out_zp;
        const int32_t *m = block->multipliers, *s = block->shifts;
        int8_t *out = block->out_block;
        linear_store(out + o, linear_even(pair_a, odd_a), m[o], s[o], fast, zp_term, zp);
        linear_store(out + o + 1, odd_a, m[o + 1], s[o + 1], fast, zp_term, zp);
        linear_store(out + o1, linear_even(pair_b, odd_b), m[o1], s[o1], fast, zp_term, zp);
        linear_store(out + o1 + 1, odd_b, m[o1 + 1], s[o1 + 1], fast, zp_term, zp);
    }
}

/* The last output channel when out_features is odd: a plain weight row against each token. */
static void linear_last_channel(const int32_t *buffer, int32_t tokens, int8_t *out_block,
                                int32_t out_row_stride, int32_t in_features, int32_t o,
                                const int8_t *weights, const int32_t *bias,
                                const int32_t *multipliers, const int32_t *shifts, int32_t out_zp)
{
    const int8_t *row = weights + o * in_features;
    for (int32_t t = 0; t < tokens; t++) {
        int32_t acc = bias ? bias[o] : 0;
        for (int32_t p = 0; p < linear_pairs(in_features); p++) {
            const int32_t high = (2 * p + 1 < in_features) ? row[2 * p + 1] : 0;
            acc = __smlad(buffer[p * tokens + t], pack_low_halves(row[2 * p], high), acc);
        }
        out_block[t * out_row_stride + o] =
            requantize_s8_dsp(acc, multipliers[o], shifts[o], out_zp);
    }
}

static inline void linear_dsp(int32_t *buffer, int32_t buffer_words, const int8_t *in,
                              int32_t in_row_stride, int8_t *out, int32_t out_row_stride,
                              int32_t rows, int32_t in_features, int32_t out_features,
                              const int8_t *weights, const int32_t *bias,
                              const int32_t *multipliers, const int32_t *shifts, int32_t in_zp,
                              int32_t out_zp)
{
    int32_t largest = 4;
    while (largest * linear_pairs(in_features) > buffer_words) largest /= 2;
    const int32_t channels = out_features & ~1;
    const int fast = linear_fast_outputs(shifts, out_features, out_zp);
    const int backward = tokens_backward(in, in_row_stride, out, out_row_stride, rows);
    /* Blocks of the largest size that fits, then smaller ones for the tokens left over, taken
     * from the first token on, or from the last one back. */
    for (int32_t done = 0; done < rows;) {
        int32_t tokens = largest;
        while (tokens > rows - done) tokens /= 2;
        const int32_t r = backward ? rows - done - tokens : done;
        int8_t *const out_block = out + r * out_row_stride;
        linear_block block = {
            .buffer = buffer, .out_block = out_block, .out_row_stride = out_row_stride,
            .in_features = in_features, .channels = channels, .weights = weights, .bias = bias,
            .multipliers = multipliers, .shifts = shifts, .out_zp = out_zp,
            .zp_term = 1 + 2 * out_zp, .fast = fast};
        linear_fill(buffer, tokens, in + r * in_row_stride, in_row_stride, in_features, in_zp,
                    block.corrections);
        if (tokens >= 2 && fast && bias != NULL && (in_features & 1) == 0 && channels > 0) {
            const int32_t words = in_features / 2;
            const linear_fast_frame frame = {
                .bias = bias, .multipliers = multipliers, .shifts = shifts, .out = out_block,
                .out_end = out_block + channels, .weights = weights, .buffer = buffer,
                .buffer_end = buffer + tokens * words, .words = words, .zp_term = 1 + 2 * out_zp,
                .stride = out_row_stride, .corrections = {block.corrections[0],
                block.corrections[1], block.corrections[2], block.corrections[3]}};
            if (tokens == 4) {
                mcu_linear_s8_pairs_4_tokens_fast_asm(&frame);
            } else {
                mcu_linear_s8_pairs_2_tokens_fast_asm(&frame);
            }
        } else if (tokens == 4) {
            (fast ? linear_pairs_4_tokens_fast : linear_pairs_4_tokens_general)(&block);
        } else if (tokens == 2) {
            linear_pairs_2_tokens(&block);
        } else {
            linear_pairs_1_token(&block);
        }
        if (channels != out_features) {
            linear_last_channel(buffer, tokens, out_block, out_row_stride, in_features, channels,
                                weights, bias, multipliers, shifts, out_zp);
        }
        done += tokens;
    }
}

/* linear_dsp with a buffer of each capacity, each in its own frame, so that a call reserves
 * only the stack its layer needs. */
static MCU_NOINLINE void linear_dsp_buffered(const int8_t *in, int32_t in_row_stride, int8_t *out,
                                             int32_t out_row_stride, int32_t rows,
                                             int32_t in_features, int32_t out_features,
                                             const int8_t *weights, const int32_t *bias,
                                             const int32_t *multipliers, const int32_t *shifts,
                                             int32_t in_zp, int32_t out_zp)
{
    int32_t buffer[DSP_DOT_BUFFER_WORDS];
    linear_dsp(buffer, DSP_DOT_BUFFER_WORDS, in, in_row_stride, out, out_row_stride, rows,
               in_features, out_features, weights, bias, multipliers, shifts, in_zp, out_zp);
}

static MCU_NOINLINE void linear_dsp_wide_buffered(
    const int8_t *in, int32_t in_row_stride, int8_t *out, int32_t out_row_stride, int32_t rows,
    int32_t in_features, int32_t out_features, const int8_t *weights, const int32_t *bias,
    const int32_t *multipliers, const int32_t *shifts, int32_t in_zp, int32_t out_zp)
{
    int32_t buffer[DSP_DOT_WIDE_BUFFER_WORDS];
    linear_dsp(buffer, DSP_DOT_WIDE_BUFFER_WORDS, in, in_row_stride, out, out_row_stride, rows,
               in_features, out_features, weights, bias, multipliers, shifts, in_zp, out_zp);
}

#endif /* MCU_KERNELS_DSP */

/* Weight (o, k) of the channel-pair layout (kernels.h). */
static inline int32_t linear_weight(const int8_t *weights, int32_t in_features,
                                    int32_t out_features, int32_t o, int32_t k)
{
    if ((out_features & 1) != 0 && o == out_features - 1) return weights[o * in_features + k];
    const int8_t *pair = weights + (o & ~1) * in_features + 2 * k;
    return (o & 1) != 0 ? pair[1] : (int32_t)(uint8_t)pair[0] - 128;
}

/* One token by the formula, reading in_row while writing out_row: the two must not overlap. */
static void linear_row(const int8_t *in_row, int8_t *out_row, int32_t in_features,
                       int32_t out_features, const int8_t *weights, const int32_t *bias,
                       const int32_t *multipliers, const int32_t *shifts, int32_t in_zp,
                       int32_t out_zp)
{
    for (int32_t o = 0; o < out_features; o++) {
        int32_t acc = (bias != NULL) ? bias[o] : 0;
        for (int32_t k = 0; k < in_features; k++) {
            acc += ((int32_t)in_row[k] - in_zp) *
                   linear_weight(weights, in_features, out_features, o, k);
        }
        out_row[o] = requantize_to_s8(acc, multipliers[o], shifts[o], out_zp);
    }
}

/* A token whose output row overlaps it goes through a stack row (kept out of linear_row's frame,
 * so that calls without overlap do not reserve it). */
static MCU_NOINLINE void linear_row_copied(
    const int8_t *in_row, int8_t *out_row, int32_t in_features, int32_t out_features,
    const int8_t *weights, const int32_t *bias, const int32_t *multipliers, const int32_t *shifts,
    int32_t in_zp, int32_t out_zp)
{
    int8_t row[MCU_LINEAR_OVERLAP_MAX_IN_FEATURES];
    for (int32_t k = 0; k < in_features; k++) row[k] = in_row[k];
    linear_row(row, out_row, in_features, out_features, weights, bias, multipliers, shifts, in_zp,
               out_zp);
}

void mcu_linear_s8_flat(const int8_t *in, int32_t in_row_stride, int8_t *out, int32_t out_row_stride,
                   int32_t rows, int32_t in_features, int32_t out_features, const int8_t *weights,
                   const int32_t *bias, const int32_t *multipliers, const int32_t *shifts,
                   int32_t in_zp, int32_t out_zp)
{
#if MCU_KERNELS_DSP
    const int32_t pairs = linear_pairs(in_features);
    if (4 * pairs > DSP_DOT_BUFFER_WORDS && 4 * pairs <= DSP_DOT_WIDE_BUFFER_WORDS && rows >= 4) {
        linear_dsp_wide_buffered(in, in_row_stride, out, out_row_stride, rows, in_features,
                                 out_features, weights, bias, multipliers, shifts, in_zp, out_zp);
        return;
    }
    if (pairs <= DSP_DOT_BUFFER_WORDS) {
        linear_dsp_buffered(in, in_row_stride, out, out_row_stride, rows, in_features,
                            out_features, weights, bias, multipliers, shifts, in_zp, out_zp);
        return;
    }
#endif
    const int backward = tokens_backward(in, in_row_stride, out, out_row_stride, rows);
    for (int32_t done = 0; done < rows; done++) {
        const int32_t r = backward ? rows - 1 - done : done;
        const int8_t *in_row = in + r * in_row_stride;
        int8_t *out_row = out + r * out_row_stride;
        if (bytes_overlap(in_row, in_features, out_row, out_features)) {
            linear_row_copied(in_row, out_row, in_features, out_features, weights, bias,
                              multipliers, shifts, in_zp, out_zp);
        } else {
            linear_row(in_row, out_row, in_features, out_features, weights, bias, multipliers,
                       shifts, in_zp, out_zp);
        }
    }
}
