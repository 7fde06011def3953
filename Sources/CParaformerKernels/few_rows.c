// The few-rows product of a decoder step (ParaformerFewRows.h): portable and AVX2 + FMA (+ F16C)
// versions, chosen at run time like the other kernels.
#include "internal.h"
#include "ParaformerFewRows.h"

#include <math.h>

// MARK: - Shared pieces


/// The lanes' sum in the documented order.
static inline float pk_lanes_sum(const float *t) {
    return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
}

/// Adds the bias and writes (or accumulates, or rectifies) one output.
static inline void pk_rows_store(float s, const float *bias, int n, float *out, int flags) {
    if (bias) s += bias[n];
    if (flags & PK_ACCUMULATE) {
        *out += s;
    } else if (flags & PK_RELU) {
        *out = s < 0.0f ? 0.0f : s;
    } else {
        *out = s;
    }
}

typedef struct {
    const float *x;
    int rows;
    int ldx;
    const void *w;
    int ldw;
    int k;
    const float *bias;
    float *y;
    int ldy;
    int flags;
} pk_rows_args;

// MARK: - Portable

static inline float pk_w_portable(const void *w, size_t i, int f16) {
    return f16 ? pk_half_to_float(((const uint16_t *)w)[i]) : ((const float *)w)[i];
}

/// Column n for rows r0 ..< r0 + mr (mr ≤ PK_ROWS_GROUP).
static void pk_rows_column_portable(const pk_rows_args *a, int r0, int mr, int n, int f16) {
    float acc[PK_ROWS_GROUP][2][8];
    memset(acc, 0, sizeof acc);
    const int k = a->k;
    const size_t w0 = (size_t)n * a->ldw;
    int i = 0;
    for (; i + 8 <= k; i += 8) {
        // Blocks of 8 alternate between the two accumulators, the last odd one in the first.
        int half = (i / 8) % 2;
        float wv[8];
        for (int l = 0; l < 8; l++) wv[l] = pk_w_portable(a->w, w0 + i + l, f16);
        for (int r = 0; r < mr; r++) {
            const float *xr = a->x + (size_t)(r0 + r) * a->ldx + i;
            for (int l = 0; l < 8; l++) acc[r][half][l] = acc[r][half][l] + xr[l] * wv[l];
        }
    }
    for (int r = 0; r < mr; r++) {
        const float *xr = a->x + (size_t)(r0 + r) * a->ldx;
        float v[8];
        for (int l = 0; l < 8; l++) v[l] = acc[r][0][l] + acc[r][1][l];
        float s = pk_lanes_sum(v);
        for (int j = i; j < k; j++) s = s + xr[j] * pk_w_portable(a->w, w0 + j, f16);
        pk_rows_store(s, a->bias, n, a->y + (size_t)(r0 + r) * a->ldy + n, a->flags);
    }
}

static void pk_rows_portable(const pk_rows_args *a, int n_begin, int n_end, int f16) {
    for (int n = n_begin; n < n_end; n++) {
        for (int r0 = 0; r0 < a->rows; r0 += PK_ROWS_GROUP) {
            int mr = a->rows - r0 < PK_ROWS_GROUP ? a->rows - r0 : PK_ROWS_GROUP;
            pk_rows_column_portable(a, r0, mr, n, f16);
        }
    }
}

// MARK: - AVX2 + FMA + F16C

#if PK_X86
#include <immintrin.h>

#define PK_ROWS_AVX2 __attribute__((target("avx2,fma,f16c")))
#define PK_ROWS_AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

PK_ROWS_AVX2_INLINE __m256 pk_w8_avx2(const void *w, size_t i, int f16) {
    if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
    return _mm256_loadu_ps((const float *)w + i);
}

PK_ROWS_AVX2_INLINE float pk_w_avx2(const void *w, size_t i, int f16) {
    if (f16) return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(((const uint16_t *)w)[i])));
    return ((const float *)w)[i];
}

/// ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)), as `pk_lanes_sum`.
PK_ROWS_AVX2_INLINE float pk_hsum_avx2(__m256 v) {
    __m256 h = _mm256_hadd_ps(v, v);  // [l0+l1, l2+l3, ·, · | l4+l5, l6+l7, ·, ·]
    h = _mm256_hadd_ps(h, h);  // [(l0+l1)+(l2+l3), · | (l4+l5)+(l6+l7), ·]
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

/// The eight sums of v[0..8) in `pk_lanes_sum`'s order, as one vector.
PK_ROWS_AVX2_INLINE __m256 pk_hsum8x8_avx2(const __m256 *v) {
    __m256 h01 = _mm256_hadd_ps(v[0], v[1]);  // [0:01, 0:23, 1:01, 1:23 | 0:45, 0:67, 1:45, 1:67]
    __m256 h23 = _mm256_hadd_ps(v[2], v[3]);
    __m256 h45 = _mm256_hadd_ps(v[4], v[5]);
    __m256 h67 = _mm256_hadd_ps(v[6], v[7]);
    __m256 q0 = _mm256_hadd_ps(h01, h23);  // [0:0123, 1:0123, 2:0123, 3:0123 | 0:4567, …, 3:4567]
    __m256 q1 = _mm256_hadd_ps(h45, h67);
    return _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31));
}

