// One UniASR decoder step's products through pk_rows_linear, on the released size's shapes
// (10.6 M weights), fp32 and f16, timed in thread CPU time: ms per step and the weight bytes
// streamed per second, against a plain read of the same bytes (the bandwidth floor).
//
//   K=Sources/CParaformerKernels
//   clang -O2 -I$K/include -I$K Tools/bench_few_rows.c $K/*.c -o /tmp/bench_few_rows -lm
// (clang, as SwiftPM builds the kernels: GCC 12's build of the f16 path runs ~1.7× slower.)
//   /tmp/bench_few_rows [ROWS=5] [VARIANT=0 (auto) | 1 (portable) | 2 (avx2)]
#include "ParaformerFewRows.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { int n, k; } shape;

int main(int argc, char **argv) {
    int rows = argc > 1 ? atoi(argv[1]) : 5;
    int variant = argc > 2 ? atoi(argv[2]) : PK_VARIANT_AUTO;
    if (rows < 1 || rows > 64) return 1;
    // embed_concat_ffn (w_1 [1024, 576], w_2 [256, 1024]); 13 layers' FFN (w_1 [1024, 256],
    // w_2 [256, 1024]); 6 cross-attention q and out [256, 256]; output_layer [8358, 256].
    shape s[64];
    int ns = 0;
    s[ns++] = (shape){1024, 576};
    s[ns++] = (shape){256, 1024};
    for (int l = 0; l < 13; l++) {
        s[ns++] = (shape){1024, 256};
        s[ns++] = (shape){256, 1024};
        if (l < 6) {
            s[ns++] = (shape){256, 256};
            s[ns++] = (shape){256, 256};
        }
    }
    s[ns++] = (shape){8358, 256};
    size_t total = 0;
    for (int i = 0; i < ns; i++) total += (size_t)s[i].n * s[i].k;
    float *x = malloc(sizeof(float) * rows * 8358), *y = malloc(sizeof(float) * rows * 8358);
    for (int i = 0; i < rows * 8358; i++) x[i] = 0.001f * (i % 7);
    for (int f16 = 0; f16 < 2; f16++) {
        void *w[64];
        for (int i = 0; i < ns; i++) {
            size_t c = (size_t)s[i].n * s[i].k;
            w[i] = malloc(c * 4);
            for (size_t j = 0; j < c; j++) {
                if (f16) ((unsigned short *)w[i])[j] = (unsigned short)(0x2c00 + (j % 997));
                else ((float *)w[i])[j] = (float)(j % 13) * 0.01f;
            }
        }
        double best = 1e9, best_read = 1e9;
        for (int r = 0; r < 20; r++) {
            double t = cpu_now();
            for (int i = 0; i < ns; i++) {
                pk_rows_linear(
                    variant, x, rows, s[i].k, w[i], f16 ? PK_WEIGHT_F16 : PK_WEIGHT_F32, s[i].k, s[i].k, 0,
                    s[i].n, NULL, y, s[i].n, 0);
            }
            t = cpu_now() - t;
            best = t < best ? t : best;
            // The floor: the same bytes read as fast as a plain loop reads them.
            t = cpu_now();
            unsigned long long sum = 0;
            for (int i = 0; i < ns; i++) {
                const unsigned long long *p = w[i];
                size_t words = (size_t)s[i].n * s[i].k * (f16 ? 2 : 4) / 8;
                for (size_t j = 0; j < words; j += 4) sum += p[j] ^ p[j + 1] ^ p[j + 2] ^ p[j + 3];
            }
            t = cpu_now() - t;
            if (sum == 42) printf(" ");
            best_read = t < best_read ? t : best_read;
        }
        double bytes = (double)total * (f16 ? 2 : 4);
        printf(
            "%s, %d rows: %.1f M weights, %.1f MB: step %.2f ms (%.1f GB/s); plain read %.2f ms (%.1f GB/s)\n",
            f16 ? "f16" : "f32", rows, total / 1e6, bytes / 1e6, best * 1e3, bytes / best / 1e9, best_read * 1e3,
            bytes / best_read / 1e9);
        for (int i = 0; i < ns; i++) free(w[i]);
    }
    free(x);
    free(y);
    return 0;
}
