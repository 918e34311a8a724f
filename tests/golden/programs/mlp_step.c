#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <omp.h>
#include "cblas.h"
#pragma omp declare simd notinbranch
float expf(float);

void k__mlp_step_seg0(float* restrict b0, float* restrict b1, float* restrict b2, float* restrict b3, float* restrict b4, float* restrict b5, float* restrict b6, float* restrict b7, float* restrict b8, float* restrict b9, float* restrict b10, float* restrict b11, float* restrict b12, float* restrict b13, float* restrict b14) {
    /* dot_general -> f32[5,16] in b6 */
    scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 5, 16, 8, 1.0f, b4, 8, b0, 16, 0.0f, b6, 16);
    /* select -> f32[5,16] in b7, fusing add, broadcast_in_dim, le */
    for (int64_t i0 = 0; i0 < 5; ++i0) {
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 16; ++i1) {
            float vt1 = b6[(i0 * 16) + i1];
            float vt2 = b1[i1];
            float vt3 = vt1 + vt2;
            int32_t vt4 = vt3 <= 0.0f;
            b7[(i0 * 16) + i1] = vt4 ? 0.0f : vt3;
        }
    }
    /* dot_general -> f32[5,4] in b8 */
    scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 5, 4, 16, 1.0f, b7, 16, b2, 4, 0.0f, b8, 4);
    /* rows of reduce_max, exp, reduce_sum, reduce_sum, add -> f32[5,4] */
    for (int64_t r = 0; r < 5; ++r) {
        /* row of reduce_max */
        float acc0 = -INFINITY;
        int32_t nanf0 = 0;
        #pragma omp simd reduction(max:acc0) reduction(|:nanf0)
        for (int64_t j0 = 0; j0 < 4; ++j0) {
            float k0vt1 = b8[(r * 4) + j0];
            float k0vt2 = b3[j0];
            float k0vt3 = k0vt1 + k0vt2;
            acc0 = (k0vt3 > acc0) ? k0vt3 : acc0;
            nanf0 = nanf0 | ((int32_t)(k0vt3 != k0vt3));
        }
        b9[r] = (nanf0 != 0) ? NAN : acc0;
        /* row of exp */
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 4; ++i1) {
            float k1vt1 = b8[(r * 4) + i1];
            float k1vt2 = b3[i1];
            float k1vt3 = k1vt1 + k1vt2;
            float k1vt4 = b9[r];
            float k1vt5 = k1vt3 - k1vt4;
            b10[(r * 4) + i1] = expf(k1vt5);
        }
        /* row of reduce_sum */
        double acc2 = 0.0;
        #pragma omp simd reduction(+:acc2)
        for (int64_t j2 = 0; j2 < 4; ++j2) {
            float k2vt1 = b10[(r * 4) + j2];
            acc2 = acc2 + ((double)k2vt1);
        }
        b11[r] = (float)acc2;
        /* row of reduce_sum */
        double acc3 = 0.0;
        #pragma omp simd reduction(+:acc3)
        for (int64_t j3 = 0; j3 < 4; ++j3) {
            float k3vt1 = b5[(r * 4) + j3];
            float k3vt2 = -0.2f * k3vt1;
            float k3vt3 = -k3vt2;
            acc3 = acc3 + ((double)k3vt3);
        }
        b12[r] = (float)acc3;
        /* row of add */
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 4; ++i1) {
            float k4vt1 = b5[(r * 4) + i1];
            float k4vt2 = -0.2f * k4vt1;
            float k4vt3 = b12[r];
            float k4vt4 = b11[r];
            float k4vt5 = k4vt3 / k4vt4;
            float k4vt6 = b10[(r * 4) + i1];
            float k4vt7 = k4vt5 * k4vt6;
            b13[(r * 4) + i1] = k4vt2 + k4vt7;
        }
    }
    /* reduce_sum -> f32[4] in b14 */
    for (int64_t i0 = 0; i0 < 4; ++i0) {
        float vt1 = b13[i0];
        float acc = 0.0f + vt1;
        float vt2 = b13[4 + i0];
        float vt3 = vt2;
        acc = acc + vt3;
        float vt4 = b13[8 + i0];
        float vt5 = vt4;
        acc = acc + vt5;
        float vt6 = b13[12 + i0];
        float vt7 = vt6;
        acc = acc + vt7;
        float vt8 = b13[16 + i0];
        float vt9 = vt8;
        acc = acc + vt9;
        b14[i0] = acc;
    }
}