/// Columns n ..< n + NC (NC = 8, or 1) for rows r0 ..< r0 + MR, one column at a time (the
/// weights stream in memory order); MR, NC, F16 are constants at every call (MR accumulators
/// in registers; NC = 8 reduces eight columns' accumulators together).
PK_ROWS_AVX2_INLINE void pk_rows_tile_avx2(const pk_rows_args *a, int r0, int n, const int MR, const int NC, const int F16) {
    __m256 sums[8][PK_ROWS_GROUP];
    const int k = a->k;
    const int k8 = k & ~7;
    const float *x = a->x + (size_t)r0 * a->ldx;
    const size_t ldx = (size_t)a->ldx;
    for (int c = 0; c < NC; c++) {
        // Two accumulators per row (blocks of 8 alternate), so that 2 · MR independent FMA
        // chains hide the FMA latency.
        __m256 acc0[PK_ROWS_GROUP], acc1[PK_ROWS_GROUP];
        for (int r = 0; r < MR; r++) acc0[r] = acc1[r] = _mm256_setzero_ps();
        const size_t w0 = (size_t)(n + c) * a->ldw;
        int i = 0;
        for (; i + 16 <= k8; i += 16) {
            __m256 wa = pk_w8_avx2(a->w, w0 + i, F16);
            __m256 wb = pk_w8_avx2(a->w, w0 + i + 8, F16);
            for (int r = 0; r < MR; r++) {
                acc0[r] = _mm256_fmadd_ps(_mm256_loadu_ps(x + r * ldx + i), wa, acc0[r]);
                acc1[r] = _mm256_fmadd_ps(_mm256_loadu_ps(x + r * ldx + i + 8), wb, acc1[r]);
            }
        }
        if (i < k8) {
            __m256 wa = pk_w8_avx2(a->w, w0 + i, F16);
            for (int r = 0; r < MR; r++) acc0[r] = _mm256_fmadd_ps(_mm256_loadu_ps(x + r * ldx + i), wa, acc0[r]);
        }
        for (int r = 0; r < MR; r++) sums[c][r] = _mm256_add_ps(acc0[r], acc1[r]);
    }
    const int flags = a->flags;
    for (int r = 0; r < MR; r++) {
        const float *xr = x + r * ldx;
        float *yr = a->y + (size_t)(r0 + r) * a->ldy + n;
        if (NC == 8 && k8 == k) {
            __m256 v[8];
            for (int c = 0; c < 8; c++) v[c] = sums[c][r];
            __m256 s = pk_hsum8x8_avx2(v);
            if (a->bias) s = _mm256_add_ps(s, _mm256_loadu_ps(a->bias + n));
            if (flags & PK_ACCUMULATE) {
                s = _mm256_add_ps(_mm256_loadu_ps(yr), s);
            } else if (flags & PK_RELU) {
                s = _mm256_max_ps(_mm256_setzero_ps(), s);  // (NaN stays NaN, as the scalar store)
            }
            _mm256_storeu_ps(yr, s);
        } else {
            for (int c = 0; c < NC; c++) {
                float s = pk_hsum_avx2(sums[c][r]);
                const size_t w0 = (size_t)(n + c) * a->ldw;
                for (int j = k8; j < k; j++) s = s + xr[j] * pk_w_avx2(a->w, w0 + j, F16);
                pk_rows_store(s, a->bias, n + c, yr + c, flags);
            }
        }
    }
}

#define PK_ROWS_CASE(MR)                                                                          \
    case MR:                                                                                      \
        if (nc == 8) {                                                                            \
            if (f16) pk_rows_tile_avx2(a, r0, n, MR, 8, 1);                                       \
            else pk_rows_tile_avx2(a, r0, n, MR, 8, 0);                                           \
        } else {                                                                                  \
            if (f16) pk_rows_tile_avx2(a, r0, n, MR, 1, 1);                                       \
            else pk_rows_tile_avx2(a, r0, n, MR, 1, 0);                                           \
        }                                                                                         \
        break;

PK_ROWS_AVX2 static void pk_rows_avx2(const pk_rows_args *a, int n_begin, int n_end, int f16) {
    for (int n = n_begin, nc = 1; n < n_end; n += nc) {
        nc = n + 8 <= n_end ? 8 : 1;
        for (int r0 = 0; r0 < a->rows; r0 += PK_ROWS_GROUP) {
            int mr = a->rows - r0 < PK_ROWS_GROUP ? a->rows - r0 : PK_ROWS_GROUP;
            switch (mr) {
                PK_ROWS_CASE(1)
                PK_ROWS_CASE(2)
                PK_ROWS_CASE(3)
                PK_ROWS_CASE(4)
                PK_ROWS_CASE(5)
                PK_ROWS_CASE(6)
            default: break;
            }
        }
    }
}
#undef PK_ROWS_CASE

static int pk_f16c_supported(void) {
#if defined(__clang__) || defined(__GNUC__)
    static int cached = 0;  // 1: no, 2: yes (relaxed atomics, as pk_best_variant)
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v == 0) {
        v = __builtin_cpu_supports("f16c") ? 2 : 1;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v == 2;
#else
    return 0;
#endif
}
#endif

// MARK: - Entry

void pk_rows_linear(
    int variant, const float *x, int rows, int ldx, const void *w, int wtype, int ldw, int k, int n_begin,
    int n_end, const float *bias, float *y, int ldy, int flags) {
    if (rows <= 0 || n_end <= n_begin || k < 0) return;
    pk_rows_args a = {x, rows, ldx, w, ldw, k, bias, y, ldy, flags};
    int f16 = wtype == PK_WEIGHT_F16;
    variant = pk_resolve_variant(variant);
#if PK_X86
    if (variant >= PK_VARIANT_AVX2 && (!f16 || pk_f16c_supported())) {
        pk_rows_avx2(&a, n_begin, n_end, f16);
        return;
    }
#endif
    pk_rows_portable(&a, n_begin, n_end, f16);
}
