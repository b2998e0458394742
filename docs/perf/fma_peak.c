// One core's single-precision FMA peak, the hardware's ceiling on any GEMM: twelve
// independent chains of 512-bit (or, built with -DYMM, 256-bit) FMAs, enough to cover the
// FMA latency on the CPUs seen here, timed five times.
//
//   gcc -O2 -mavx512f -mfma -o /tmp/fma_peak docs/perf/fma_peak.c && /tmp/fma_peak
//   gcc -O2 -mavx2 -mfma -DYMM -o /tmp/fma_peak docs/perf/fma_peak.c && /tmp/fma_peak
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#ifdef YMM
typedef __m256 vec;
#define WIDTH 8
#define SPLAT _mm256_set1_ps
#define FMADD _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define STORE _mm256_storeu_ps
#else
typedef __m512 vec;
#define WIDTH 16
#define SPLAT _mm512_set1_ps
#define FMADD _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define STORE _mm512_storeu_ps
#endif
#define CHAINS 12

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    (void)argv;
    const long iterations = 400000000;
    for (int round = 0; round < 5; round++) {
        // Distinct starting values, and a factor the compiler cannot know, so that no
        // two chains fold into one.
        vec a = SPLAT(0.999999f + argc * 1e-9f), b = SPLAT(1e-7f);
        vec c[CHAINS];
        for (int i = 0; i < CHAINS; i++) c[i] = SPLAT((float)(i + 1));
        double start = now();
        for (long it = 0; it < iterations; it++) {
#pragma GCC unroll 12
            for (int i = 0; i < CHAINS; i++) c[i] = FMADD(c[i], a, b);
        }
        double seconds = now() - start;
        vec sum = c[0];
        for (int i = 1; i < CHAINS; i++) sum = ADD(sum, c[i]);
        float lanes[WIDTH];
        STORE(lanes, sum);
        printf("%d-bit FMA: %.1f GFLOP/s (checksum %g)\n", WIDTH * 32,
               iterations * CHAINS * WIDTH * 2.0 / seconds / 1e9, lanes[0]);
    }
    return 0;
}
