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
#include <immintrin.h>
#pragma omp declare simd notinbranch simdlen(16)
#pragma omp declare simd notinbranch simdlen(8)
#pragma omp declare simd notinbranch simdlen(4)
__attribute__((const, nothrow)) float uexpv_f32(float);
static float uexpv_f32_scalar(float) __asm__("uexpv_f32");
static __attribute__((used)) float uexpv_f32_scalar(float a) { return uexp_f32(a); }
static __attribute__((used)) __m512 _ZGVeN16v_uexpv_f32(__m512 a) {
    __m512 x = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(_mm512_set1_ps(-150.0f), a));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.4426950216293335f)), 4);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(0.00021219444170128554f), r);
    __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(0.0013814546400681138f), r, _mm512_set1_ps(0.00836869701743126f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.04166838899254799f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.1666652113199234f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.4999999403953552f));
    __m512 p = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(q, _mm512_mul_ps(r, r), r));
    return _mm512_scalef_ps(p, n);
}
static __attribute__((used)) __m256 _ZGVeN8v_uexpv_f32(__m256 a) {
    __m256 x = _mm256_min_ps(_mm256_set1_ps(88.8f), _mm256_max_ps(_mm256_set1_ps(-150.0f), a));
    __m256 n = _mm256_roundscale_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.4426950216293335f)), 4);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(0.00021219444170128554f), r);
    __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(0.0013814546400681138f), r, _mm256_set1_ps(0.00836869701743126f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.04166838899254799f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.1666652113199234f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.4999999403953552f));
    __m256 p = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(q, _mm256_mul_ps(r, r), r));
    return _mm256_scalef_ps(p, n);
}
static __attribute__((used)) __m128 _ZGVeN4v_uexpv_f32(__m128 a) {
    __m128 x = _mm_min_ps(_mm_set1_ps(88.8f), _mm_max_ps(_mm_set1_ps(-150.0f), a));
    __m128 n = _mm_roundscale_ps(_mm_mul_ps(x, _mm_set1_ps(1.4426950216293335f)), 4);
    __m128 r = _mm_fmadd_ps(n, _mm_set1_ps(-0.693359375f), x);
    r = _mm_fmadd_ps(n, _mm_set1_ps(0.00021219444170128554f), r);
    __m128 q = _mm_fmadd_ps(_mm_set1_ps(0.0013814546400681138f), r, _mm_set1_ps(0.00836869701743126f));
    q = _mm_fmadd_ps(q, r, _mm_set1_ps(0.04166838899254799f));
    q = _mm_fmadd_ps(q, r, _mm_set1_ps(0.1666652113199234f));
    q = _mm_fmadd_ps(q, r, _mm_set1_ps(0.4999999403953552f));
    __m128 p = _mm_add_ps(_mm_set1_ps(1.0f), _mm_fmadd_ps(q, _mm_mul_ps(r, r), r));
    return _mm_scalef_ps(p, n);
}
#else
#define uexpv_f32 uexp_f32
#endif

