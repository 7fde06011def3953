// fp32 products on prepacked weights, and FSMN-VAD's causal depthwise memory.
//
// The product accumulates every output in one FMA chain over k, in order, and adds what the
// epilogue adds afterwards, exactly as OpenBLAS's sgemm does for a reduction inside one of its
// K blocks when C holds the bias (beta 1): so for such shapes the result equals the
// `cblas_sgemm` path bit for bit, and every variant here equals every other (the portable
// loop uses fmaf, the AVX2 one vfmadd).
#include "internal.h"

#include <math.h>

#ifdef __clang__
#pragma clang fp contract(off)
#endif

/// Rows per micro-kernel tile.
#define PK_F32_MR 6
/// Weight bytes per column block: a block of panels stays in L2 while all rows pass over it.
#define PK_F32_BLOCK_BYTES (192 * 1024)

// MARK: - Packing

size_t pk_f32_packed_count(int n, int k) {
    if (n <= 0 || k <= 0) return 0;
    return (size_t)((n + PK_NR - 1) / PK_NR) * PK_NR * (size_t)k;
}

void pk_f32_pack(const float *w, int n, int k, int transposed, float *packed) {
    int panels = (n + PK_NR - 1) / PK_NR;
    for (int p = 0; p < panels; p++) {
        float *dst = packed + (size_t)p * PK_NR * k;
        for (int kk = 0; kk < k; kk++) {
            for (int j = 0; j < PK_NR; j++) {
                int c = p * PK_NR + j;
                float v = 0;
                if (c < n) v = transposed ? w[(size_t)kk * n + c] : w[(size_t)c * k + kk];
                dst[(size_t)kk * PK_NR + j] = v;
            }
        }
    }
}

// MARK: - Epilogue (shared by every variant: the same operations in the same order)

/// Writes `mr` rows × `nc` columns of one tile from acc[i * PK_NR + j].
static void epilogue_f32(const float *acc, int mr, int nc, const float *bias, float *y, int ldy, int flags) {
    for (int i = 0; i < mr; i++) {
        float *out = y + (size_t)i * ldy;
        for (int j = 0; j < nc; j++) {
            float v = acc[i * PK_NR + j];
            if (flags & PK_ACCUMULATE) v = out[j] + v;
            if (bias) v = v + bias[j];
            if ((flags & PK_RELU) && !(v > 0)) v = v != v ? v : 0;
            out[j] = v;
        }
    }
}

// MARK: - Portable

static void tile_portable(const float *const *rows, int k, const float *panel, float *acc) {
    for (int i = 0; i < PK_F32_MR * PK_NR; i++) acc[i] = 0;
    for (int kk = 0; kk < k; kk++) {
        const float *w = panel + (size_t)kk * PK_NR;
        for (int i = 0; i < PK_F32_MR; i++) {
            float a = rows[i][kk];
            for (int j = 0; j < PK_NR; j++) acc[i * PK_NR + j] = fmaf(a, w[j], acc[i * PK_NR + j]);
        }
    }
}

#if PK_X86
#include <immintrin.h>

#define PK_AVX2_F32 __attribute__((target("avx2,fma")))

/// One 6 × 16 tile: twelve accumulators, one FMA chain per output over k.
PK_AVX2_F32 static void tile_avx2(const float *const *rows, int k, const float *panel, float *acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
           c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
           c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
           c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    const float *x0 = rows[0], *x1 = rows[1], *x2 = rows[2], *x3 = rows[3], *x4 = rows[4], *x5 = rows[5];
    for (int kk = 0; kk < k; kk++) {
        __m256 w0 = _mm256_loadu_ps(panel + (size_t)kk * PK_NR);
        __m256 w1 = _mm256_loadu_ps(panel + (size_t)kk * PK_NR + 8);
        __m256 a;
        a = _mm256_broadcast_ss(x0 + kk); c00 = _mm256_fmadd_ps(a, w0, c00); c01 = _mm256_fmadd_ps(a, w1, c01);
        a = _mm256_broadcast_ss(x1 + kk); c10 = _mm256_fmadd_ps(a, w0, c10); c11 = _mm256_fmadd_ps(a, w1, c11);
        a = _mm256_broadcast_ss(x2 + kk); c20 = _mm256_fmadd_ps(a, w0, c20); c21 = _mm256_fmadd_ps(a, w1, c21);
        a = _mm256_broadcast_ss(x3 + kk); c30 = _mm256_fmadd_ps(a, w0, c30); c31 = _mm256_fmadd_ps(a, w1, c31);
        a = _mm256_broadcast_ss(x4 + kk); c40 = _mm256_fmadd_ps(a, w0, c40); c41 = _mm256_fmadd_ps(a, w1, c41);
        a = _mm256_broadcast_ss(x5 + kk); c50 = _mm256_fmadd_ps(a, w0, c50); c51 = _mm256_fmadd_ps(a, w1, c51);
    }
    _mm256_storeu_ps(acc + 0, c00); _mm256_storeu_ps(acc + 8, c01);
    _mm256_storeu_ps(acc + 16, c10); _mm256_storeu_ps(acc + 24, c11);
    _mm256_storeu_ps(acc + 32, c20); _mm256_storeu_ps(acc + 40, c21);
    _mm256_storeu_ps(acc + 48, c30); _mm256_storeu_ps(acc + 56, c31);
    _mm256_storeu_ps(acc + 64, c40); _mm256_storeu_ps(acc + 72, c41);
    _mm256_storeu_ps(acc + 80, c50); _mm256_storeu_ps(acc + 88, c51);
}

