#pragma OPENCL EXTENSION cl_khr_fp64 : enable

inline int idiv_i32(int a, int b) {
    return ((b == -1) && (a == (-2147483647 - 1))) ? (-2147483647 - 1) : ((b == 0) ? 0 : (a / b));
}

__kernel void misc(__global const double* restrict a, __global int* restrict k, __global double* restrict out, long n) {
    long i = (long)get_global_id(0);
    if (i < n) {
        double t = a[i];
        if (isnan(t)) {
            out[i] = (double)INFINITY;
        } else {
            out[i] = ((t > 0.0) ? sqrt(t) : (-t)) + 1e-300;
        }
        int q = idiv_i32(k[i], as_int((uint)k[i] - (uint)3));
        k[i] = (q << 2) ^ ((int)(i & 7));
        if ((i == 0) && (n > (-9223372036854775807L - 1))) {
            out[i] = ((double)NAN) * 0.1;
        }
    }
}
