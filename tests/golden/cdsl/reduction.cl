#pragma OPENCL EXTENSION cl_khr_fp64 : enable

inline float max_f32(float a, float b) {
    return (((a > b) || (a != a)) || ((a == b) && (copysign(1.0f, b) < 0.0f))) ? a : b;
}

__kernel void rowstats(__global const float* restrict x, __global double* restrict ssq, __global float* restrict mx, long rows, long cols) {
    long r = (long)get_global_id(0);
    if (r < rows) {
        /* one row per work item */
        double acc = 0.0;
        float m = -INFINITY;
        for (long j = 0; j < cols; ++j) {
            float v = x[(r * cols) + j];
            acc += ((double)v) * ((double)v);
        }
        for (long j = 0; j < cols; ++j) {
            m = max_f32(m, x[(r * cols) + j]);
        }
        ssq[r] = acc;
        mx[r] = m;
    }
}
