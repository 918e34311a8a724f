#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <omp.h>
typedef float fgv_f32x16 __attribute__((vector_size(64), aligned(4)));
int fgrt762078b056_team(void);
int fgrt762078b056_team_big(void);
void fgrt762078b056_spread(void);
void fgrt762078b056_finish(int *);
#pragma omp declare simd notinbranch
float expf(float);

static inline float uexp_f32(float a) {
    float x = (a < -104.0f) ? 0.0f : a;
    float xn = (x < 88.8f) ? x : 88.8f;          /* NaN: 88.8 */
    x = (x > 88.8f) ? 88.8f : x;                 /* NaN: NaN */
    float n = __builtin_rintf(xn * 1.4426950216293335f);
    #ifdef FP_FAST_FMAF
    float r = fmaf(n, -0.693359375f, x);
    r = fmaf(n, 0.00021219444170128554f, r);
    float q = fmaf(0.0013814546400681138f, r, 0.00836869701743126f);
    q = fmaf(q, r, 0.04166838899254799f);
    q = fmaf(q, r, 0.1666652113199234f);
    q = fmaf(q, r, 0.4999999403953552f);
    float p = 1.0f + fmaf(q, r * r, r);
    #else
    float r = x - n * 0.693359375f;
    r = r + n * 0.00021219444170128554f;
    float q = 0.0013814546400681138f * r + 0.00836869701743126f;
    q = q * r + 0.04166838899254799f;
    q = q * r + 0.1666652113199234f;
    q = q * r + 0.4999999403953552f;
    float p = 1.0f + (q * (r * r) + r);
    #endif
    int32_t ni = (int32_t)n, h = ni >> 1;
    int32_t ai = (h + 127) << 23, bi = (ni - h + 127) << 23;
    float af, bf; __builtin_memcpy(&af, &ai, 4); __builtin_memcpy(&bf, &bi, 4);
    return (a < -104.0f) ? 0.0f : p * af * bf;
}
#if defined(__GNUC__) && !defined(__clang__) && defined(_OPENMP) && defined(__AVX512F__) && defined(__AVX512VL__)
typedef float fgv16sf __attribute__((vector_size(64)));
typedef int32_t fgv16si __attribute__((vector_size(64)));
typedef float fgv8sf __attribute__((vector_size(32)));
typedef int32_t fgv8si __attribute__((vector_size(32)));
typedef float fgv4sf __attribute__((vector_size(16)));
typedef int32_t fgv4si __attribute__((vector_size(16)));
#pragma omp declare simd notinbranch simdlen(16)
#pragma omp declare simd notinbranch simdlen(8)
#pragma omp declare simd notinbranch simdlen(4)
__attribute__((const, nothrow)) float uexpv_f32(float);
static float uexpv_f32_scalar(float) __asm__("uexpv_f32");
static __attribute__((used)) float uexpv_f32_scalar(float a) { return uexp_f32(a); }
static __attribute__((used)) fgv16sf _ZGVeN16v_uexpv_f32(fgv16sf a) {
    fgv16sf x = __builtin_ia32_minps512_mask(((fgv16sf){} + 88.8f), __builtin_ia32_maxps512_mask(((fgv16sf){} + -150.0f), a, ((fgv16sf){} + -150.0f), (uint16_t)-1, 4), ((fgv16sf){} + 88.8f), (uint16_t)-1, 4);
    fgv16sf xl = x * 1.4426950216293335f;
    fgv16sf n = __builtin_ia32_rndscaleps_mask(xl, 4, xl, (uint16_t)-1, 4);
    fgv16sf r = __builtin_ia32_vfmaddps512_mask(n, ((fgv16sf){} + -0.693359375f), x, (uint16_t)-1, 4);
    r = __builtin_ia32_vfmaddps512_mask(n, ((fgv16sf){} + 0.00021219444170128554f), r, (uint16_t)-1, 4);
    fgv16sf q = __builtin_ia32_vfmaddps512_mask(((fgv16sf){} + 0.0013814546400681138f), r, ((fgv16sf){} + 0.00836869701743126f), (uint16_t)-1, 4);
    q = __builtin_ia32_vfmaddps512_mask(q, r, ((fgv16sf){} + 0.04166838899254799f), (uint16_t)-1, 4);
    q = __builtin_ia32_vfmaddps512_mask(q, r, ((fgv16sf){} + 0.1666652113199234f), (uint16_t)-1, 4);
    q = __builtin_ia32_vfmaddps512_mask(q, r, ((fgv16sf){} + 0.4999999403953552f), (uint16_t)-1, 4);
    fgv16sf p = 1.0f + __builtin_ia32_vfmaddps512_mask(q, r * r, r, (uint16_t)-1, 4);
    return __builtin_ia32_scalefps512_mask(p, n, p, (uint16_t)-1, 4);
}
static __attribute__((used)) fgv8sf _ZGVeN8v_uexpv_f32(fgv8sf a) {
    fgv8sf x = __builtin_ia32_minps256(((fgv8sf){} + 88.8f), __builtin_ia32_maxps256(((fgv8sf){} + -150.0f), a));
    fgv8sf xl = x * 1.4426950216293335f;
    fgv8sf n = __builtin_ia32_rndscaleps_256_mask(xl, 4, xl, (uint8_t)-1);
    fgv8sf r = __builtin_ia32_vfmaddps256(n, ((fgv8sf){} + -0.693359375f), x);
    r = __builtin_ia32_vfmaddps256(n, ((fgv8sf){} + 0.00021219444170128554f), r);
    fgv8sf q = __builtin_ia32_vfmaddps256(((fgv8sf){} + 0.0013814546400681138f), r, ((fgv8sf){} + 0.00836869701743126f));
    q = __builtin_ia32_vfmaddps256(q, r, ((fgv8sf){} + 0.04166838899254799f));
    q = __builtin_ia32_vfmaddps256(q, r, ((fgv8sf){} + 0.1666652113199234f));
    q = __builtin_ia32_vfmaddps256(q, r, ((fgv8sf){} + 0.4999999403953552f));
    fgv8sf p = 1.0f + __builtin_ia32_vfmaddps256(q, r * r, r);
    return __builtin_ia32_scalefps256_mask(p, n, p, (uint8_t)-1);
}
static __attribute__((used)) fgv4sf _ZGVeN4v_uexpv_f32(fgv4sf a) {
    fgv4sf x = __builtin_ia32_minps(((fgv4sf){} + 88.8f), __builtin_ia32_maxps(((fgv4sf){} + -150.0f), a));
    fgv4sf xl = x * 1.4426950216293335f;
    fgv4sf n = __builtin_ia32_rndscaleps_128_mask(xl, 4, xl, (uint8_t)-1);
    fgv4sf r = __builtin_ia32_vfmaddps(n, ((fgv4sf){} + -0.693359375f), x);
    r = __builtin_ia32_vfmaddps(n, ((fgv4sf){} + 0.00021219444170128554f), r);
    fgv4sf q = __builtin_ia32_vfmaddps(((fgv4sf){} + 0.0013814546400681138f), r, ((fgv4sf){} + 0.00836869701743126f));
    q = __builtin_ia32_vfmaddps(q, r, ((fgv4sf){} + 0.04166838899254799f));
    q = __builtin_ia32_vfmaddps(q, r, ((fgv4sf){} + 0.1666652113199234f));
    q = __builtin_ia32_vfmaddps(q, r, ((fgv4sf){} + 0.4999999403953552f));
    fgv4sf p = 1.0f + __builtin_ia32_vfmaddps(q, r * r, r);
    return __builtin_ia32_scalefps128_mask(p, n, p, (uint8_t)-1);
}
#else
#define uexpv_f32 uexp_f32
#endif

