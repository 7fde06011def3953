// The few-rows product of a decoder step (ParaformerFewRows.h): portable and AVX2 + FMA (+ F16C)
// versions, chosen at run time like the other kernels.
#include "internal.h"
#include "ParaformerFewRows.h"

#include <math.h>

// MARK: - Shared pieces

/// The float an IEEE half stands for (exact: every half is a float).
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

/// The lanes' sum in the documented order.
static inline float pk_lanes_sum(const float *t) {
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
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

/// Columns n ..< n + nc (nc ≤ 2) for rows r0 ..< r0 + mr (mr ≤ PK_ROWS_GROUP).
static void pk_rows_tile_portable(const pk_rows_args *a, int r0, int mr, int n, int nc, int f16) {
    float acc[PK_ROWS_GROUP][2][8];
    memset(acc, 0, sizeof acc);
    const int k = a->k;
    int i = 0;
    for (; i + 8 <= k; i += 8) {
        float wv[2][8];
        for (int c = 0; c < nc; c++) {
            for (int l = 0; l < 8; l++) wv[c][l] = pk_w_portable(a->w, (size_t)(n + c) * a->ldw + i + l, f16);
        }
        for (int r = 0; r < mr; r++) {
            const float *xr = a->x + (size_t)(r0 + r) * a->ldx + i;
            for (int c = 0; c < nc; c++) {
                for (int l = 0; l < 8; l++) acc[r][c][l] = acc[r][c][l] + xr[l] * wv[c][l];
            }
        }
    }
    for (int r = 0; r < mr; r++) {
        const float *xr = a->x + (size_t)(r0 + r) * a->ldx;
        for (int c = 0; c < nc; c++) {
            float s = pk_lanes_sum(acc[r][c]);
            for (int j = i; j < k; j++) s = s + xr[j] * pk_w_portable(a->w, (size_t)(n + c) * a->ldw + j, f16);
            pk_rows_store(s, a->bias, n + c, a->y + (size_t)(r0 + r) * a->ldy + n + c, a->flags);
        }
    }
}

static void pk_rows_portable(const pk_rows_args *a, int n_begin, int n_end, int f16) {
    for (int n = n_begin; n < n_end; n += 2) {
        int nc = n + 2 <= n_end ? 2 : 1;
        for (int r0 = 0; r0 < a->rows; r0 += PK_ROWS_GROUP) {
            int mr = a->rows - r0 < PK_ROWS_GROUP ? a->rows - r0 : PK_ROWS_GROUP;
            pk_rows_tile_portable(a, r0, mr, n, nc, f16);
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

/// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), as `pk_lanes_sum`.
PK_ROWS_AVX2_INLINE float pk_hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/// Columns n ..< n + NC for rows r0 ..< r0 + MR; MR, NC, F16 are constants at every call
/// (the accumulators stay in registers: MR · NC + 3 ≤ 16).
PK_ROWS_AVX2_INLINE void pk_rows_tile_avx2(const pk_rows_args *a, int r0, int n, const int MR, const int NC, const int F16) {
    __m256 acc[PK_ROWS_GROUP][2];
    for (int r = 0; r < MR; r++) {
        for (int c = 0; c < NC; c++) acc[r][c] = _mm256_setzero_ps();
    }
    const int k = a->k;
    const float *x = a->x + (size_t)r0 * a->ldx;
    const size_t ldx = (size_t)a->ldx;
    const size_t w0 = (size_t)n * a->ldw;
    const size_t w1 = w0 + (size_t)a->ldw;
    int i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 wa = pk_w8_avx2(a->w, w0 + i, F16);
        __m256 wb = NC > 1 ? pk_w8_avx2(a->w, w1 + i, F16) : wa;
        for (int r = 0; r < MR; r++) {
            __m256 xv = _mm256_loadu_ps(x + r * ldx + i);
            acc[r][0] = _mm256_fmadd_ps(xv, wa, acc[r][0]);
            if (NC > 1) acc[r][1] = _mm256_fmadd_ps(xv, wb, acc[r][1]);
        }
    }
    for (int r = 0; r < MR; r++) {
        const float *xr = x + r * ldx;
        for (int c = 0; c < NC; c++) {
            float s = pk_hsum_avx2(acc[r][c]);
            for (int j = i; j < k; j++) s = s + xr[j] * pk_w_avx2(a->w, (c ? w1 : w0) + j, F16);
            pk_rows_store(s, a->bias, n + c, a->y + (size_t)(r0 + r) * a->ldy + n + c, a->flags);
        }
    }
}

#define PK_ROWS_CASE(MR)                                                                          \
    case MR:                                                                                      \
        if (nc == 2) {                                                                            \
            if (f16) pk_rows_tile_avx2(a, r0, n, MR, 2, 1);                                       \
            else pk_rows_tile_avx2(a, r0, n, MR, 2, 0);                                           \
        } else {                                                                                  \
            if (f16) pk_rows_tile_avx2(a, r0, n, MR, 1, 1);                                       \
            else pk_rows_tile_avx2(a, r0, n, MR, 1, 0);                                           \
        }                                                                                         \
        break;

PK_ROWS_AVX2 static void pk_rows_avx2(const pk_rows_args *a, int n_begin, int n_end, int f16) {
    for (int n = n_begin; n < n_end; n += 2) {
        int nc = n + 2 <= n_end ? 2 : 1;
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
    if (variant == PK_VARIANT_AUTO || !pk_variant_supported(variant)) variant = pk_best_variant();
#if PK_X86
    if (variant >= PK_VARIANT_AVX2 && (!f16 || pk_f16c_supported())) {
        pk_rows_avx2(&a, n_begin, n_end, f16);
        return;
    }
#endif
    pk_rows_portable(&a, n_begin, n_end, f16);
}
