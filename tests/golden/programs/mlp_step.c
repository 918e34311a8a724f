#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <omp.h>
#include "cblas.h"
#pragma omp declare simd notinbranch
float expf(float);

void k__mlp_step_seg0(float* restrict in_0, float* restrict in_1, float* restrict in_2, float* restrict in_3, float* restrict in_4, float* restrict in_5, float* restrict dot_6, float* restrict select_7, float* restrict dot_8, float* restrict max_9, float* restrict exp_10, float* restrict sum_11, float* restrict sum_12, float* restrict add_13, float* restrict sum_14) {
    /* dot_general -> f32[5,16] in dot_6 */
    scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 5, 16, 8, 1.0f, in_4, 8, in_0, 16, 0.0f, dot_6, 16);
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
    scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 5, 4, 16, 1.0f, select_7, 16, in_2, 4, 0.0f, dot_8, 4);
    /* rows of reduce_max, exp, reduce_sum, reduce_sum, add -> f32[5,4] */
    for (int64_t r = 0; r < 5; ++r) {
        /* row of reduce_max */
        float acc0 = -INFINITY;
        int32_t nanf0 = 0;
        #pragma omp simd reduction(max:acc0) reduction(|:nanf0)
        for (int64_t j0 = 0; j0 < 4; ++j0) {
            float k0vt1 = dot_8[(r * 4) + j0];
            float k0vt2 = in_3[j0];
            float k0vt3 = k0vt1 + k0vt2;
            acc0 = (k0vt3 > acc0) ? k0vt3 : acc0;
            nanf0 = nanf0 | ((int32_t)(k0vt3 != k0vt3));
        }
        max_9[r] = (nanf0 != 0) ? NAN : acc0;
        /* row of exp */
        float k1vt4 = max_9[r];
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 4; ++i1) {
            float k1vt1 = dot_8[(r * 4) + i1];
            float k1vt2 = in_3[i1];
            float k1vt3 = k1vt1 + k1vt2;
            float k1vt5 = k1vt3 - k1vt4;
            exp_10[(r * 4) + i1] = expf(k1vt5);
        }
        /* row of reduce_sum */
        double acc2 = 0.0;
        #pragma omp simd reduction(+:acc2)
        for (int64_t j2 = 0; j2 < 4; ++j2) {
            float k2vt1 = exp_10[(r * 4) + j2];
            acc2 = acc2 + ((double)k2vt1);
        }
        sum_11[r] = (float)acc2;
        /* row of reduce_sum */
        double acc3 = 0.0;
        #pragma omp simd reduction(+:acc3)
        for (int64_t j3 = 0; j3 < 4; ++j3) {
            float k3vt1 = in_5[(r * 4) + j3];
            float k3vt2 = -0.2f * k3vt1;
            float k3vt3 = -k3vt2;
            acc3 = acc3 + ((double)k3vt3);
        }
        sum_12[r] = (float)acc3;
        /* row of add */
        float k4vt3 = sum_12[r];
        float k4vt4 = sum_11[r];
        float k4vt5 = k4vt3 / k4vt4;
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 4; ++i1) {
            float k4vt1 = in_5[(r * 4) + i1];
            float k4vt2 = -0.2f * k4vt1;
            float k4vt6 = exp_10[(r * 4) + i1];
            float k4vt7 = k4vt5 * k4vt6;
            add_13[(r * 4) + i1] = k4vt2 + k4vt7;
        }
    }
    /* reduce_sum -> f32[4] in sum_14 */
    for (int64_t i0 = 0; i0 < 4; ++i0) {
        float vt1 = add_13[i0];
        float acc = 0.0f + vt1;
        float vt2 = add_13[4 + i0];
        float vt3 = vt2;
        acc = acc + vt3;
        float vt4 = add_13[8 + i0];
        float vt5 = vt4;
        acc = acc + vt5;
        float vt6 = add_13[12 + i0];
        float vt7 = vt6;
        acc = acc + vt7;
        float vt8 = add_13[16 + i0];
        float vt9 = vt8;
        acc = acc + vt9;
        sum_14[i0] = acc;
    }
}

void k__mlp_step_seg1(float* restrict in_0, float* restrict in_1, float* restrict in_2, float* restrict in_3, float* restrict in_4, float* restrict dot_6, float* restrict select_7, float* restrict add_13, float* restrict sum_14, float* restrict dot_15, float* restrict dot_16, float* restrict select_17, float* restrict sum_18, float* restrict dot_19, float* restrict sub_20, float* restrict sub_21, float* restrict sub_22, float* restrict sub_23) {
    /* dot_general -> f32[16,4] in dot_15 */
    scipy_cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 16, 4, 5, 1.0f, select_7, 16, add_13, 4, 0.0f, dot_15, 4);
    /* dot_general -> f32[5,16] in dot_16 */
    scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 5, 16, 4, 1.0f, add_13, 4, in_2, 4, 0.0f, dot_16, 16);
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
    for (int64_t i0 = 0; i0 < 16; ++i0) {
        float vt1 = select_17[i0];
        float acc = 0.0f + vt1;
        float vt2 = select_17[16 + i0];
        float vt3 = vt2;
        acc = acc + vt3;
        float vt4 = select_17[32 + i0];
        float vt5 = vt4;
        acc = acc + vt5;
        float vt6 = select_17[48 + i0];
        float vt7 = vt6;
        acc = acc + vt7;
        float vt8 = select_17[64 + i0];
        float vt9 = vt8;
        acc = acc + vt9;
        sum_18[i0] = acc;
    }
    /* dot_general -> f32[8,16] in dot_19 */
    scipy_cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 8, 16, 5, 1.0f, in_4, 8, select_17, 16, 0.0f, dot_19, 16);
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