void k__mlp_step_seg0(float* restrict in_0, float* restrict in_1, float* restrict in_2, float* restrict in_3, float* restrict in_4, float* restrict in_5, float* restrict dot_6, float* restrict select_7, float* restrict dot_8, float* restrict max_9, float* restrict exp_10, float* restrict sum_11, float* restrict sum_12) {
    /* dot_general -> f32[5,16] in dot_6 */
    for (int64_t li = 0; li < 5; ++li) {
        #pragma omp simd
        for (int64_t lj = 0; lj < 16; ++lj) {
            dot_6[(li * 16) + lj] = 0.0f + (in_4[li * 8] * in_0[lj]);
        }
        for (int64_t lk = 1; lk < 8; ++lk) {
            float lx = in_4[(li * 8) + lk];
            #pragma omp simd
            for (int64_t lj = 0; lj < 16; ++lj) {
                dot_6[(li * 16) + lj] = dot_6[(li * 16) + lj] + (lx * in_0[(lk * 16) + lj]);
            }
        }
    }
    /* select -> f32[5,16] in select_7, fusing add, broadcast_in_dim, le */
    for (int64_t i0 = 0; i0 < 5; ++i0) {
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 16; ++i1) {
            float vt1 = dot_6[(i0 * 16) + i1];
            float vt2 = in_1[i1];
            float vt3 = vt1 + vt2;
            int32_t vt4 = vt3 <= 0.0f;
            select_7[(i0 * 16) + i1] = vt4 ? 0.0f : vt3;
        }
    }
    /* dot_general -> f32[5,4] in dot_8 */
    for (int64_t li = 0; li < 5; ++li) {
        #pragma omp simd
        for (int64_t lj = 0; lj < 4; ++lj) {
            dot_8[(li * 4) + lj] = 0.0f + (select_7[li * 16] * in_2[lj]);
        }
        for (int64_t lk = 1; lk < 16; ++lk) {
            float lx = select_7[(li * 16) + lk];
            #pragma omp simd
            for (int64_t lj = 0; lj < 4; ++lj) {
                dot_8[(li * 4) + lj] = dot_8[(li * 4) + lj] + (lx * in_2[(lk * 4) + lj]);
            }
        }
    }
    /* reduce_max -> f32[5] in max_9, fusing add, broadcast_in_dim */
    for (int64_t o = 0; o < 5; ++o) {
        int64_t oi0 = o;
        float acc = -INFINITY;
        int32_t nanf = 0;
        for (int64_t j = 0; j < 4; ++j) {
            float vt1 = dot_8[(oi0 * 4) + j];
            float vt2 = in_3[j];
            float vt3 = vt1 + vt2;
            acc = (vt3 > acc) ? vt3 : acc;
            nanf = nanf | ((int32_t)(vt3 != vt3));
        }
        if (acc == 0.0f) {
            int32_t zsf = 0;
            #pragma omp simd reduction(|:zsf)
            for (int64_t j = 0; j < 4; ++j) {
                float vt1 = dot_8[(oi0 * 4) + j];
                float vt2 = in_3[j];
                float vt3 = vt1 + vt2;
                zsf = zsf | ((int32_t)((vt3 == 0.0f) && (!(copysignf(1.0f, vt3) < 0.0f))));
            }
            acc = (zsf != 0) ? 0.0f : acc;
        }
        max_9[o] = (nanf != 0) ? NAN : acc;
    }
    /* exp -> f32[5,4] in exp_10, fusing sub, broadcast_in_dim, stop_gradient, reshape, add */
    for (int64_t i0 = 0; i0 < 5; ++i0) {
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 4; ++i1) {
            float vt1 = dot_8[(i0 * 4) + i1];
            float vt2 = in_3[i1];
            float vt3 = vt1 + vt2;
            float vt4 = max_9[i0];
            float vt5 = vt3 - vt4;
            exp_10[(i0 * 4) + i1] = uexpv_f32(vt5);
        }
    }
    /* reduce_sum -> f32[5] in sum_11 */
    for (int64_t o = 0; o < 5; ++o) {
        double acc = 0.0;
        #pragma omp simd reduction(+:acc) simdlen(8)
        for (int64_t j = 0; j < 1; ++j) {
            float vt2 = exp_10[(o * 4) + j];
            float vt3 = exp_10[(o * 4) + (j + 1)];
            float vt4 = exp_10[(o * 4) + (j + 2)];
            float vt5 = exp_10[(o * 4) + (j + 3)];
            acc = acc + ((double)(((vt2 + vt3) + vt4) + vt5));
        }
        sum_11[o] = (float)acc;
    }
    /* reduce_sum -> f32[5] in sum_12, fusing neg, mul, broadcast_in_dim */
    for (int64_t o = 0; o < 5; ++o) {
        int64_t oi0 = o;
        double acc = 0.0;
        #pragma omp simd reduction(+:acc) simdlen(8)
        for (int64_t j = 0; j < 1; ++j) {
            float vt4 = in_5[(oi0 * 4) + j];
            float vt5 = -0.2f * vt4;
            float vt6 = -vt5;
            float vt7 = in_5[(oi0 * 4) + (j + 1)];
            float vt8 = -0.2f * vt7;
            float vt9 = -vt8;
            float vt10 = in_5[(oi0 * 4) + (j + 2)];
            float vt11 = -0.2f * vt10;
            float vt12 = -vt11;
            float vt13 = in_5[(oi0 * 4) + (j + 3)];
            float vt14 = -0.2f * vt13;
            float vt15 = -vt14;
            acc = acc + ((double)(((vt6 + vt9) + vt12) + vt15));
        }
        sum_12[o] = (float)acc;
    }
}