static inline float utanh_f32(float a) {
    float x = __builtin_fabsf(a), s = a * a;
    /* |x| >= 0.9: e^2x = 2^n e^r, |r| <= ln2/2; above 9.5 tanh rounds
       to 1 (y clamped; a NaN x takes the polynomial, which keeps it NaN) */
    float y = 2.0f * ((x < 9.5f) ? x : 9.5f);
    float n = __builtin_rintf(y * 1.4426950216293335f);
    int32_t ei = ((int32_t)n + 127) << 23;
    float e; __builtin_memcpy(&e, &ei, 4);
    #ifdef FP_FAST_FMAF
    float u = fmaf(-0.000455473578767851f, s, 0.00258270394988358f);
    u = fmaf(u, s, -0.008264580741524696f);
    u = fmaf(u, s, 0.021663561463356018f);
    u = fmaf(u, s, -0.05392930656671524f);
    u = fmaf(u, s, 0.13332977890968323f);
    u = fmaf(u, s, -0.33333322405815125f);
    float small = fmaf(u * s, x, x);
    float r = fmaf(n, -0.693359375f, y);
    r = fmaf(n, 0.00021219444170128554f, r);
    float q = fmaf(0.0013814546400681138f, r, 0.00836869701743126f);
    q = fmaf(q, r, 0.04166838899254799f);
    q = fmaf(q, r, 0.1666652113199234f);
    q = fmaf(q, r, 0.4999999403953552f);
    float p = 1.0f + fmaf(q, r * r, r);
    float big = 1.0f - 2.0f / fmaf(p, e, 1.0f);
    #else
    float u = (-0.000455473578767851f * s + 0.00258270394988358f);
    u = (u * s + -0.008264580741524696f);
    u = (u * s + 0.021663561463356018f);
    u = (u * s + -0.05392930656671524f);
    u = (u * s + 0.13332977890968323f);
    u = (u * s + -0.33333322405815125f);
    float small = (u * s * x + x);
    float r = y - n * 0.693359375f;
    r = r + n * 0.00021219444170128554f;
    float q = 0.0013814546400681138f * r + 0.00836869701743126f;
    q = q * r + 0.04166838899254799f;
    q = q * r + 0.1666652113199234f;
    q = q * r + 0.4999999403953552f;
    float p = 1.0f + (q * (r * r) + r);
    float big = 1.0f - 2.0f / (p * e + 1.0f);
    #endif
    float t = (x >= 0.9f) ? big : small;
    return __builtin_copysignf(t, a);
}
#if defined(__GNUC__) && !defined(__clang__) && defined(_OPENMP) && defined(__AVX512F__) && defined(__AVX512VL__)
#include <immintrin.h>
#pragma omp declare simd notinbranch simdlen(16)
#pragma omp declare simd notinbranch simdlen(8)
#pragma omp declare simd notinbranch simdlen(4)
__attribute__((const, nothrow)) float utanhv_f32(float);
static float utanhv_f32_scalar(float) __asm__("utanhv_f32");
static __attribute__((used)) float utanhv_f32_scalar(float a) { return utanh_f32(a); }
static __attribute__((used)) __m512 _ZGVeN16v_utanhv_f32(__m512 a) {
    const __m512 sign = _mm512_set1_ps(-0.0f), one = _mm512_set1_ps(1.0f);
    __m512 ax = _mm512_andnot_ps(sign, a), s = _mm512_mul_ps(a, a);
    __m512 x = _mm512_mul_ps(_mm512_set1_ps(2.0f), _mm512_min_ps(ax, _mm512_set1_ps(9.5f)));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.4426950216293335f)), 4);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(0.00021219444170128554f), r);
    __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(0.0013814546400681138f), r, _mm512_set1_ps(0.00836869701743126f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.04166838899254799f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.1666652113199234f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.4999999403953552f));
    __m512 p = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(q, _mm512_mul_ps(r, r), r));
    __m512 e = _mm512_scalef_ps(one, n);
    __m512 u = _mm512_fmadd_ps(_mm512_set1_ps(-0.000455473578767851f), s, _mm512_set1_ps(0.00258270394988358f));
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(-0.008264580741524696f));
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(0.021663561463356018f));
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(-0.05392930656671524f));
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(0.13332977890968323f));
    u = _mm512_fmadd_ps(u, s, _mm512_set1_ps(-0.33333322405815125f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(u, s), ax, ax);
    __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_fmadd_ps(p, e, one)));
    __m512 t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.9f), _CMP_GE_OQ), small, big);
    return _mm512_or_ps(_mm512_and_ps(sign, a), _mm512_andnot_ps(sign, t));
}
static __attribute__((used)) __m256 _ZGVeN8v_utanhv_f32(__m256 a) {
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 ax = _mm256_andnot_ps(sign, a), s = _mm256_mul_ps(a, a);
    __m256 x = _mm256_mul_ps(_mm256_set1_ps(2.0f), _mm256_min_ps(ax, _mm256_set1_ps(9.5f)));
    __m256 n = _mm256_roundscale_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.4426950216293335f)), 4);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693359375f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(0.00021219444170128554f), r);
    __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(0.0013814546400681138f), r, _mm256_set1_ps(0.00836869701743126f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.04166838899254799f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.1666652113199234f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.4999999403953552f));
    __m256 p = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(q, _mm256_mul_ps(r, r), r));
    __m256 e = _mm256_scalef_ps(one, n);
    __m256 u = _mm256_fmadd_ps(_mm256_set1_ps(-0.000455473578767851f), s, _mm256_set1_ps(0.00258270394988358f));
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(-0.008264580741524696f));
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(0.021663561463356018f));
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(-0.05392930656671524f));
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(0.13332977890968323f));
    u = _mm256_fmadd_ps(u, s, _mm256_set1_ps(-0.33333322405815125f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(u, s), ax, ax);
    __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_fmadd_ps(p, e, one)));
    __m256 t = _mm256_mask_blend_ps(_mm256_cmp_ps_mask(ax, _mm256_set1_ps(0.9f), _CMP_GE_OQ), small, big);
    return _mm256_or_ps(_mm256_and_ps(sign, a), _mm256_andnot_ps(sign, t));
}
static __attribute__((used)) __m128 _ZGVeN4v_utanhv_f32(__m128 a) {
    const __m128 sign = _mm_set1_ps(-0.0f), one = _mm_set1_ps(1.0f);
    __m128 ax = _mm_andnot_ps(sign, a), s = _mm_mul_ps(a, a);
    __m128 x = _mm_mul_ps(_mm_set1_ps(2.0f), _mm_min_ps(ax, _mm_set1_ps(9.5f)));
    __m128 n = _mm_roundscale_ps(_mm_mul_ps(x, _mm_set1_ps(1.4426950216293335f)), 4);
    __m128 r = _mm_fmadd_ps(n, _mm_set1_ps(-0.693359375f), x);
    r = _mm_fmadd_ps(n, _mm_set1_ps(0.00021219444170128554f), r);
    __m128 q = _mm_fmadd_ps(_mm_set1_ps(0.0013814546400681138f), r, _mm_set1_ps(0.00836869701743126f));
    q = _mm_fmadd_ps(q, r, _mm_set1_ps(0.04166838899254799f));
    q = _mm_fmadd_ps(q, r, _mm_set1_ps(0.1666652113199234f));
    q = _mm_fmadd_ps(q, r, _mm_set1_ps(0.4999999403953552f));
    __m128 p = _mm_add_ps(_mm_set1_ps(1.0f), _mm_fmadd_ps(q, _mm_mul_ps(r, r), r));
    __m128 e = _mm_scalef_ps(one, n);
    __m128 u = _mm_fmadd_ps(_mm_set1_ps(-0.000455473578767851f), s, _mm_set1_ps(0.00258270394988358f));
    u = _mm_fmadd_ps(u, s, _mm_set1_ps(-0.008264580741524696f));
    u = _mm_fmadd_ps(u, s, _mm_set1_ps(0.021663561463356018f));
    u = _mm_fmadd_ps(u, s, _mm_set1_ps(-0.05392930656671524f));
    u = _mm_fmadd_ps(u, s, _mm_set1_ps(0.13332977890968323f));
    u = _mm_fmadd_ps(u, s, _mm_set1_ps(-0.33333322405815125f));
    __m128 small = _mm_fmadd_ps(_mm_mul_ps(u, s), ax, ax);
    __m128 big = _mm_sub_ps(one, _mm_div_ps(_mm_set1_ps(2.0f), _mm_fmadd_ps(p, e, one)));
    __m128 t = _mm_mask_blend_ps(_mm_cmp_ps_mask(ax, _mm_set1_ps(0.9f), _CMP_GE_OQ), small, big);
    return _mm_or_ps(_mm_and_ps(sign, a), _mm_andnot_ps(sign, t));
}
#else
#define utanhv_f32 utanh_f32
#endif

void chain(const float* restrict x, const float* restrict z, float* restrict y, int64_t n) {
    #pragma omp parallel for simd if(n >= 65536)
    for (int64_t i = 0; i < n; ++i) {
        float xi = x[i];
        y[i] = ((utanhv_f32(xi) * z[i]) + (uexpv_f32((-xi) * xi) * 0.5f)) + log1pf(fabsf(xi));
    }
}
