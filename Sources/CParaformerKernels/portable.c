// Run-time dispatch and the portable versions of every kernel.
#include "internal.h"

#include <math.h>
#include <stdlib.h>

// The SIMD variants must give the same bits as these loops: no fused multiply-adds here.
#ifdef __clang__
#pragma clang fp contract(off)
#endif

// MARK: - Dispatch

int pk_variant_supported(int variant) {
    switch (variant) {
    case PK_VARIANT_PORTABLE: return 1;
#if PK_X86 && (defined(__clang__) || defined(__GNUC__))
    case PK_VARIANT_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case PK_VARIANT_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
    default: return 0;
    }
}

const char *pk_variant_name(int variant) {
    switch (variant) {
    case PK_VARIANT_AUTO: return "auto";
    case PK_VARIANT_PORTABLE: return "portable";
    case PK_VARIANT_AVX2: return "avx2";
    case PK_VARIANT_AVX512: return "avx512-vnni";
    default: return "unknown";
    }
}

// MARK: - Self-check at first use

/// Runs `variant` once on small odd shapes against the portable code: the int8 products
/// (with the quantisation) and the fp32 packed product must match bit for bit, softmax and
/// LayerNorm to 1e-5. A variant that fails (a kernel never run on this CPU family, a
/// compiler or CPU erratum) is not used: the engine falls back to the next one rather than
/// computing wrong results. Costs well under a millisecond, once per process.
static int self_check(int variant) {
    enum { M = 7, N = 37, K = 70 };
    static const int flags[3] = {0, PK_RELU, PK_ACCUMULATE};
    float x[M * K], w[N * K], bias[N], wscale[N];
    int8_t wq[N * K];
    unsigned int st = 12345u;
    for (int i = 0; i < M * K; i++) { st = st * 1664525u + 1013904223u; x[i] = (float)((int)(st >> 9) % 2001 - 1000) / 250.0f; }
    for (int i = 0; i < N * K; i++) {
        st = st * 1664525u + 1013904223u;
        w[i] = (float)((int)(st >> 9) % 2001 - 1000) / 1000.0f;
        wq[i] = (int8_t)((int)(st >> 11) % 255 - 127);
    }
    for (int i = 0; i < N; i++) { bias[i] = 0.01f * (float)(i - 18); wscale[i] = 0.001f * (float)(i + 1); }
    int ok = 1;
    // int8: quantisation + product
    int8_t packed[((N + PK_NR - 1) / PK_NR) * ((K + PK_KG - 1) / PK_KG) * PK_NR * PK_KG];
    int32_t sums[(N + PK_NR - 1) / PK_NR * PK_NR];
    pk_s8_pack(wq, N, K, packed);
    pk_s8_column_sums(packed, N, K, sums);
    enum { LDQ = (K + 63) / 64 * 64 };
    uint8_t q0[M * LDQ], q1[M * LDQ];
    float s0[M], s1[M], o0[M], o1[M];
    int32_t z0[M], z1[M];
    memset(q0, 0, sizeof(q0));
    memset(q1, 0, sizeof(q1));
    pk_quantize_rows(PK_VARIANT_PORTABLE, x, M, K, K, q0, LDQ, s0, z0, o0);
    pk_quantize_rows(variant, x, M, K, K, q1, LDQ, s1, z1, o1);
    ok &= memcmp(q0, q1, sizeof(q0)) == 0 && memcmp(s0, s1, sizeof(s0)) == 0 && memcmp(z0, z1, sizeof(z0)) == 0
        && memcmp(o0, o1, sizeof(o0)) == 0;
    float y0[M * N], y1[M * N];
    for (int f = 0; f < 3 && ok; f++) {
        for (int i = 0; i < M * N; i++) y0[i] = y1[i] = 0.5f;
        pk_gemm_u8s8(PK_VARIANT_PORTABLE, q0, LDQ, s0, z0, o0, M, packed, sums, wscale, K, 0, N, bias, y0, N, flags[f]);
        pk_gemm_u8s8(variant, q0, LDQ, s0, z0, o0, M, packed, sums, wscale, K, 0, N, bias, y1, N, flags[f]);
        ok &= memcmp(y0, y1, sizeof(y0)) == 0;
    }
    // fp32 packed product
    float fp[((N + PK_NR - 1) / PK_NR) * PK_NR * K];
    pk_f32_pack(w, N, K, 0, fp);
    for (int f = 0; f < 3 && ok; f++) {
        for (int i = 0; i < M * N; i++) y0[i] = y1[i] = 0.5f;
        pk_sgemm_packed(PK_VARIANT_PORTABLE, x, M, K, K, fp, N, 0, N, bias, y0, N, flags[f]);
        pk_sgemm_packed(variant, x, M, K, K, fp, N, 0, N, bias, y1, N, flags[f]);
        ok &= memcmp(y0, y1, sizeof(y0)) == 0;
    }
    // row kernels, to a tolerance
    float a0[M * K], a1[M * K];
    memcpy(a0, x, sizeof(a0));
    memcpy(a1, x, sizeof(a1));
    pk_softmax_rows(PK_VARIANT_PORTABLE, a0, M, K, K, K - 3);
    pk_softmax_rows(variant, a1, M, K, K, K - 3);
    for (int i = 0; i < M * K && ok; i++) ok &= fabsf(a0[i] - a1[i]) <= 1e-5f * fabsf(a0[i]) + 1e-12f;
    float g[K], b[K];
    for (int i = 0; i < K; i++) { g[i] = 1.0f + 0.01f * (float)i; b[i] = 0.02f * (float)(i % 7); }
    pk_layer_norm_rows(PK_VARIANT_PORTABLE, x, M, K, K, g, b, 1e-12f, a0, K);
    pk_layer_norm_rows(variant, x, M, K, K, g, b, 1e-12f, a1, K);
    for (int i = 0; i < M * K && ok; i++) ok &= fabsf(a0[i] - a1[i]) <= 1e-5f * (fabsf(a0[i]) + 1.0f);
    return ok;
}