void k__mlp_step_seg1(float* restrict in_1, float* restrict in_2, float* restrict in_5, float* restrict dot_6, float* restrict select_7, float* restrict exp_10, float* restrict sum_11, float* restrict sum_12, float* restrict add_13, float* restrict sum_14, float* restrict dot_15, float* restrict dot_16, float* restrict select_17, float* restrict sum_18) {
    /* add -> f32[5,4] in add_13, fusing mul, broadcast_in_dim, reshape, div */
    for (int64_t i0 = 0; i0 < 5; ++i0) {
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 4; ++i1) {
            float vt1 = in_5[(i0 * 4) + i1];
            float vt2 = -0.2f * vt1;
            float vt3 = sum_12[i0];
            float vt4 = sum_11[i0];
            float vt5 = vt3 / vt4;
            float vt6 = exp_10[(i0 * 4) + i1];
            float vt7 = vt5 * vt6;
            add_13[(i0 * 4) + i1] = vt2 + vt7;
        }
    }
    /* reduce_sum -> f32[4] in sum_14 */
    {
        double racc[4];
        for (int64_t k = 0; k < 4; ++k) {
            racc[k] = 0.0;
        }
        for (int64_t q = 0; q < 5 / 4; ++q) {
            #pragma omp simd
            for (int64_t k = 0; k < 4; ++k) {
                float vt1 = add_13[((q * 4) * 4) + k];
                float vt2 = vt1;
                float vt3 = add_13[(((q * 4) + 1) * 4) + k];
                float vt4 = vt2 + vt3;
                float vt5 = add_13[(((q * 4) + 2) * 4) + k];
                float vt6 = vt4 + vt5;
                float vt7 = add_13[(((q * 4) + 3) * 4) + k];
                float vt8 = vt6 + vt7;
                racc[k] = racc[k] + ((double)vt8);
            }
        }
        for (int64_t r = (5 / 4) * 4; r < 5; ++r) {
            #pragma omp simd
            for (int64_t k = 0; k < 4; ++k) {
                float vt1 = add_13[(r * 4) + k];
                racc[k] = racc[k] + ((double)vt1);
            }
        }
        for (int64_t k = 0; k < 4; ++k) {
            sum_14[k] = (float)racc[k];
        }
    }
    /* dot_general -> f32[16,4] in dot_15 */
    for (int64_t li = 0; li < 16; ++li) {
        #pragma omp simd
        for (int64_t lj = 0; lj < 4; ++lj) {
            dot_15[(li * 4) + lj] = 0.0f + (select_7[li] * add_13[lj]);
        }
        for (int64_t lk = 1; lk < 5; ++lk) {
            float lx = select_7[(lk * 16) + li];
            #pragma omp simd
            for (int64_t lj = 0; lj < 4; ++lj) {
                dot_15[(li * 4) + lj] = dot_15[(li * 4) + lj] + (lx * add_13[(lk * 4) + lj]);
            }
        }
    }
    /* dot_general -> f32[5,16] in dot_16 */
    for (int64_t li = 0; li < 5; ++li) {
        for (int64_t lj = 0; lj < 16; ++lj) {
            float lacc0 = 0.0f;
            #pragma omp simd reduction(+:lacc0) simdlen(8)
            for (int64_t lk = 0; lk < 4; ++lk) {
                lacc0 = lacc0 + (add_13[(li * 4) + lk] * in_2[(lj * 4) + lk]);
            }
            dot_16[(li * 16) + lj] = lacc0;
        }
    }
    /* select -> f32[5,16] in select_17, fusing broadcast_in_dim, le, add */
    for (int64_t i0 = 0; i0 < 5; ++i0) {
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 16; ++i1) {
            float vt1 = dot_6[(i0 * 16) + i1];
            float vt2 = in_1[i1];
            float vt3 = vt1 + vt2;
            int32_t vt4 = vt3 <= 0.0f;
            float vt5 = dot_16[(i0 * 16) + i1];
            select_17[(i0 * 16) + i1] = vt4 ? 0.0f : vt5;
        }
    }
    /* reduce_sum -> f32[16] in sum_18 */
    {
        double racc[16];
        for (int64_t k = 0; k < 16; ++k) {
            racc[k] = 0.0;
        }
        for (int64_t q = 0; q < 5 / 4; ++q) {
            #pragma omp simd
            for (int64_t k = 0; k < 16; ++k) {
                float vt1 = select_17[((q * 4) * 16) + k];
                float vt2 = vt1;
                float vt3 = select_17[(((q * 4) + 1) * 16) + k];
                float vt4 = vt2 + vt3;
                float vt5 = select_17[(((q * 4) + 2) * 16) + k];
                float vt6 = vt4 + vt5;
                float vt7 = select_17[(((q * 4) + 3) * 16) + k];
                float vt8 = vt6 + vt7;
                racc[k] = racc[k] + ((double)vt8);
            }
        }
        for (int64_t r = (5 / 4) * 4; r < 5; ++r) {
            #pragma omp simd
            for (int64_t k = 0; k < 16; ++k) {
                float vt1 = select_17[(r * 16) + k];
                racc[k] = racc[k] + ((double)vt1);
            }
        }
        for (int64_t k = 0; k < 16; ++k) {
            sum_18[k] = (float)racc[k];
        }
    }
}

