inline float ocl_tanh_f32(float x) { return isnan(x) ? x : fabs(x) >= 9.011f ? copysign(1.0f, x) : tanh(x); }
inline float ocl_nan_exp_f32(float x) { return isnan(x) ? x : exp(x); }
#pragma OPENCL EXTENSION cl_khr_fp64 : enable

__kernel void k__xent_grad_1_rows(__global float* restrict in_0, __global float* restrict tanh_2, __global float* restrict max_3, __global float* restrict exp_4, __global float* restrict sum_5, __global float* restrict in_1, __global float* restrict sum_6, __global float* restrict mul_7, __global float* restrict add_8) {
    /* rows of tanh, reduce_max, exp, reduce_sum, reduce_sum, mul, add -> f32[5,4] */
    long r = (long)get_global_id(0);
    if (r < 5) {
        /* row of tanh */
        for (long i1 = 0; i1 < 4; ++i1) {
            float k0vt1 = in_0[(r * 4) + i1];
            tanh_2[(r * 4) + i1] = ocl_tanh_f32(k0vt1);
        }
        /* row of reduce_max */
        float acc1 = -INFINITY;
        int nanf1 = 0;
        for (long j1 = 0; j1 < 4; ++j1) {
            float k1vt1 = tanh_2[(r * 4) + j1];
            float k1vt2 = k1vt1 * 2.0f;
            acc1 = (k1vt2 > acc1) ? k1vt2 : acc1;
            nanf1 = nanf1 | ((int)(k1vt2 != k1vt2));
        }
        if (acc1 == 0.0f) {
            int zsf1 = 0;
            for (long j1 = 0; j1 < 4; ++j1) {
                float k1vt1 = tanh_2[(r * 4) + j1];
                float k1vt2 = k1vt1 * 2.0f;
                zsf1 = zsf1 | ((int)((k1vt2 == 0.0f) && (!(copysign(1.0f, k1vt2) < 0.0f))));
            }
            acc1 = (zsf1 != 0) ? 0.0f : acc1;
        }
        max_3[r] = (nanf1 != 0) ? NAN : acc1;
        /* row of exp */
        float k2vt3 = max_3[r];
        for (long i1 = 0; i1 < 4; ++i1) {
            float k2vt1 = tanh_2[(r * 4) + i1];
            float k2vt2 = k2vt1 * 2.0f;
            float k2vt4 = k2vt2 - k2vt3;
            exp_4[(r * 4) + i1] = ocl_nan_exp_f32(k2vt4);
        }
        /* row of reduce_sum */
        double acc3 = 0.0;
        for (long j3 = 0; j3 < 4; ++j3) {
            float k3vt1 = exp_4[(r * 4) + j3];
            acc3 = acc3 + ((double)k3vt1);
        }
        sum_5[r] = (float)acc3;
        /* row of reduce_sum */
        double acc4 = 0.0;
        for (long j4 = 0; j4 < 4; ++j4) {
            float k4vt1 = in_1[(r * 4) + j4];
            float k4vt2 = -0.2f * k4vt1;
            float k4vt3 = -k4vt2;
            acc4 = acc4 + ((double)k4vt3);
        }
        sum_6[r] = (float)acc4;
        /* row of mul */
        float k5vt3 = sum_6[r];
        float k5vt4 = sum_5[r];
        float k5vt5 = k5vt3 / k5vt4;
        for (long i1 = 0; i1 < 4; ++i1) {
            float k5vt1 = in_1[(r * 4) + i1];
            float k5vt2 = -0.2f * k5vt1;
            float k5vt6 = exp_4[(r * 4) + i1];
            float k5vt7 = k5vt5 * k5vt6;
            float k5vt8 = k5vt2 + k5vt7;
            float k5vt9 = k5vt8 * 2.0f;
            float k5vt10 = tanh_2[(r * 4) + i1];
            float k5vt11 = 1.0f - k5vt10;
            mul_7[(r * 4) + i1] = k5vt9 * k5vt11;
        }
        /* row of add */
        for (long i1 = 0; i1 < 4; ++i1) {
            float k6vt1 = mul_7[(r * 4) + i1];
            float k6vt2 = tanh_2[(r * 4) + i1];
            float k6vt3 = k6vt1 * k6vt2;
            add_8[(r * 4) + i1] = k6vt1 + k6vt3;
        }
    }
}
