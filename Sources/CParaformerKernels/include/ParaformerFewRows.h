// The few-rows fp32 product of an autoregressive decoder step (few_rows.c): y = x · Wᵀ + b for
// the handful of rows of a beam (one per hypothesis), W [N, K] as PyTorch stores it, in fp32
// or in IEEE half precision widened exactly on the fly.
//
// Such a product is bound by reading W: OpenBLAS's sgemm first copies (packs) all of W, and
// a row-at-a-time dot product reads every weight once per row. Here each weight row streams
// once, in memory order, against every x row (up to PK_ROWS_GROUP at once, x stays in L1);
// two accumulators per x row hide the FMA latency, and eight columns' sums are reduced
// together. (Two weight rows read side by side ran at half the bandwidth: one stream in
// memory order is what the prefetchers follow best.)
//
// Exactness: each output is a sum over two 8-lane accumulators: blocks of 8 consecutive k
// alternate between them (k in [16j, 16j + 8) to the first, [16j + 8, 16j + 16) to the second,
// a last odd block to the first), lane l taking k ≡ l mod 8 in order of k; the accumulators
// are added lane by lane, the lanes summed as ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)), then the
// k mod 8 tail is added in order, then the bias. An f16 weight widens to the fp32 value it
// stands for, so a matrix stored in f16 gives bit for bit the outputs of its fp32 expansion
// (same variant). The AVX2 variant fuses each multiply-add (FMA), the portable one rounds the
// product and the sum separately, so the two variants may differ in the last bits.
#ifndef PARAFORMER_FEW_ROWS_H
#define PARAFORMER_FEW_ROWS_H

#include "ParaformerKernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// x rows handled together (the rest in further groups, re-reading W from cache).
#define PK_ROWS_GROUP 6

/// Weight element types of `pk_rows_linear`.
#define PK_WEIGHT_F32 0
#define PK_WEIGHT_F16 1

/// y[r, n] = Σ_k x[r, k] · W[n, k] + bias[n] for r < rows and n in [n_begin, n_end), with W
/// row n at w + n · ldw elements (type `wtype`: PK_WEIGHT_F32 floats or PK_WEIGHT_F16 IEEE
/// halves), x row r at x + r · ldx, y row r at y + r · ldy. bias may be NULL. flags: 0,
/// PK_ACCUMULATE (y += result) or PK_RELU (y = max(result, 0)). variant: PK_VARIANT_AUTO or a
/// supported variant (AVX-512 machines run the AVX2 code; F16 weights need F16C for AVX2).
void pk_rows_linear(
    int variant, const float *x, int rows, int ldx, const void *w, int wtype, int ldw, int k, int n_begin,
    int n_end, const float *bias, float *y, int ldy, int flags);

#ifdef __cplusplus
}
#endif

#endif
