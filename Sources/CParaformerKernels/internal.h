// Shared between the kernel files; not part of the public header.
#ifndef PARAFORMER_KERNELS_INTERNAL_H
#define PARAFORMER_KERNELS_INTERNAL_H

#include "ParaformerKernels.h"
#include <string.h>

// No fused multiply-adds the source does not spell: every variant must round its epilogue
// exactly as the portable one does (bit-identical outputs across CPUs). GCC's default
// (-ffp-contract=fast) would fuse an intrinsic multiply and add into one FMA.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#if defined(__x86_64__) || defined(_M_X64)
#define PK_X86 1
#else
#define PK_X86 0
#endif

/// Rows per micro-kernel call (the largest of all variants).
#define PK_MR_MAX 8

/// Everything `pk_gemm_u8s8` needs besides the panel range, bundled for the variants.
typedef struct {
    const uint8_t *q;
    int ldq;
    const float *a_scale;
    const int32_t *a_zero;
    const float *a_offset;
    int rows;
    const int8_t *packed;
    const int32_t *colsum;
    const float *w_scale;
    int k;
    const float *bias;
    float *y;
    int ldy;
    int flags;
} pk_gemm_args;

/// The float an IEEE half stands for (exact: every half is a float; NaN payloads kept, as
/// `vcvtph2ps` keeps them).
static inline float pk_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0x1f) {  // inf, NaN
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {  // normal
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {  // ±0
        bits = sign;
    } else {  // subnormal: normalise
        int e = 113;
        while (!(mantissa & 0x400)) {
            mantissa <<= 1;
            e--;
        }
        bits = sign | ((uint32_t)e << 23) | ((mantissa & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline int32_t pk_load_i32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/// `variant` if this CPU runs it, else (and for PK_VARIANT_AUTO) `pk_best_variant()`.
int pk_resolve_variant(int variant);

// Portable versions (portable.c), also used for tails by the SIMD files.
void pk_quantize_rows_portable(
    const float *x, int rows, int k, int ldx, uint8_t *q, int ldq, float *scale, int32_t *zero, float *offset);
void pk_quantize_row_codes_portable(const float *x, int from, int k, float off, float inv, int32_t zero, uint8_t *q);
void pk_quantize_range(float lo, float hi, float *scale, float *inv, int32_t *zero, float *offset);
void pk_gemm_portable(const pk_gemm_args *a, int col_begin, int col_end);
/// The shared epilogue of one tile: out rows r0..r0+mr, columns n0..n0+nc from int32 sums
/// acc[i * PK_NR + j].
void pk_epilogue_portable(const pk_gemm_args *a, int r0, int mr, int n0, int nc, const int32_t *acc);
void pk_softmax_rows_portable(float *p, int rows, int n, int ld, int valid);
void pk_layer_norm_rows_portable(
    const float *x, int rows, int d, int ldx, const float *gamma, const float *beta, float eps,
    float *y, int ldy);

#if PK_X86
void pk_quantize_rows_avx2(
    const float *x, int rows, int k, int ldx, uint8_t *q, int ldq, float *scale, int32_t *zero, float *offset);
void pk_gemm_avx2(const pk_gemm_args *a, int col_begin, int col_end);
void pk_softmax_rows_avx2(float *p, int rows, int n, int ld, int valid);
void pk_layer_norm_rows_avx2(
    const float *x, int rows, int d, int ldx, const float *gamma, const float *beta, float eps,
    float *y, int ldy);
void pk_quantize_rows_avx512(
    const float *x, int rows, int k, int ldx, uint8_t *q, int ldq, float *scale, int32_t *zero, float *offset);
void pk_gemm_avx512(const pk_gemm_args *a, int col_begin, int col_end);
void pk_softmax_rows_avx512(float *p, int rows, int n, int ld, int valid);
void pk_layer_norm_rows_avx512(
    const float *x, int rows, int d, int ldx, const float *gamma, const float *beta, float eps,
    float *y, int ldy);
#endif

#endif