static int rejected_mask = 0;

int pk_variant_rejected(int variant) {
    (void)pk_best_variant();
    return variant > 0 && variant < 31 ? (__atomic_load_n(&rejected_mask, __ATOMIC_RELAXED) >> variant) & 1 : 0;
}

/// The variant to use: the forced one (PARAFORMER_KERNELS) or the best supported one, in
/// both cases only if it passes its self-check; else the next best.
static int best_variant_uncached(void) {
    int start = PK_VARIANT_AVX512;
    const char *forced = getenv("PARAFORMER_KERNELS");
    if (forced) {
        for (int v = PK_VARIANT_PORTABLE; v <= PK_VARIANT_AVX512; v++) {
            if (strcmp(forced, pk_variant_name(v)) == 0 || (v == PK_VARIANT_AVX512 && strcmp(forced, "avx512") == 0)) {
                if (pk_variant_supported(v)) start = v;
            }
        }
    }
    for (int v = start; v > PK_VARIANT_PORTABLE; v--) {
        if (!pk_variant_supported(v)) continue;
        if (self_check(v)) return v;
        __atomic_fetch_or(&rejected_mask, 1 << v, __ATOMIC_RELAXED);
    }
    return PK_VARIANT_PORTABLE;
}

int pk_best_variant(void) {
    // Threads may race to fill the cache; every one computes the same value, and relaxed
    // atomics make that race defined (a plain `volatile int` is a data race: TSan flags it).
    static int cached = 0;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v == 0) {
        v = best_variant_uncached();
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

int pk_resolve_variant(int variant) {
    if (variant == PK_VARIANT_AUTO || !pk_variant_supported(variant)) return pk_best_variant();
    return variant;
}

// MARK: - Packing

size_t pk_s8_packed_size(int n, int k) {
    if (n <= 0 || k <= 0) return 0;
    return (size_t)((n + PK_NR - 1) / PK_NR) * (size_t)((k + PK_KG - 1) / PK_KG) * (PK_NR * PK_KG);
}

void pk_s8_pack(const int8_t *w, int n, int k, int8_t *packed) {
    int panels = (n + PK_NR - 1) / PK_NR;
    int groups = (k + PK_KG - 1) / PK_KG;
    for (int p = 0; p < panels; p++) {
        int8_t *dst = packed + (size_t)p * groups * PK_NR * PK_KG;
        for (int g = 0; g < groups; g++) {
            for (int j = 0; j < PK_NR; j++) {
                for (int i = 0; i < PK_KG; i++) {
                    int row = p * PK_NR + j, col = g * PK_KG + i;
                    dst[(g * PK_NR + j) * PK_KG + i] = (row < n && col < k) ? w[(size_t)row * k + col] : 0;
                }
            }
        }
    }
}

void pk_s8_column_sums(const int8_t *packed, int n, int k, int32_t *sums) {
    int panels = (n + PK_NR - 1) / PK_NR;
    int groups = (k + PK_KG - 1) / PK_KG;
    for (int p = 0; p < panels; p++) {
        const int8_t *src = packed + (size_t)p * groups * PK_NR * PK_KG;
        for (int j = 0; j < PK_NR; j++) {
            int32_t s = 0;
            for (int g = 0; g < groups; g++) {
                for (int i = 0; i < PK_KG; i++) s += src[(g * PK_NR + j) * PK_KG + i];
            }
            sums[p * PK_NR + j] = s;
        }
    }
}

int pk_quantized_stride(int k) { return (k + 63) / 64 * 64; }

// MARK: - Activation quantisation

void pk_quantize_range(float lo, float hi, float *scale, float *inv, int32_t *zero, float *offset) {
    // Centred on the row's midpoint: the codes 128 ± 127 (1 … 255) span [lo, hi], a step of
    // (hi − lo) / 254, the finest 255 levels allow.
    float mid = 0.5f * lo + 0.5f * hi;
    float half = hi - mid, other = mid - lo;
    if (other > half) half = other;
    *zero = 128;
    if (!(half > 0) || !(half < INFINITY) || !(mid - mid == 0)) {
        // A constant row (its value, exactly, is the offset; all zeros included), or
        // non-finite values (offset 0): every code is the zero point.
        *scale = 1;
        *inv = 0;
        *offset = (half == 0 && mid - mid == 0) ? mid : 0;
        return;
    }
    *offset = mid;
    *scale = half / 127.0f;
    *inv = 127.0f / half;
}

void pk_quantize_row_codes_portable(const float *x, int from, int k, float off, float inv, int32_t zero, uint8_t *q) {
    for (int i = from; i < k; i++) {
        float t = (x[i] - off) * inv;
        // Bounded before the conversion (NaN goes to the lower bound), as the SIMD max/min do.
        t = t > -256.0f ? t : -256.0f;
        t = t < 256.0f ? t : 256.0f;
        int32_t v = (int32_t)lrintf(t) + zero;
        q[i] = (uint8_t)(v < 1 ? 1 : (v > 255 ? 255 : v));
    }
}

void pk_quantize_rows_portable(
    const float *x, int rows, int k, int ldx, uint8_t *q, int ldq, float *scale, int32_t *zero, float *offset) {
    int kp = (k + PK_KG - 1) / PK_KG * PK_KG;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        float lo = xr[0], hi = xr[0];
        for (int i = 1; i < k; i++) {
            lo = xr[i] < lo ? xr[i] : lo;
            hi = xr[i] > hi ? xr[i] : hi;
        }
        float inv;
        pk_quantize_range(lo, hi, &scale[r], &inv, &zero[r], &offset[r]);
        uint8_t *qr = q + (size_t)r * ldq;
        pk_quantize_row_codes_portable(xr, 0, k, offset[r], inv, zero[r], qr);
        for (int i = k; i < kp; i++) qr[i] = 0;
    }
}

