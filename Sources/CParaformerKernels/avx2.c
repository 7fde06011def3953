// AVX2 + FMA versions (x86-64). Each function carries its own target attribute, so this file
// builds without any -m flag and runs only where `pk_variant_supported` says so.
#include "internal.h"

#if PK_X86
#include <immintrin.h>
#include <math.h>

#define PK_AVX2 __attribute__((target("avx2,fma")))
#define PK_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) static inline

// MARK: - Activation quantisation

PK_AVX2_INLINE float hmin8(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

PK_AVX2_INLINE float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

PK_AVX2_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/// Eight codes as int32: round(x · inv) + zero clamped to [1, 255] (the portable arithmetic).
PK_AVX2_INLINE __m256i codes8(const float *x, __m256 off, __m256 inv, __m256i zero) {
    __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x), off), inv);
    t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-256.0f)), _mm256_set1_ps(256.0f));
    __m256i v = _mm256_add_epi32(_mm256_cvtps_epi32(t), zero);
    return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(1)), _mm256_set1_epi32(255));
}

PK_AVX2 void pk_quantize_rows_avx2(
    const float *x, int rows, int k, int ldx, uint8_t *q, int ldq, float *scale, int32_t *zero, float *offset) {
    int kp = (k + PK_KG - 1) / PK_KG * PK_KG;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        __m256 lo8 = _mm256_set1_ps(xr[0]), hi8 = lo8;
        int i = 0;
        for (; i + 8 <= k; i += 8) {
            __m256 v = _mm256_loadu_ps(xr + i);
            lo8 = _mm256_min_ps(lo8, v);
            hi8 = _mm256_max_ps(hi8, v);
        }
        float lo = hmin8(lo8), hi = hmax8(hi8);
        for (; i < k; i++) {
            lo = xr[i] < lo ? xr[i] : lo;
            hi = xr[i] > hi ? xr[i] : hi;
        }
        float inv;
        pk_quantize_range(lo, hi, &scale[r], &inv, &zero[r], &offset[r]);
        uint8_t *qr = q + (size_t)r * ldq;
        __m256 inv8 = _mm256_set1_ps(inv);
        __m256i z8 = _mm256_set1_epi32(zero[r]);
        __m256 o8 = _mm256_set1_ps(offset[r]);
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        i = 0;
        for (; i + 32 <= k; i += 32) {
            __m256i c0 = codes8(xr + i, o8, inv8, z8), c1 = codes8(xr + i + 8, o8, inv8, z8);
            __m256i c2 = codes8(xr + i + 16, o8, inv8, z8), c3 = codes8(xr + i + 24, o8, inv8, z8);
            __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
            _mm256_storeu_si256((__m256i *)(qr + i), _mm256_permutevar8x32_epi32(b, order));
        }
        pk_quantize_row_codes_portable(xr, i, k, offset[r], inv, zero[r], qr);
        for (i = k; i < kp; i++) qr[i] = 0;
    }
}

// MARK: - Product

/// MR rows × 16 columns of int32 sums Σ_k s·w over all K for one panel, s = code − 128 in
/// [-127, 127]: per group of 4, each row's 4 codes are broadcast, turned into s (xor 0x80),
/// and `vpmaddubsw` multiplies |s| (u8 ≤ 127) with sign(s)·w (s8), two products summed to
/// int16 without saturation (2 · 127 · 127 = 32258); `vpmaddwd` by 1 sums the pairs to int32.
/// (A code up to 255 times w would saturate `vpmaddubsw`: hence the sign trick.)
PK_AVX2_INLINE void kernel_avx2(
    const uint8_t *q, int ldq, const int8_t *panel, int groups, int mr, __m256i acc[4][2]) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    for (int g = 0; g < groups; g++) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(panel + 64 * g));
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(panel + 64 * g + 32));
        for (int i = 0; i < mr; i++) {
            __m256i x = _mm256_xor_si256(_mm256_set1_epi32(pk_load_i32(q + (size_t)i * ldq + 4 * g)), flip);
            __m256i xa = _mm256_abs_epi8(x);
            __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(xa, _mm256_sign_epi8(w0, x)), ones);
            __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(xa, _mm256_sign_epi8(w1, x)), ones);
            acc[i][0] = _mm256_add_epi32(acc[i][0], p0);
            acc[i][1] = _mm256_add_epi32(acc[i][1], p1);
        }
    }
}

/// One row of 8 outputs from int32 sums (the portable epilogue's arithmetic, vectorised).
PK_AVX2_INLINE void epilogue8(const pk_gemm_args *a, int r, int n, __m256i acc) {
    __m256i zc = _mm256_mullo_epi32(_mm256_set1_epi32(a->a_zero[r]),
                                    _mm256_loadu_si256((const __m256i *)(a->colsum + n)));
    __m256 s = _mm256_mul_ps(_mm256_set1_ps(a->a_scale[r]), _mm256_loadu_ps(a->w_scale + n));
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc, zc)), s);
    float off = a->a_offset[r];
    if (off != 0) {
        __m256 cw = _mm256_mul_ps(_mm256_loadu_ps(a->w_scale + n),
                                  _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(a->colsum + n))));
        v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_set1_ps(off), cw));
    }
    if (a->bias) v = _mm256_add_ps(v, _mm256_loadu_ps(a->bias + n));
    float *y = a->y + (size_t)r * a->ldy + n;
    if (a->flags & PK_ACCUMULATE) {
        v = _mm256_add_ps(_mm256_loadu_ps(y), v);
    } else if (a->flags & PK_RELU) {
        v = _mm256_max_ps(v, _mm256_setzero_ps());
    }
    _mm256_storeu_ps(y, v);
}

