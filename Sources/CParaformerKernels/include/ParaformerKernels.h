// Hand-written CPU kernels of the Paraformer engine: int8 matrix products on prepacked
// weights and fp32 row kernels (softmax, LayerNorm).
//
// Every SIMD function is compiled with a per-function target attribute and chosen at run time
// by CPU feature (`pk_best_variant`), never by build flags, so the package stays usable as a
// dependency. Each operation has a portable C version that runs anywhere.
//
// The int8 product (y = x · Wᵀ, x [R, K] fp32, W [N, K] int8):
//  - W is quantised once, per output channel (row of W), symmetrically to [-127, 127]:
//    W[n, k] ≈ w_scale[n] · Wq[n, k]. It is packed for the micro-kernel (`pk_s8_pack`) in
//    panels of PK_NR = 16 output channels, K in groups of 4: panel p holds, for each group g,
//    the 16 × 4 bytes Wq[16p + j, 4g + i] at byte 64·g + 4·j + i (zeros past N and K). This is
//    the operand layout of `vpdpbusd` (AVX-512 VNNI: 16 int32 lanes, 4 bytes each) and of
//    `vpmaddubsw` + `vpmaddwd` (AVX2: two registers of 8 lanes). Column sums Σ_k Wq[n, k]
//    (`pk_s8_column_sums`) are computed at the same time.
//  - x is quantised per row on the fly (`pk_quantize_rows`) to 8-bit codes centred on the
//    row's midpoint: x[r, k] ≈ a_offset[r] + a_scale[r] · (q[r, k] − a_zero[r]) with
//    a_zero = 128, a_offset = (min + max) / 2 and q in [1, 255], so the 255 codes span
//    [min, max] in steps of (max − min) / 254 (the finest 255 levels allow; a row of values in
//    [5.0, 5.2] gets all of them across its 0.2). The sums Σ q·w are exact int32 in every
//    variant: VNNI multiplies the u8 codes directly (`vpdpbusd`); AVX2 multiplies
//    |q − 128| (≤ 127) by sign(q − 128)·w with `vpmaddubsw` (pairs ≤ 2 · 127 · 127, no
//    saturation) and adds 128 · Σ w; so every variant gives the same outputs, bit for bit
//    (the engine's result does not depend on the CPU).
//  - y[r, n] = a_scale[r] · w_scale[n] · (Σ_k q[r, k] · Wq[n, k] − a_zero[r] · colsum[n])
//    + a_offset[r] · w_scale[n] · colsum[n] + bias[n], then optionally ReLU, or added to what
//    y holds (accumulate).
#ifndef PARAFORMER_KERNELS_H
#define PARAFORMER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Kernel variants, in increasing order of preference.
/// The best variant this CPU supports.
#define PK_VARIANT_AUTO 0
/// Plain C (the compiler's baseline vectorisation).
#define PK_VARIANT_PORTABLE 1
/// x86-64 AVX2 + FMA (Haswell, Zen 1 and later).
#define PK_VARIANT_AVX2 2
/// x86-64 AVX-512 F/BW/VL + VNNI (Ice Lake, Zen 4 and later).
#define PK_VARIANT_AVX512 3

/// Output channels per packed panel.
#define PK_NR 16
/// Reduction elements per packed group.
#define PK_KG 4

/// The best variant this CPU (and OS) supports and that passes its self-check (see
/// `pk_variant_rejected`). Honours the environment variable PARAFORMER_KERNELS = portable |
/// avx2 | avx512 as the highest variant to consider (for tests and measurements). Computed once.
int pk_best_variant(void);
/// 1 when `variant` failed its self-check at first use (it is then never chosen
/// automatically): each SIMD variant is run once on small shapes against the portable code.
int pk_variant_rejected(int variant);
/// 1 when the CPU supports `variant`.
int pk_variant_supported(int variant);
/// "portable", "avx2", "avx512-vnni" (or "auto" / "unknown").
const char *pk_variant_name(int variant);

// MARK: - int8 products

/// Bytes of the packed form of an [n, k] int8 matrix: ceil(n / 16) · ceil(k / 4) · 64.
size_t pk_s8_packed_size(int n, int k);
/// Packs w ([n, k] row-major int8, values in [-127, 127]) into `packed` (pk_s8_packed_size
/// bytes) in the panel layout described above.
void pk_s8_pack(const int8_t *w, int n, int k, int8_t *packed);
/// sums[j] = Σ_k Wq[j, k] for j < ceil(n / 16) · 16 (0 past n), read from a packed matrix.
void pk_s8_column_sums(const int8_t *packed, int n, int k, int32_t *sums);

