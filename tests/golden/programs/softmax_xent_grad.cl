#pragma OPENCL EXTENSION cl_khr_fp64 : enable

inline float max_f32(float a, float b) {
    return ((a > b) || (a != a)) ? a : b;
}

__kernel void k__xent_grad_1_map(__global float* restrict b0, __global float* restrict b2) {
    /* tanh -> f32[5,4] in b2 */
    long i = (long)get_global_id(0);
    if (i < 20) {
        float vt1 = b0[i];
        b2[i] = tanh(vt1);
    }
}

__kernel void k__xent_grad_2_reduce(__global float* restrict b2, __global float* restrict b3) {
    /* reduce_max -> f32[5] in b3, fusing mul */
    long i = (long)get_global_id(0);
    if (i < 5) {
        float acc = -INFINITY;
        for (long j = 0; j < 4; ++j) {
            float vt1 = b2[(i * 4) + j];
            float vt2 = vt1 * 2.0f;
            acc = max_f32(acc, vt2);
        }
        b3[i] = acc;
    }
}

__kernel void k__xent_grad_3_map(__global float* restrict b2, __global float* restrict b3, __global float* restrict b4) {
    /* exp -> f32[5,4] in b4, fusing sub, broadcast_in_dim, stop_gradient, reshape, mul */
    long i = (long)get_global_id(0);
    if (i < 20) {
        float vt1 = b2[i];
        float vt2 = vt1 * 2.0f;
        float vt3 = b3[i / 4];
        float vt4 = vt2 - vt3;
        b4[i] = exp(vt4);
    }
}

__kernel void k__xent_grad_4_reduce(__global float* restrict b4, __global float* restrict b5) {
    /* reduce_sum -> f32[5] in b5 */
    long i = (long)get_global_id(0);
    if (i < 5) {
        double acc = 0.0;
        for (long j = 0; j < 4; ++j) {
            float vt1 = b4[(i * 4) + j];
            acc = acc + ((double)vt1);
        }
        b5[i] = (float)acc;
    }
}

__kernel void k__xent_grad_5_reduce(__global float* restrict b1, __global float* restrict b6) {
    /* reduce_sum -> f32[5] in b6, fusing neg, mul, broadcast_in_dim */
    long i = (long)get_global_id(0);
    if (i < 5) {
        long oi0 = i;
        double acc = 0.0;
        for (long j = 0; j < 4; ++j) {
            float vt1 = b1[(oi0 * 4) + j];
            float vt2 = -0.2f * vt1;
            float vt3 = -vt2;
            acc = acc + ((double)vt3);
        }
        b6[i] = (float)acc;
    }
}

__kernel void k__xent_grad_6_map(__global float* restrict b1, __global float* restrict b6, __global float* restrict b5, __global float* restrict b4, __global float* restrict b2, __global float* restrict b7) {
    /* mul -> f32[5,4] in b7, fusing sub, add, broadcast_in_dim, reshape, div */
    long i = (long)get_global_id(0);
    if (i < 20) {
        float vt1 = b1[i];
        float vt2 = -0.2f * vt1;
        float vt3 = b6[i / 4];
        float vt4 = b5[i / 4];
        float vt5 = vt3 / vt4;
        float vt6 = b4[i];
        float vt7 = vt5 * vt6;
        float vt8 = vt2 + vt7;
        float vt9 = vt8 * 2.0f;
        float vt10 = b2[i];
        float vt11 = vt10 * vt10;
        float vt12 = 1.0f - vt11;
        b7[i] = vt9 * vt12;
    }
}