void pk_quantize_rows(
    int variant, const float *x, int rows, int k, int ldx, uint8_t *q, int ldq, float *scale,
    int32_t *zero, float *offset) {
    if (rows <= 0 || k <= 0) return;
    switch (pk_resolve_variant(variant)) {
#if PK_X86
    case PK_VARIANT_AVX2: pk_quantize_rows_avx2(x, rows, k, ldx, q, ldq, scale, zero, offset); return;
    case PK_VARIANT_AVX512: pk_quantize_rows_avx512(x, rows, k, ldx, q, ldq, scale, zero, offset); return;
#endif
    default: pk_quantize_rows_portable(x, rows, k, ldx, q, ldq, scale, zero, offset); return;
    }
}

// MARK: - Product

void pk_epilogue_portable(const pk_gemm_args *a, int r0, int mr, int n0, int nc, const int32_t *acc) {
    for (int i = 0; i < mr; i++) {
        int r = r0 + i;
        float as = a->a_scale[r];
        int32_t z = a->a_zero[r];
        float off = a->a_offset[r];
        float *yr = a->y + (size_t)r * a->ldy + n0;
        for (int j = 0; j < nc; j++) {
            int n = n0 + j;
            int32_t d = acc[i * PK_NR + j] - z * a->colsum[n];
            float s = as * a->w_scale[n];
            float v = (float)d * s;
            if (off != 0) v = v + off * (a->w_scale[n] * (float)a->colsum[n]);
            if (a->bias) v = v + a->bias[n];
            if (a->flags & PK_ACCUMULATE) {
                v = yr[j] + v;
            } else if (a->flags & PK_RELU) {
                v = v > 0 ? v : 0;
            }
            yr[j] = v;
        }
    }
}