/// The epilogue of a whole 6 × 16 tile at AVX2 width (the operations of `epilogue_f32`).
PK_AVX2_F32 static void epilogue_full_avx2(const float *acc, const float *bias, float *y, int ldy, int flags) {
    __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    __m256 zero = _mm256_setzero_ps();
    for (int i = 0; i < PK_F32_MR; i++) {
        float *out = y + (size_t)i * ldy;
        __m256 v0 = _mm256_loadu_ps(acc + i * PK_NR), v1 = _mm256_loadu_ps(acc + i * PK_NR + 8);
        if (flags & PK_ACCUMULATE) {
            v0 = _mm256_add_ps(_mm256_loadu_ps(out), v0);
            v1 = _mm256_add_ps(_mm256_loadu_ps(out + 8), v1);
        }
        if (bias) {
            v0 = _mm256_add_ps(v0, b0);
            v1 = _mm256_add_ps(v1, b1);
        }
        if (flags & PK_RELU) {
            // v where v > 0 or v is NaN, else +0 (the portable rule).
            v0 = _mm256_and_ps(v0, _mm256_or_ps(_mm256_cmp_ps(v0, zero, _CMP_GT_OQ), _mm256_cmp_ps(v0, v0, _CMP_UNORD_Q)));
            v1 = _mm256_and_ps(v1, _mm256_or_ps(_mm256_cmp_ps(v1, zero, _CMP_GT_OQ), _mm256_cmp_ps(v1, v1, _CMP_UNORD_Q)));
        }
        _mm256_storeu_ps(out, v0);
        _mm256_storeu_ps(out + 8, v1);
    }
}
#endif

// MARK: - Driver

typedef void (*tile_fn)(const float *const *rows, int k, const float *panel, float *acc);

void pk_sgemm_packed(
    int variant, const float *x, int rows, int k, int ldx, const float *packed, int n, int col_begin,
    int col_end, const float *bias, float *y, int ldy, int flags) {
    if (rows <= 0 || k <= 0 || col_end <= col_begin) return;
    if (col_end > n) col_end = n;
    int v = pk_resolve_variant(variant);
    tile_fn tile = tile_portable;
#if PK_X86
    if (v >= PK_VARIANT_AVX2) tile = tile_avx2;
#endif
    size_t panel_floats = (size_t)PK_NR * k;
    int block_panels = (int)(PK_F32_BLOCK_BYTES / (panel_floats * sizeof(float)));
    if (block_panels < 1) block_panels = 1;
    int first = col_begin / PK_NR, last = (col_end + PK_NR - 1) / PK_NR;
    float acc[PK_F32_MR * PK_NR];
    for (int pb = first; pb < last; pb += block_panels) {
        int pe = pb + block_panels < last ? pb + block_panels : last;
        for (int r0 = 0; r0 < rows; r0 += PK_F32_MR) {
            int mr = rows - r0 < PK_F32_MR ? rows - r0 : PK_F32_MR;
            const float *rp[PK_F32_MR];
            for (int i = 0; i < PK_F32_MR; i++) rp[i] = x + (size_t)(r0 + (i < mr ? i : mr - 1)) * ldx;
            for (int p = pb; p < pe; p++) {
                int n0 = p * PK_NR;
                int nc = col_end - n0 < PK_NR ? col_end - n0 : PK_NR;
                tile(rp, k, packed + (size_t)p * panel_floats, acc);
                float *out = y + (size_t)r0 * ldy + n0;
                const float *b = bias ? bias + n0 : NULL;
#if PK_X86
                if (v >= PK_VARIANT_AVX2 && mr == PK_F32_MR && nc == PK_NR) {
                    epilogue_full_avx2(acc, b, out, ldy, flags);
                    continue;
                }
#endif
                epilogue_f32(acc, mr, nc, b, out, ldy, flags);
            }
        }
    }
}

