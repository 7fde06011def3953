// AVX-512 (F, BW, VL) + VNNI versions (x86-64: Ice Lake, Zen 4 and later). Each function carries
// its own target attribute, so this file builds without any -m flag and runs only where
// `pk_variant_supported` says so.
#include "internal.h"

#if PK_X86
#include <immintrin.h>
#include <math.h>

#define PK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#define PK_AVX512_INLINE __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma"), always_inline)) static inline

// MARK: - Activation quantisation

/// Sixteen codes: round(x · inv) + zero clamped to [1, 255] (the portable arithmetic).
PK_AVX512_INLINE __m128i codes16(const float *x, __m512 off, __m512 inv, __m512i zero) {
    __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x), off), inv);
    t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(-256.0f)), _mm512_set1_ps(256.0f));
    __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(t), zero);
    v = _mm512_min_epi32(_mm512_max_epi32(v, _mm512_set1_epi32(1)), _mm512_set1_epi32(255));
    return _mm512_cvtepi32_epi8(v);
}

PK_AVX512 void pk_quantize_rows_avx512(
    const float *x, int rows, int k, int ldx, uint8_t *q, int ldq, float *scale, int32_t *zero, float *offset) {
    int kp = (k + PK_KG - 1) / PK_KG * PK_KG;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        __m512 lo16 = _mm512_set1_ps(xr[0]), hi16 = lo16;
        int i = 0;
        for (; i + 16 <= k; i += 16) {
            __m512 v = _mm512_loadu_ps(xr + i);
            lo16 = _mm512_min_ps(lo16, v);
            hi16 = _mm512_max_ps(hi16, v);
        }
        float lo = _mm512_reduce_min_ps(lo16), hi = _mm512_reduce_max_ps(hi16);
        for (; i < k; i++) {
            lo = xr[i] < lo ? xr[i] : lo;
            hi = xr[i] > hi ? xr[i] : hi;
        }
        float inv;
        pk_quantize_range(lo, hi, &scale[r], &inv, &zero[r], &offset[r]);
        uint8_t *qr = q + (size_t)r * ldq;
        __m512 inv16 = _mm512_set1_ps(inv);
        __m512i z16 = _mm512_set1_epi32(zero[r]);
        __m512 o16 = _mm512_set1_ps(offset[r]);
        for (i = 0; i + 16 <= k; i += 16) _mm_storeu_si128((__m128i *)(qr + i), codes16(xr + i, o16, inv16, z16));
        pk_quantize_row_codes_portable(xr, i, k, offset[r], inv, zero[r], qr);
        for (i = k; i < kp; i++) qr[i] = 0;
    }
}

// MARK: - Product

/// MR rows × 16 columns of int32 sums over all K for one panel: per group of 4, each row's 4
/// codes are broadcast and `vpdpbusd` adds the four u8 · s8 products of each column into its
/// int32 lane.
PK_AVX512_INLINE void kernel_avx512(
    const uint8_t *q, int ldq, const int8_t *panel, int groups, int mr, __m512i acc[8]) {
    for (int i = 0; i < 8; i++) acc[i] = _mm512_setzero_si512();
    for (int g = 0; g < groups; g++) {
        __m512i w = _mm512_loadu_si512((const void *)(panel + 64 * g));
        for (int i = 0; i < mr; i++) {
            __m512i x = _mm512_set1_epi32(pk_load_i32(q + (size_t)i * ldq + 4 * g));
            acc[i] = _mm512_dpbusd_epi32(acc[i], x, w);
        }
    }
}

/// One row of 16 outputs from int32 sums (the portable epilogue's arithmetic, vectorised).
PK_AVX512_INLINE void epilogue16(const pk_gemm_args *a, int r, int n, __m512i acc) {
    __m512i zc = _mm512_mullo_epi32(_mm512_set1_epi32(a->a_zero[r]), _mm512_loadu_si512((const void *)(a->colsum + n)));
    __m512 s = _mm512_mul_ps(_mm512_set1_ps(a->a_scale[r]), _mm512_loadu_ps(a->w_scale + n));
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc, zc)), s);
    float off = a->a_offset[r];
    if (off != 0) {
        __m512 cw = _mm512_mul_ps(_mm512_loadu_ps(a->w_scale + n),
                                  _mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)(a->colsum + n))));
        v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_set1_ps(off), cw));
    }
    if (a->bias) v = _mm512_add_ps(v, _mm512_loadu_ps(a->bias + n));
    float *y = a->y + (size_t)r * a->ldy + n;
    if (a->flags & PK_ACCUMULATE) {
        v = _mm512_add_ps(_mm512_loadu_ps(y), v);
    } else if (a->flags & PK_RELU) {
        v = _mm512_max_ps(v, _mm512_setzero_ps());
    }
    _mm512_storeu_ps(y, v);
}