void k__mlp_step_seg2(float* restrict in_0, float* restrict in_1, float* restrict in_2, float* restrict in_3, float* restrict in_4, float* restrict sum_14, float* restrict dot_15, float* restrict select_17, float* restrict sum_18, float* restrict dot_19, float* restrict sub_20, float* restrict sub_21, float* restrict sub_22, float* restrict sub_23) {
    /* dot_general -> f32[8,16] in dot_19 */
    for (int64_t li = 0; li < 8; ++li) {
        #pragma omp simd
        for (int64_t lj = 0; lj < 16; ++lj) {
            dot_19[(li * 16) + lj] = 0.0f + (in_4[li] * select_17[lj]);
        }
        for (int64_t lk = 1; lk < 5; ++lk) {
            float lx = in_4[(lk * 8) + li];
            #pragma omp simd
            for (int64_t lj = 0; lj < 16; ++lj) {
                dot_19[(li * 16) + lj] = dot_19[(li * 16) + lj] + (lx * select_17[(lk * 16) + lj]);
            }
        }
    }
    /* sub -> f32[8,16] in sub_20, fusing mul */
    #pragma omp simd
    for (int64_t i = 0; i < 128; ++i) {
        float vt1 = in_0[i];
        float vt2 = dot_19[i];
        float vt3 = 0.1f * vt2;
        sub_20[i] = vt1 - vt3;
    }
    /* sub -> f32[16] in sub_21, fusing mul */
    #pragma omp simd
    for (int64_t i = 0; i < 16; ++i) {
        float vt1 = in_1[i];
        float vt2 = sum_18[i];
        float vt3 = 0.1f * vt2;
        sub_21[i] = vt1 - vt3;
    }
    /* sub -> f32[16,4] in sub_22, fusing mul */
    #pragma omp simd
    for (int64_t i = 0; i < 64; ++i) {
        float vt1 = in_2[i];
        float vt2 = dot_15[i];
        float vt3 = 0.1f * vt2;
        sub_22[i] = vt1 - vt3;
    }
    /* sub -> f32[4] in sub_23, fusing mul */
    #pragma omp simd
    for (int64_t i = 0; i < 4; ++i) {
        float vt1 = in_3[i];
        float vt2 = sum_14[i];
        float vt3 = 0.1f * vt2;
        sub_23[i] = vt1 - vt3;
    }
}