// MARK: - FSMN memory

/// Row `src` of the virtual concatenation [history (past rows); proj].
static inline const float *fsmn_row(const float *history, int past, const float *proj, int channels, int src) {
    return src < past ? history + (size_t)src * channels : proj + (size_t)(src - past) * channels;
}

#if PK_X86
/// Four 8-channel accumulators side by side (four independent chains of adds over the taps),
/// the taps' source rows looked up once per frame.
PK_AVX2_F32 static void fsmn_memory_avx2(
    const float *history, int past, const float *proj, int frames, int channels, const float *taps, int lorder,
    int lstride, float *out) {
    enum { MAX_TAPS = 64 };
    const float *rows[MAX_TAPS];
    for (int t = 0; t < frames; t++) {
        float *o = out + (size_t)t * channels;
        const float *pt = proj + (size_t)t * channels;
        for (int kk = 0; kk < lorder; kk++) {
            rows[kk] = fsmn_row(history, past, proj, channels, t + kk * lstride);
        }
        int c = 0;
        for (; c + 32 <= channels; c += 32) {
            __m256 m0 = _mm256_loadu_ps(pt + c), m1 = _mm256_loadu_ps(pt + c + 8);
            __m256 m2 = _mm256_loadu_ps(pt + c + 16), m3 = _mm256_loadu_ps(pt + c + 24);
            for (int kk = 0; kk < lorder; kk++) {
                const float *w = taps + (size_t)kk * channels + c, *r = rows[kk] + c;
                m0 = _mm256_add_ps(m0, _mm256_mul_ps(_mm256_loadu_ps(w), _mm256_loadu_ps(r)));
                m1 = _mm256_add_ps(m1, _mm256_mul_ps(_mm256_loadu_ps(w + 8), _mm256_loadu_ps(r + 8)));
                m2 = _mm256_add_ps(m2, _mm256_mul_ps(_mm256_loadu_ps(w + 16), _mm256_loadu_ps(r + 16)));
                m3 = _mm256_add_ps(m3, _mm256_mul_ps(_mm256_loadu_ps(w + 24), _mm256_loadu_ps(r + 24)));
            }
            _mm256_storeu_ps(o + c, m0);
            _mm256_storeu_ps(o + c + 8, m1);
            _mm256_storeu_ps(o + c + 16, m2);
            _mm256_storeu_ps(o + c + 24, m3);
        }
        for (; c + 8 <= channels; c += 8) {
            __m256 m = _mm256_loadu_ps(pt + c);
            for (int kk = 0; kk < lorder; kk++) {
                m = _mm256_add_ps(m, _mm256_mul_ps(_mm256_loadu_ps(taps + (size_t)kk * channels + c), _mm256_loadu_ps(rows[kk] + c)));
            }
            _mm256_storeu_ps(o + c, m);
        }
        for (; c < channels; c++) {
            float m = pt[c];
            for (int kk = 0; kk < lorder; kk++) m = m + taps[(size_t)kk * channels + c] * rows[kk][c];
            o[c] = m;
        }
    }
}
#endif

void pk_fsmn_memory(
    int variant, const float *history, int past, const float *proj, int frames, int channels, const float *taps,
    int lorder, int lstride, float *out) {
    if (frames <= 0 || channels <= 0) return;
#if PK_X86
    int v = pk_resolve_variant(variant);
    if (v >= PK_VARIANT_AVX2 && lorder <= 64) {
        fsmn_memory_avx2(history, past, proj, frames, channels, taps, lorder, lstride, out);
        return;
    }
#else
    (void)variant;
#endif
    for (int t = 0; t < frames; t++) {
        float *o = out + (size_t)t * channels;
        const float *pt = proj + (size_t)t * channels;
        for (int c = 0; c < channels; c++) o[c] = pt[c];
        for (int kk = 0; kk < lorder; kk++) {
            const float *s = fsmn_row(history, past, proj, channels, t + kk * lstride);
            const float *w = taps + (size_t)kk * channels;
            for (int c = 0; c < channels; c++) o[c] = o[c] + w[c] * s[c];
        }
    }
}

// MARK: - Half-precision widening

#if PK_X86
__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = pk_half_to_float(src[i]);
}
#endif

void pk_f16_to_f32(int variant, const uint16_t *src, float *dst, size_t n) {
#if PK_X86 && (defined(__clang__) || defined(__GNUC__))
    if (variant != PK_VARIANT_PORTABLE && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx")) {
        f16_to_f32_f16c(src, dst, n);
        return;
    }
#else
    (void)variant;
#endif
    for (size_t i = 0; i < n; i++) dst[i] = pk_half_to_float(src[i]);
}
