// Self-test and throughput probe of the C kernel target (Sources/CParaformerKernels), without
// Swift: for machines where the Swift toolchain is absent, e.g. to check the AVX-512 VNNI
// variant on a CPU that has it. Every variant the CPU supports is compared bit for bit with the
// portable one (int8 products, activation quantisation) and to a tolerance (softmax, LayerNorm),
// on odd shapes; then each variant's int8 product is timed on encoder-sized shapes.
//
// Build and run (no -march: the kernels carry their own target attributes):
//   cc -O2 -ISources/CParaformerKernels/include Sources/CParaformerKernels/*.c
//      Tools/kernels_selftest.c -lm -o /tmp/kernels_selftest; /tmp/kernels_selftest
// Exit status 0 when every check passes.
#include "ParaformerKernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long lcg_state = 0x2545F4914F6CDD1DULL;
static float frand(void) {  // uniform in [-1, 1)
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((lcg_state >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// One int8 product y = x·Wᵀ (+bias, flags) with `variant`; returns malloc'ed y [rows, n].
static float *gemm(int variant, const float *x, int rows, int k, const int8_t *packed,
                   const int32_t *colsum, const float *wscale, int n, const float *bias,
                   int flags) {
    int ldq = pk_quantized_stride(k);
    uint8_t *q = calloc((size_t)rows * ldq, 1);
    float *sc = malloc(sizeof(float) * rows), *off = malloc(sizeof(float) * rows);
    int32_t *zero = malloc(sizeof(int32_t) * rows);
    float *y = malloc(sizeof(float) * (size_t)rows * n);
    for (int i = 0; i < rows * n; i++) y[i] = 0.25f;
    pk_quantize_rows(variant, x, rows, k, k, q, ldq, sc, zero, off);
    pk_gemm_u8s8(variant, q, ldq, sc, zero, off, rows, packed, colsum, wscale, k, 0, n, bias, y,
                 n, flags);
    free(q); free(sc); free(off); free(zero);
    return y;
}

static int check_gemm(int variant, int rows, int n, int k, int flags, int one_signed) {
    float *x = malloc(sizeof(float) * (size_t)rows * k);
    for (int i = 0; i < rows * k; i++) x[i] = one_signed ? 2.0f + frand() : 3.0f * frand();
    int8_t *w = malloc((size_t)n * k);
    for (int i = 0; i < n * k; i++) w[i] = (int8_t)lrintf(127.0f * frand());
    float *wscale = malloc(sizeof(float) * n), *bias = malloc(sizeof(float) * n);
    for (int j = 0; j < n; j++) { wscale[j] = 0.01f + 0.001f * j; bias[j] = frand(); }
    int8_t *packed = malloc(pk_s8_packed_size(n, k));
    int32_t *colsum = malloc(sizeof(int32_t) * ((n + PK_NR - 1) / PK_NR * PK_NR));
    pk_s8_pack(w, n, k, packed);
    pk_s8_column_sums(packed, n, k, colsum);
    float *ref = gemm(PK_VARIANT_PORTABLE, x, rows, k, packed, colsum, wscale, n, bias, flags);
    float *got = gemm(variant, x, rows, k, packed, colsum, wscale, n, bias, flags);
    int bad = memcmp(ref, got, sizeof(float) * (size_t)rows * n) != 0;
    // The portable result against a float64 product of the dequantised operands' source.
    double worst = 0, scale = 0;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++) {
            double s = bias[j];
            for (int i = 0; i < k; i++) s += (double)x[r * k + i] * w[j * k + i] * wscale[j];
            if (flags & PK_RELU) s = s > 0 ? s : 0;
            if (flags & PK_ACCUMULATE) s += 0.25;
            double d = fabs(s - ref[r * n + j]);
            if (d > worst) worst = d;
            if (fabs(s) > scale) scale = fabs(s);
        }
    int inaccurate = worst > 0.02 * scale;
    if (bad || inaccurate)
        printf("  FAIL gemm %s rows %d n %d k %d flags %d one-signed %d: %s, worst %.3g of %.3g\n",
               pk_variant_name(variant), rows, n, k, flags, one_signed,
               bad ? "differs from portable" : "bit-identical", worst, scale);
    free(x); free(w); free(wscale); free(bias); free(packed); free(colsum); free(ref); free(got);
    return bad || inaccurate;
}

static int check_rows(int variant, int rows, int d, int valid) {
    float *p = malloc(sizeof(float) * (size_t)rows * d), *a = malloc(sizeof(float) * (size_t)rows * d);
    float *b = malloc(sizeof(float) * (size_t)rows * d), *g = malloc(sizeof(float) * d);
    float *be = malloc(sizeof(float) * d);
    for (int i = 0; i < rows * d; i++) p[i] = 8.0f * frand();
    for (int j = 0; j < d; j++) { g[j] = 1.0f + frand(); be[j] = frand(); }
    int fails = 0;
    memcpy(a, p, sizeof(float) * rows * d);
    memcpy(b, p, sizeof(float) * rows * d);
    pk_softmax_rows(PK_VARIANT_PORTABLE, a, rows, d, d, valid);
    pk_softmax_rows(variant, b, rows, d, d, valid);
    for (int i = 0; i < rows * d; i++)
        if (fabsf(a[i] - b[i]) > 1e-6f * (fabsf(a[i]) + 1e-30f) + 1e-12f) { fails++; break; }
    pk_layer_norm_rows(PK_VARIANT_PORTABLE, p, rows, d, d, g, be, 1e-12f, a, d);
    pk_layer_norm_rows(variant, p, rows, d, d, g, be, 1e-12f, b, d);
    for (int i = 0; i < rows * d; i++)
        if (fabsf(a[i] - b[i]) > 1e-5f * (fabsf(a[i]) + 1.0f)) { fails++; break; }
    if (fails) printf("  FAIL row kernels %s rows %d d %d valid %d\n", pk_variant_name(variant), rows, d, valid);
    free(p); free(a); free(b); free(g); free(be);
    return fails != 0;
}

static void throughput(int variant, int rows, int n, int k) {
    float *x = malloc(sizeof(float) * (size_t)rows * k);
    for (int i = 0; i < rows * k; i++) x[i] = frand();
    int8_t *w = malloc((size_t)n * k);
    for (int i = 0; i < n * k; i++) w[i] = (int8_t)lrintf(127.0f * frand());
    float *wscale = malloc(sizeof(float) * n);
    for (int j = 0; j < n; j++) wscale[j] = 0.01f;
    int8_t *packed = malloc(pk_s8_packed_size(n, k));
    int32_t *colsum = malloc(sizeof(int32_t) * ((n + PK_NR - 1) / PK_NR * PK_NR));
    pk_s8_pack(w, n, k, packed);
    pk_s8_column_sums(packed, n, k, colsum);
    int ldq = pk_quantized_stride(k);
    uint8_t *q = calloc((size_t)rows * ldq, 1);
    float *sc = malloc(sizeof(float) * rows), *off = malloc(sizeof(float) * rows);
    int32_t *zero = malloc(sizeof(int32_t) * rows);
    float *y = malloc(sizeof(float) * (size_t)rows * n);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        pk_quantize_rows(variant, x, rows, k, k, q, ldq, sc, zero, off);
        pk_gemm_u8s8(variant, q, ldq, sc, zero, off, rows, packed, colsum, wscale, k, 0, n, NULL,
                     y, n, 0);
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("  %-12s [%4d x %4d] x [%4d x %4d]ᵀ  %7.1f GMAC/s (best of 5, one thread)\n",
           pk_variant_name(variant), rows, k, n, k, (double)rows * n * k / best * 1e-9);
    free(x); free(w); free(wscale); free(packed); free(colsum); free(q); free(sc); free(off);
    free(zero); free(y);
}

int main(void) {
    int variants[] = {PK_VARIANT_PORTABLE, PK_VARIANT_AVX2, PK_VARIANT_AVX512};
    int failures = 0;
    printf("best variant on this CPU: %s\n", pk_variant_name(pk_best_variant()));
    for (int vi = 0; vi < 3; vi++) {
        int v = variants[vi];
        if (!pk_variant_supported(v)) { printf("%s: not supported here, skipped\n", pk_variant_name(v)); continue; }
        int shapes[][3] = {{1, 1, 1}, {3, 17, 5}, {7, 33, 67}, {9, 48, 130}, {13, 100, 255}, {33, 512, 560}, {2, 16, 1024}};
        int before = failures;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int flags = 0; flags <= PK_RELU; flags++)
                for (int os = 0; os <= 1; os++)
                    failures += check_gemm(v, shapes[s][0], shapes[s][1], shapes[s][2], flags, os);
        int rowshapes[][3] = {{1, 1, 1}, {3, 15, 11}, {5, 64, 64}, {4, 513, 300}, {2, 40, 0}};
        for (size_t s = 0; s < sizeof rowshapes / sizeof rowshapes[0]; s++)
            failures += check_rows(v, rowshapes[s][0], rowshapes[s][1], rowshapes[s][2]);
        printf("%s: %s\n", pk_variant_name(v), failures == before ? "all checks pass (int8 bit-identical to portable)" : "FAILED");
    }
    printf("throughput:\n");
    for (int vi = 0; vi < 3; vi++) {
        int v = variants[vi];
        if (!pk_variant_supported(v)) continue;
        throughput(v, 167, 512, 512);
        throughput(v, 167, 2048, 512);
        throughput(v, 167, 512, 2048);
    }
    return failures ? 1 : 0;
}