void k__mlp_step_seg1(float* restrict b0, float* restrict b1, float* restrict b2, float* restrict b3, float* restrict b4, float* restrict b6, float* restrict b7, float* restrict b13, float* restrict b14, float* restrict b15, float* restrict b16, float* restrict b17, float* restrict b18, float* restrict b19, float* restrict b20, float* restrict b21, float* restrict b22, float* restrict b23) {
    /* dot_general -> f32[16,4] in b15 */
    scipy_cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 16, 4, 5, 1.0f, b7, 16, b13, 4, 0.0f, b15, 4);
    /* dot_general -> f32[5,16] in b16 */
    scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 5, 16, 4, 1.0f, b13, 4, b2, 4, 0.0f, b16, 16);
    /* select -> f32[5,16] in b17, fusing broadcast_in_dim, le, add */
    for (int64_t i0 = 0; i0 < 5; ++i0) {
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 16; ++i1) {
            float vt1 = b6[(i0 * 16) + i1];
            float vt2 = b1[i1];
            float vt3 = vt1 + vt2;
            int32_t vt4 = vt3 <= 0.0f;
            float vt5 = b16[(i0 * 16) + i1];
            b17[(i0 * 16) + i1] = vt4 ? 0.0f : vt5;
        }
    }
    /* reduce_sum -> f32[16] in b18 */
    for (int64_t i0 = 0; i0 < 16; ++i0) {
        float vt1 = b17[i0];
        float acc = 0.0f + vt1;
        float vt2 = b17[16 + i0];
        float vt3 = vt2;
        acc = acc + vt3;
        float vt4 = b17[32 + i0];
        float vt5 = vt4;
        acc = acc + vt5;
        float vt6 = b17[48 + i0];
        float vt7 = vt6;
        acc = acc + vt7;
        float vt8 = b17[64 + i0];
        float vt9 = vt8;
        acc = acc + vt9;
        b18[i0] = acc;
    }
    /* dot_general -> f32[8,16] in b19 */
    scipy_cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 8, 16, 5, 1.0f, b4, 8, b17, 16, 0.0f, b19, 16);
    /* sub -> f32[8,16] in b20, fusing mul */
    #pragma omp simd
    for (int64_t i = 0; i < 128; ++i) {
        float vt1 = b0[i];
        float vt2 = b19[i];
        float vt3 = 0.1f * vt2;
        b20[i] = vt1 - vt3;
    }
    /* sub -> f32[16] in b21, fusing mul */
    #pragma omp simd
    for (int64_t i = 0; i < 16; ++i) {
        float vt1 = b1[i];
        float vt2 = b18[i];
        float vt3 = 0.1f * vt2;
        b21[i] = vt1 - vt3;
    }
    /* sub -> f32[16,4] in b22, fusing mul */
    #pragma omp simd
    for (int64_t i = 0; i < 64; ++i) {
        float vt1 = b2[i];
        float vt2 = b15[i];
        float vt3 = 0.1f * vt2;
        b22[i] = vt1 - vt3;
    }
    /* sub -> f32[4] in b23, fusing mul */
    #pragma omp simd
    for (int64_t i = 0; i < 4; ++i) {
        float vt1 = b3[i];
        float vt2 = b14[i];
        float vt3 = 0.1f * vt2;
        b23[i] = vt1 - vt3;
    }
}
