
__kernel void chain(__global const float* restrict x, __global const float* restrict z, __global float* restrict y, long n) {
    long i = (long)get_global_id(0);
    if (i < n) {
        float xi = x[i];
        y[i] = ((tanh(xi) * z[i]) + (exp((-xi) * xi) * 0.5f)) + log1p(fabs(xi));
    }
}