void pk_gemm_portable(const pk_gemm_args *a, int col_begin, int col_end) {
    int groups = (a->k + PK_KG - 1) / PK_KG;
    enum { MR = 4 };
    int32_t acc[MR * PK_NR];
    for (int n0 = col_begin; n0 < col_end; n0 += PK_NR) {
        const int8_t *panel = a->packed + (size_t)(n0 / PK_NR) * groups * PK_NR * PK_KG;
        int nc = col_end - n0 < PK_NR ? col_end - n0 : PK_NR;
        for (int r0 = 0; r0 < a->rows; r0 += MR) {
            int mr = a->rows - r0 < MR ? a->rows - r0 : MR;
            for (int i = 0; i < mr; i++) {
                const uint8_t *restrict qr = a->q + (size_t)(r0 + i) * a->ldq;
                // Local sums, so that the compiler sees no aliasing with the int8 weights.
                int32_t s[PK_NR] = {0};
                for (int g = 0; g < groups; g++) {
                    const int8_t *restrict w = panel + g * PK_NR * PK_KG;
                    int32_t x0 = qr[4 * g], x1 = qr[4 * g + 1], x2 = qr[4 * g + 2], x3 = qr[4 * g + 3];
                    for (int j = 0; j < PK_NR; j++) {
                        s[j] += x0 * w[4 * j] + x1 * w[4 * j + 1] + x2 * w[4 * j + 2] + x3 * w[4 * j + 3];
                    }
                }
                memcpy(acc + i * PK_NR, s, sizeof(s));
            }
            pk_epilogue_portable(a, r0, mr, n0, nc, acc);
        }
    }
}

void pk_gemm_u8s8(
    int variant, const uint8_t *q, int ldq, const float *a_scale, const int32_t *a_zero,
    const float *a_offset, int rows, const int8_t *packed, const int32_t *colsum,
    const float *w_scale, int k, int col_begin, int col_end, const float *bias, float *y, int ldy,
    int flags) {
    if (rows <= 0 || col_end <= col_begin || k <= 0) return;
    pk_gemm_args a = {q, ldq, a_scale, a_zero, a_offset, rows, packed, colsum, w_scale, k, bias, y, ldy, flags};
    switch (pk_resolve_variant(variant)) {
#if PK_X86
    case PK_VARIANT_AVX2: pk_gemm_avx2(&a, col_begin, col_end); return;
    case PK_VARIANT_AVX512: pk_gemm_avx512(&a, col_begin, col_end); return;
#endif
    default: pk_gemm_portable(&a, col_begin, col_end); return;
    }
}

// MARK: - Row kernels

void pk_softmax_rows_portable(float *p, int rows, int n, int ld, int valid) {
    int v = valid < n ? valid : n;
    for (int r = 0; r < rows; r++) {
        float *row = p + (size_t)r * ld;
        if (v <= 0) {
            for (int i = 0; i < n; i++) row[i] = 0;
            continue;
        }
        float m = row[0];
        for (int i = 1; i < v; i++) m = row[i] > m ? row[i] : m;
        float s = 0;
        for (int i = 0; i < v; i++) {
            row[i] = expf(row[i] - m);
            s += row[i];
        }
        float inv = 1 / s;
        for (int i = 0; i < v; i++) row[i] *= inv;
        for (int i = v; i < n; i++) row[i] = 0;
    }
}

void pk_softmax_rows(int variant, float *p, int rows, int n, int ld, int valid) {
    if (rows <= 0 || n <= 0) return;
    switch (pk_resolve_variant(variant)) {
#if PK_X86
    case PK_VARIANT_AVX2: pk_softmax_rows_avx2(p, rows, n, ld, valid); return;
    case PK_VARIANT_AVX512: pk_softmax_rows_avx512(p, rows, n, ld, valid); return;
#endif
    default: pk_softmax_rows_portable(p, rows, n, ld, valid); return;
    }
}

void pk_layer_norm_rows_portable(
    const float *x, int rows, int d, int ldx, const float *gamma, const float *beta, float eps,
    float *y, int ldy) {
    float invD = 1.0f / (float)d;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        float *yr = y + (size_t)r * ldy;
        float s = 0;
        for (int i = 0; i < d; i++) s += xr[i];
        float mean = s * invD;
        float ss = 0;
        for (int i = 0; i < d; i++) {
            float t = xr[i] - mean;
            ss += t * t;
        }
        float inv = 1.0f / sqrtf(ss * invD + eps);
        for (int i = 0; i < d; i++) yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i];
    }
}

void pk_layer_norm_rows(
    int variant, const float *x, int rows, int d, int ldx, const float *gamma, const float *beta,
    float eps, float *y, int ldy) {
    if (rows <= 0 || d <= 0) return;
    switch (pk_resolve_variant(variant)) {
#if PK_X86
    case PK_VARIANT_AVX2: pk_layer_norm_rows_avx2(x, rows, d, ldx, gamma, beta, eps, y, ldy); return;
    case PK_VARIANT_AVX512: pk_layer_norm_rows_avx512(x, rows, d, ldx, gamma, beta, eps, y, ldy); return;
#endif
    default: pk_layer_norm_rows_portable(x, rows, d, ldx, gamma, beta, eps, y, ldy); return;
    }
}