PK_AVX512_INLINE void tile_avx512(
    const pk_gemm_args *a, const int8_t *panel, int groups, int r0, int mr, int n0, int nc) {
    __m512i acc[8];
    kernel_avx512(a->q + (size_t)r0 * a->ldq, a->ldq, panel, groups, mr, acc);
    if (nc == PK_NR) {
        for (int i = 0; i < mr; i++) epilogue16(a, r0 + i, n0, acc[i]);
    } else {
        int32_t tile[8 * PK_NR];
        for (int i = 0; i < mr; i++) _mm512_storeu_si512((void *)(tile + i * PK_NR), acc[i]);
        pk_epilogue_portable(a, r0, mr, n0, nc, tile);
    }
}

PK_AVX512 void pk_gemm_avx512(const pk_gemm_args *a, int col_begin, int col_end) {
    int groups = (a->k + PK_KG - 1) / PK_KG;
    for (int n0 = col_begin; n0 < col_end; n0 += PK_NR) {
        const int8_t *panel = a->packed + (size_t)(n0 / PK_NR) * groups * PK_NR * PK_KG;
        int nc = col_end - n0 < PK_NR ? col_end - n0 : PK_NR;
        int r0 = 0;
        for (; r0 + 8 <= a->rows; r0 += 8) tile_avx512(a, panel, groups, r0, 8, n0, nc);
        switch (a->rows - r0) {
        case 7: tile_avx512(a, panel, groups, r0, 7, n0, nc); break;
        case 6: tile_avx512(a, panel, groups, r0, 6, n0, nc); break;
        case 5: tile_avx512(a, panel, groups, r0, 5, n0, nc); break;
        case 4: tile_avx512(a, panel, groups, r0, 4, n0, nc); break;
        case 3: tile_avx512(a, panel, groups, r0, 3, n0, nc); break;
        case 2: tile_avx512(a, panel, groups, r0, 2, n0, nc); break;
        case 1: tile_avx512(a, panel, groups, r0, 1, n0, nc); break;
        default: break;
        }
    }
}

// MARK: - Row kernels

/// e^x, 16 lanes (the AVX2 version's method and constants).
PK_AVX512_INLINE __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.37626f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

PK_AVX512 void pk_softmax_rows_avx512(float *p, int rows, int n, int ld, int valid) {
    int v = valid < n ? valid : n;
    for (int r = 0; r < rows; r++) {
        float *row = p + (size_t)r * ld;
        if (v <= 0) {
            memset(row, 0, sizeof(float) * (size_t)n);
            continue;
        }
        int i = 0;
        float m = row[0];
        if (v >= 16) {
            __m512 m16 = _mm512_loadu_ps(row);
            for (i = 16; i + 16 <= v; i += 16) m16 = _mm512_max_ps(m16, _mm512_loadu_ps(row + i));
            m = _mm512_reduce_max_ps(m16);
        }
        for (; i < v; i++) m = row[i] > m ? row[i] : m;
        __m512 shift = _mm512_set1_ps(m), s16 = _mm512_setzero_ps();
        for (i = 0; i + 16 <= v; i += 16) {
            __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row + i), shift));
            _mm512_storeu_ps(row + i, e);
            s16 = _mm512_add_ps(s16, e);
        }
        float s = _mm512_reduce_add_ps(s16);
        for (; i < v; i++) {
            row[i] = expf(row[i] - m);
            s += row[i];
        }
        __m512 inv = _mm512_set1_ps(1.0f / s);
        for (i = 0; i + 16 <= v; i += 16) _mm512_storeu_ps(row + i, _mm512_mul_ps(_mm512_loadu_ps(row + i), inv));
        for (; i < v; i++) row[i] *= 1.0f / s;
        for (i = v; i < n; i++) row[i] = 0;
    }
}

PK_AVX512 void pk_layer_norm_rows_avx512(
    const float *x, int rows, int d, int ldx, const float *gamma, const float *beta, float eps,
    float *y, int ldy) {
    float invD = 1.0f / (float)d;
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * ldx;
        float *yr = y + (size_t)r * ldy;
        __m512 s16 = _mm512_setzero_ps();
        int i = 0;
        for (; i + 16 <= d; i += 16) s16 = _mm512_add_ps(s16, _mm512_loadu_ps(xr + i));
        float s = _mm512_reduce_add_ps(s16);
        for (; i < d; i++) s += xr[i];
        float mean = s * invD;
        __m512 m16 = _mm512_set1_ps(mean), q16 = _mm512_setzero_ps();
        for (i = 0; i + 16 <= d; i += 16) {
            __m512 t = _mm512_sub_ps(_mm512_loadu_ps(xr + i), m16);
            q16 = _mm512_fmadd_ps(t, t, q16);
        }
        float ss = _mm512_reduce_add_ps(q16);
        for (; i < d; i++) ss += (xr[i] - mean) * (xr[i] - mean);
        float inv = 1.0f / sqrtf(ss * invD + eps);
        __m512 inv16 = _mm512_set1_ps(inv);
        for (i = 0; i + 16 <= d; i += 16) {
            __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(xr + i), m16), inv16);
            _mm512_storeu_ps(yr + i, _mm512_fmadd_ps(t, _mm512_loadu_ps(gamma + i), _mm512_loadu_ps(beta + i)));
        }
        for (; i < d; i++) yr[i] = (xr[i] - mean) * inv * gamma[i] + beta[i];
    }
}

#endif
