#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <omp.h>

static inline float max_f32(float a, float b) {
    return (((a > b) || (a != a)) || ((a == b) && (copysignf(1.0f, b) < 0.0f))) ? a : b;
}

void rowstats(const float* restrict x, double* restrict ssq, float* restrict mx, int64_t rows, int64_t cols) {
    #pragma omp parallel for if(rows >= 64)
    for (int64_t r = 0; r < rows; ++r) {
        /* one row per work item */
        double acc = 0.0;
        float m = -INFINITY;
        #pragma omp simd reduction(+:acc) simdlen(8)
        for (int64_t j = 0; j < cols; ++j) {
            float v = x[(r * cols) + j];
            acc += ((double)v) * ((double)v);
        }
        for (int64_t j = 0; j < cols; ++j) {
            m = max_f32(m, x[(r * cols) + j]);
        }
        ssq[r] = acc;
        mx[r] = m;
    }
}
