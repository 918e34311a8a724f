#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <omp.h>

static inline int32_t idiv_i32(int32_t a, int32_t b) {
    return ((b == -1) && (a == (-2147483647 - 1))) ? (-2147483647 - 1) : ((b == 0) ? 0 : (a / b));
}

void misc(const double* restrict a, int32_t* restrict k, double* restrict out, int64_t n) {
    #pragma omp parallel for if(n >= 32768)
    for (int64_t i = 0; i < n; ++i) {
        double t = a[i];
        if (isnan(t)) {
            out[i] = (double)INFINITY;
        } else {
            out[i] = ((t > 0.0) ? sqrt(t) : (-t)) + 1e-300;
        }
        int32_t q = idiv_i32(k[i], (int32_t)((uint32_t)k[i] - (uint32_t)3));
        k[i] = (q << 2) ^ ((int32_t)(i & 7));
        if ((i == 0) && (n > (-9223372036854775807LL - 1))) {
            out[i] = ((double)NAN) * 0.1;
        }
    }
}
