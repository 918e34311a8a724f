#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <omp.h>
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float log1pf(float);
#pragma omp declare simd notinbranch
float tanhf(float);

void chain(const float* restrict x, const float* restrict z, float* restrict y, int64_t n) {
    #pragma omp parallel for simd if(n >= 65536)
    for (int64_t i = 0; i < n; ++i) {
        float xi = x[i];
        y[i] = ((tanhf(xi) * z[i]) + (expf((-xi) * xi) * 0.5f)) + log1pf(fabsf(xi));
    }
}