/// Row stride (bytes) of quantised activations for reduction length k: k rounded up to 64.
int pk_quantized_stride(int k);

/// Quantises `rows` rows of x (row stride ldx floats, k values each) to 8-bit codes:
/// q (row stride ldq ≥ k rounded up to 4; bytes from k to the next multiple of 4 are set to 0),
/// scale[r] = (max − min) / 254, zero[r] = 128, offset[r] = (min + max) / 2; a constant row
/// gets scale 1 and its value as the offset (all zeros: offset 0). Codes:
/// round((x − offset) / scale) + 128 (ties to even), clamped to [1, 255]. Non-finite inputs
/// give unspecified codes but no fault.
void pk_quantize_rows(
    int variant, const float *x, int rows, int k, int ldx, uint8_t *q, int ldq, float *scale,
    int32_t *zero, float *offset);

// Flags of `pk_gemm_u8s8`.
/// y += result (no ReLU).
#define PK_ACCUMULATE 1
/// y = max(result, 0).
#define PK_RELU 2

/// The int8 product for output columns [col_begin, col_end) of y (col_begin a multiple of 16):
/// y[r, n] (row stride ldy) for r < rows, from quantised activations (q, ldq, a_scale, a_zero,
/// a_offset)
/// and a packed matrix (packed, colsum, w_scale [n]) with reduction length k. bias may be NULL.
void pk_gemm_u8s8(
    int variant, const uint8_t *q, int ldq, const float *a_scale, const int32_t *a_zero,
    const float *a_offset, int rows, const int8_t *packed, const int32_t *colsum, const float *w_scale, int k, int col_begin,
    int col_end, const float *bias, float *y, int ldy, int flags);

// MARK: - fp32 row kernels

/// Softmax of each of `rows` rows of n values at p (row stride ld), over the first `valid`
/// entries; entries from `valid` on become 0 (a key-padding mask). valid ≤ 0 zeroes the row.
/// e^x to about 2e-7 relative. Inputs must be finite.
void pk_softmax_rows(int variant, float *p, int rows, int n, int ld, int valid);

/// LayerNorm of each row: y = (x − mean) / sqrt(var + eps) · gamma + beta (biased variance).
/// y may be x.
void pk_layer_norm_rows(
    int variant, const float *x, int rows, int d, int ldx, const float *gamma, const float *beta,
    float eps, float *y, int ldy);

// MARK: - fp32 products on prepacked weights

/// Floats of the packed form of an [n, k] fp32 matrix: ceil(n / 16) · 16 · k.
size_t pk_f32_packed_count(int n, int k);
/// Packs W (row-major [n, k], or [k, n] when `transposed`) into panels of PK_NR = 16 output
/// channels: panel p holds, for each k, the 16 values W[16p + j, k] (zeros past n).
void pk_f32_pack(const float *w, int n, int k, int transposed, float *packed);
/// y = x · Wᵀ for output columns [col_begin, col_end) (col_begin a multiple of 16) of the
/// packed [n, k] W: each output is one FMA chain over k in order, then (flags & PK_ACCUMULATE)
/// y + it, then + bias[n] (bias may be NULL), then (flags & PK_RELU) max(·, 0) keeping NaN.
/// Every variant gives the same bits.
void pk_sgemm_packed(
    int variant, const float *x, int rows, int k, int ldx, const float *packed, int n, int col_begin,
    int col_end, const float *bias, float *y, int ldy, int flags);

/// dst[i] = the float that the IEEE half src[i] stands for, exactly (F16C where the CPU has it
/// and `variant` is not PK_VARIANT_PORTABLE; the same values either way).
void pk_f16_to_f32(int variant, const uint16_t *src, float *dst, size_t n);

/// FSMN-VAD's causal depthwise memory over the rows [history; proj] (history: `past` rows,
/// proj: `frames` rows, `channels` each): out[t] = proj[t] + Σ_k taps[k] ⊙ row(t + k·lstride),
/// added tap by tap in order (multiply, then add: no FMA). taps is [lorder, channels].
void pk_fsmn_memory(
    int variant, const float *history, int past, const float *proj, int frames, int channels, const float *taps,
    int lorder, int lstride, float *out);

#ifdef __cplusplus
}
#endif

// The few-rows product of decoder steps (its own header; listed here so that every header of
// the module is a dependency of this one, and a build that cached the module before it existed
// sees it).
#include "ParaformerFewRows.h"

#endif