PK_AVX2_INLINE void tile_avx2(const pk_gemm_args *a, const int8_t *panel, int groups, int r0, int mr, int n0, int nc) {
    __m256i acc[4][2];
    kernel_avx2(a->q + (size_t)r0 * a->ldq, a->ldq, panel, groups, mr, acc);
    // Σ s·w + 128 · Σ w = Σ code·w, the sums every variant hands to the epilogue (padding
    // codes are 0 → s = −128, but their weights are 0).
    __m256i c0 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(a->colsum + n0)), 7);
    __m256i c1 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(a->colsum + n0 + 8)), 7);
    for (int i = 0; i < mr; i++) {
        acc[i][0] = _mm256_add_epi32(acc[i][0], c0);
        acc[i][1] = _mm256_add_epi32(acc[i][1], c1);
    }
    if (nc == PK_NR) {
        for (int i = 0; i < mr; i++) {
            epilogue8(a, r0 + i, n0, acc[i][0]);
            epilogue8(a, r0 + i, n0 + 8, acc[i][1]);
        }
    } else {
        int32_t tile[4 * PK_NR];
        for (int i = 0; i < mr; i++) {
            _mm256_storeu_si256((__m256i *)(tile + i * PK_NR), acc[i][0]);
            _mm256_storeu_si256((__m256i *)(tile + i * PK_NR + 8), acc[i][1]);
        }
        pk_epilogue_portable(a, r0, mr, n0, nc, tile);
    }
}

PK_AVX2 void pk_gemm_avx2(const pk_gemm_args *a, int col_begin, int col_end) {
    int groups = (a->k + PK_KG - 1) / PK_KG;
    for (int n0 = col_begin; n0 < col_end; n0 += PK_NR) {
        const int8_t *panel = a->packed + (size_t)(n0 / PK_NR) * groups * PK_NR * PK_KG;
        int nc = col_end - n0 < PK_NR ? col_end - n0 : PK_NR;
        int r0 = 0;
        for (; r0 + 4 <= a->rows; r0 += 4) tile_avx2(a, panel, groups, r0, 4, n0, nc);
        switch (a->rows - r0) {
        case 3: tile_avx2(a, panel, groups, r0, 3, n0, nc); break;
        case 2: tile_avx2(a, panel, groups, r0, 2, n0, nc); break;
        case 1: tile_avx2(a, panel, groups, r0, 1, n0, nc); break;
        default: break;
        }
    }
}

// MARK: - Row kernels

/// e^x, 8 lanes: x = n·ln2 + r, e^r by a degree-6 polynomial, 2^n from the exponent bits
/// (relative error ≈ 2e-7 on [-87.3, 88.4]; x is clamped to that range).
PK_AVX2_INLINE __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.37626f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

PK_AVX2 void pk_softmax_rows_avx2(float *p, int rows, int n, int ld, int valid) {
    int v = valid < n ? valid : n;
    for (int r = 0; r < rows; r++) {
        float *row = p + (size_t)r * ld;
        if (v <= 0) {
            memset(row, 0, sizeof(float) * (size_t)n);
            continue;
        }
        int i = 0;
        float m = row[0];
        if (v >= 8) {
            __m256 m8 = _mm256_loadu_ps(row);
            for (i = 8; i + 8 <= v; i += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(row + i));
            m = hmax8(m8);
        }
        for (; i < v; i++) m = row[i] > m ? row[i] : m;
        __m256 shift = _mm256_set1_ps(m), s8 = _mm256_setzero_ps();
        for (i = 0; i + 8 <= v; i += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), shift));
            _mm256_storeu_ps(row + i, e);
            s8 = _mm256_add_ps(s8, e);
        }
        float s = hsum8(s8);
        for (; i < v; i++) {
            row[i] = expf(row[i] - m);
            s += row[i];
        }
        __m256 inv = _mm256_set1_ps(1.0f / s);
        for (i = 0; i + 8 <= v; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inv));
        for (; i < v; i++) row[i] *= 1.0f / s;
        for (i = v; i < n; i++) row[i] = 0;
    }
}

PK_AVX2 void pk_layer_norm_rows_avx2(
    const float *x, int rows, int d, int ldx, const float *gamma, const float *beta, float eps,
    float *y, int ldy) {
    float invD = 1.0f / (float)d;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        float *yr = y + (size_t)r * ldy;
        __m256 s8 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= d; i += 8) s8 = _mm256_add_ps(s8, _mm256_loadu_ps(xr + i));
        float s = hsum8(s8);
        for (; i < d; i++) s += xr[i];
        float mean = s * invD;
        __m256 m8 = _mm256_set1_ps(mean), q8 = _mm256_setzero_ps();
        for (i = 0; i + 8 <= d; i += 8) {
            __m256 t = _mm256_sub_ps(_mm256_loadu_ps(xr + i), m8);
            q8 = _mm256_fmadd_ps(t, t, q8);
        }
        float ss = hsum8(q8);
        for (; i < d; i++) ss += (xr[i] - mean) * (xr[i] - mean);
        float inv = 1.0f / sqrtf(ss * invD + eps);
        __m256 inv8 = _mm256_set1_ps(inv);
        for (i = 0; i + 8 <= d; i += 8) {
            __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), m8), inv8);
            _mm256_storeu_ps(yr + i, _mm256_fmadd_ps(t, _mm256_loadu_ps(gamma + i), _mm256_loadu_ps(beta + i)));
        }
        for (; i < d; i++) yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i];
    }
}

#endif
