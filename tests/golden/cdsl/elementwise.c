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

static inline float uexp_f32(float a) {
    int32_t m = -(int32_t)(a < -87.0f);
    float s = ((a < -105.0f) ? -105.0f : a) + 20.0f;
    int32_t ab, sb; __builtin_memcpy(&ab, &a, 4); __builtin_memcpy(&sb, &s, 4);
    int32_t yb = (sb & m) | (ab & ~m);
    float y; __builtin_memcpy(&y, &yb, 4);
    float e = expf(y);
    return (a < -87.0f) ? e * 2.06115369216775e-09f : e;
}

void chain(const float* restrict x, const float* restrict z, float* restrict y, int64_t n) {
    #pragma omp parallel for simd if(n >= 65536)
    for (int64_t i = 0; i < n; ++i) {
        float xi = x[i];
        y[i] = ((tanhf(xi) * z[i]) + (uexp_f32((-xi) * xi) * 0.5f)) + log1pf(fabsf(xi));
    }
}
