"""Our FFT kernel in C, behind the `fft` primitive (`prims/fft.py`): complex-to-complex,
real-to-complex and complex-to-real transforms of contiguous rows, in single and double
precision, compiled once through `cdsl.compile.load` (cffi ABI mode, on-disk cache) and
called on NumPy buffers.

The algorithm: a mixed-radix Stockham autosort FFT (out of place, ping-pong between the
output and one scratch row, so no bit reversal) with hand-written radix-2, 3, 4, 5 and 8
butterflies and a generic O(p^2) butterfly for the other prime factors up to `MAX_RADIX`.
Sizes with a larger prime factor (17 is small enough; 97, 1009, 65537 are not) use
Bluestein's chirp-z algorithm: the DFT of length n as a circular convolution of length
m >= 2n - 1 (the smallest 2^a 3^b 5^c), done with the radix-2/3/4/5 transform. Twiddle
factors and chirps are computed once per plan in double precision from exactly reduced angles
(`r*k mod N`, `k^2 mod 2n`), then rounded to the working precision.

Real transforms of an even length L pack the row as L/2 complex numbers (even samples as
real parts, odd ones as imaginary parts), transform that, and split the spectrum with the
twiddles e^{-2 pi i k / L}; odd lengths go through the complex transform. The inverse
(complex-to-real) ignores the imaginary parts of the zero and Nyquist bins, as NumPy's
pocketfft does. Forward transforms are unnormalised; inverse ones divide by the length.

Plans are cached per (kind, length, precision) for the life of the process (they hold
O(n) twiddles); executing a plan allocates its own scratch, so plans are shared by
threads. A call of many rows shares them between OpenMP threads (`_threads`: as many as
compiled code would use now), each with its own scratch; a row's bits do not depend on
the thread that transforms it.
"""
from __future__ import annotations

import os
import threading

import numpy as np

MAX_RADIX = 31

_TEMPLATE = r"""
typedef struct { REAL re, im; } cpxSFX;

typedef struct planSFX {
    int64_t n;              /* transform length */
    int nf;                 /* Stockham stages (0 for Bluestein) */
    int fac[64];
    cpxSFX *tw[64];         /* per stage: Ns*(p-1) twiddles w^(r*k), k < Ns, 1 <= r < p */
    cpxSFX *roots[64];      /* per generic stage: the p-th roots of unity */
    int64_t m;              /* Bluestein: convolution length (0 otherwise) */
    struct planSFX *sub;    /* Bluestein: the power-of-two plan of length m */
    cpxSFX *chirp;          /* Bluestein: e^{-pi i k^2 / n}, k < n */
    cpxSFX *bhat;           /* Bluestein: FFT of the conjugate chirp, divided by m */
} planSFX;

typedef struct {
    int64_t n;              /* real length */
    planSFX *c;             /* complex plan of length n/2 (even n) or n (odd n) */
    cpxSFX *rtw;            /* even n: e^{-2 pi i k / n}, k < n/2 */
} rplanSFX;

static cpxSFX cmulSFX(cpxSFX a, cpxSFX b) {
    cpxSFX r = {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
    return r;
}

static cpxSFX root_SFX(int64_t num, int64_t den) {
    /* e^{-2 pi i num / den} from an exactly reduced angle */
    num %= den;
    if (num < 0) num += den;
    double a = -2.0 * M_PI * (double)num / (double)den;
    cpxSFX r = {(REAL)cos(a), (REAL)sin(a)};
    return r;
}

void fft_plan_free_SFX(planSFX *p) {
    if (!p) return;
    for (int s = 0; s < p->nf; s++) { free(p->tw[s]); free(p->roots[s]); }
    fft_plan_free_SFX(p->sub);
    free(p->chirp);
    free(p->bhat);
    free(p);
}

static void exec_SFX(const planSFX *p, const cpxSFX *in, cpxSFX *out, cpxSFX *work);

planSFX *fft_plan_SFX(int64_t n, int max_radix) {
    planSFX *p = (planSFX *)calloc(1, sizeof(planSFX));
    if (!p) return NULL;
    p->n = n;
    int64_t rest = n;
    int nf = 0;
    while (rest % 8 == 0 && nf < 60) { p->fac[nf++] = 8; rest /= 8; }
    while (rest % 4 == 0 && nf < 60) { p->fac[nf++] = 4; rest /= 4; }
    for (int64_t f = 2; f <= max_radix && rest > 1 && nf < 60; ) {
        if (rest % f == 0) { p->fac[nf++] = (int)f; rest /= f; }
        else f++;
    }
    if (rest == 1) {
        p->nf = nf;
        int64_t ns = 1;
        for (int s = 0; s < nf; s++) {
            int r = p->fac[s];
            p->tw[s] = (cpxSFX *)malloc(sizeof(cpxSFX) * (size_t)(ns * (r - 1) + 1));
            if (!p->tw[s]) { fft_plan_free_SFX(p); return NULL; }
            for (int64_t k = 0; k < ns; k++)
                for (int q = 1; q < r; q++)
                    p->tw[s][k * (r - 1) + q - 1] = root_SFX(q * k, ns * r);
            if (r > 5) {
                p->roots[s] = (cpxSFX *)malloc(sizeof(cpxSFX) * (size_t)r);
                if (!p->roots[s]) { fft_plan_free_SFX(p); return NULL; }
                for (int q = 0; q < r; q++) p->roots[s][q] = root_SFX(q, r);
            }
            ns *= r;
        }
        return p;
    }
    /* Bluestein */
    /* the smallest 2^a 3^b 5^c >= 2n - 1: the convolution runs on radix 2-5 stages */
    int64_t m = 1;
    while (m < 2 * n - 1) m *= 2;
    for (int64_t p5 = 1; p5 < m; p5 *= 5)
        for (int64_t p35 = p5; p35 < m; p35 *= 3) {
            int64_t c = p35;
            while (c < 2 * n - 1) c *= 2;
            if (c < m) m = c;
        }
    p->nf = 0;
    p->m = m;
    p->sub = fft_plan_SFX(m, 5);
    p->chirp = (cpxSFX *)malloc(sizeof(cpxSFX) * (size_t)n);
    p->bhat = (cpxSFX *)calloc((size_t)m, sizeof(cpxSFX));
    cpxSFX *b = (cpxSFX *)calloc((size_t)m, sizeof(cpxSFX));
    cpxSFX *work = (cpxSFX *)malloc(sizeof(cpxSFX) * (size_t)m);
    if (!p->sub || !p->chirp || !p->bhat || !b || !work) {
        free(b); free(work); fft_plan_free_SFX(p); return NULL;
    }
    for (int64_t k = 0; k < n; k++) {
        /* e^{-pi i k^2 / n} = e^{-2 pi i (k^2 mod 2n) / (2n)} */
        int64_t k2 = (int64_t)(((unsigned __int128)k * (unsigned __int128)k) %
                               (unsigned __int128)(2 * n));
        p->chirp[k] = root_SFX(k2, 2 * n);
        cpxSFX c = {p->chirp[k].re, -p->chirp[k].im};
        b[k] = c;
        if (k) b[m - k] = c;
    }
    exec_SFX(p->sub, b, p->bhat, work);
    for (int64_t k = 0; k < m; k++) { p->bhat[k].re /= (REAL)m; p->bhat[k].im /= (REAL)m; }
    free(b);
    free(work);
    return p;
}

static inline void dft4_SFX(cpxSFX a0, cpxSFX a1, cpxSFX a2, cpxSFX a3, cpxSFX *out) {
    REAL t0r = a0.re + a2.re, t0i = a0.im + a2.im;
    REAL t1r = a0.re - a2.re, t1i = a0.im - a2.im;
    REAL t2r = a1.re + a3.re, t2i = a1.im + a3.im;
    REAL t3r = a1.im - a3.im, t3i = a3.re - a1.re;      /* (a1 - a3) * (-i) */
    out[0].re = t0r + t2r; out[0].im = t0i + t2i;
    out[1].re = t1r + t3r; out[1].im = t1i + t3i;
    out[2].re = t0r - t2r; out[2].im = t0i - t2i;
    out[3].re = t1r - t3r; out[3].im = t1i - t3i;
}

/* One Stockham stage of radix r: y[(j - k) * r + k + q*ns] = sum_t x[j + t*n/r] w^(t k) e^... */
static void stage_SFX(int64_t n, int r, int64_t ns, const cpxSFX *x, cpxSFX *y,
                      const cpxSFX *tw, const cpxSFX *roots) {
    int64_t nr = n / r;
    cpxSFX v[64], o[64];
    for (int64_t j0 = 0; j0 < nr; j0 += ns) {
        for (int64_t k = 0; k < ns; k++) {
            int64_t j = j0 + k;
            const cpxSFX *w = tw + k * (r - 1);
            v[0] = x[j];
            if (ns == 1) {
                for (int q = 1; q < r; q++) v[q] = x[j + q * nr];
            } else {
                for (int q = 1; q < r; q++) v[q] = cmulSFX(x[j + q * nr], w[q - 1]);
            }
            cpxSFX *dst = y + j0 * r + k;
            if (r == 2) {
                dst[0].re = v[0].re + v[1].re; dst[0].im = v[0].im + v[1].im;
                dst[ns].re = v[0].re - v[1].re; dst[ns].im = v[0].im - v[1].im;
            } else if (r == 4) {
                REAL t0r = v[0].re + v[2].re, t0i = v[0].im + v[2].im;
                REAL t1r = v[0].re - v[2].re, t1i = v[0].im - v[2].im;
                REAL t2r = v[1].re + v[3].re, t2i = v[1].im + v[3].im;
                /* (v1 - v3) * (-i) */
                REAL t3r = v[1].im - v[3].im, t3i = v[3].re - v[1].re;
                dst[0].re = t0r + t2r; dst[0].im = t0i + t2i;
                dst[2 * ns].re = t0r - t2r; dst[2 * ns].im = t0i - t2i;
                dst[ns].re = t1r + t3r; dst[ns].im = t1i + t3i;
                dst[3 * ns].re = t1r - t3r; dst[3 * ns].im = t1i - t3i;
            } else if (r == 8) {
                /* two radix-4 DFTs of the even and odd inputs, joined by w8^k */
                cpxSFX e[4], o4[4];
                dft4_SFX(v[0], v[2], v[4], v[6], e);
                dft4_SFX(v[1], v[3], v[5], v[7], o4);
                const REAL h = (REAL)0.70710678118654752440;
                cpxSFX t[4];
                t[0] = o4[0];
                t[1].re = h * (o4[1].re + o4[1].im); t[1].im = h * (o4[1].im - o4[1].re);
                t[2].re = o4[2].im; t[2].im = -o4[2].re;
                t[3].re = h * (o4[3].im - o4[3].re); t[3].im = -h * (o4[3].re + o4[3].im);
                for (int q = 0; q < 4; q++) {
                    dst[q * ns].re = e[q].re + t[q].re; dst[q * ns].im = e[q].im + t[q].im;
                    dst[(q + 4) * ns].re = e[q].re - t[q].re;
                    dst[(q + 4) * ns].im = e[q].im - t[q].im;
                }
            } else if (r == 3) {
                const REAL h = (REAL)0.86602540378443864676;   /* sqrt(3)/2 */
                REAL s1r = v[1].re + v[2].re, s1i = v[1].im + v[2].im;
                REAL t2r = v[0].re - (REAL)0.5 * s1r, t2i = v[0].im - (REAL)0.5 * s1i;
                /* (v1 - v2) * (-i sqrt(3)/2) */
                REAL t3r = h * (v[1].im - v[2].im), t3i = -h * (v[1].re - v[2].re);
                dst[0].re = v[0].re + s1r; dst[0].im = v[0].im + s1i;
                dst[ns].re = t2r + t3r; dst[ns].im = t2i + t3i;
                dst[2 * ns].re = t2r - t3r; dst[2 * ns].im = t2i - t3i;
            } else if (r == 5) {
                const REAL c1 = (REAL)0.30901699437494742410, c2 = (REAL)-0.80901699437494742410;
                const REAL s1 = (REAL)0.95105651629515357212, s2 = (REAL)0.58778525229247312917;
                REAL b1r = v[1].re + v[4].re, b1i = v[1].im + v[4].im;
                REAL b2r = v[2].re + v[3].re, b2i = v[2].im + v[3].im;
                REAL d1r = v[1].re - v[4].re, d1i = v[1].im - v[4].im;
                REAL d2r = v[2].re - v[3].re, d2i = v[2].im - v[3].im;
                REAL ar = v[0].re + c1 * b1r + c2 * b2r, ai = v[0].im + c1 * b1i + c2 * b2i;
                REAL br = v[0].re + c2 * b1r + c1 * b2r, bi = v[0].im + c2 * b1i + c1 * b2i;
                REAL er = s1 * d1r + s2 * d2r, ei = s1 * d1i + s2 * d2i;
                REAL fr = s2 * d1r - s1 * d2r, fi = s2 * d1i - s1 * d2i;
                dst[0].re = v[0].re + b1r + b2r; dst[0].im = v[0].im + b1i + b2i;
                /* a - i e, a + i e; b - i f, b + i f */
                dst[ns].re = ar + ei; dst[ns].im = ai - er;
                dst[4 * ns].re = ar - ei; dst[4 * ns].im = ai + er;
                dst[2 * ns].re = br + fi; dst[2 * ns].im = bi - fr;
                dst[3 * ns].re = br - fi; dst[3 * ns].im = bi + fr;
            } else {
                /* odd prime r: pair t with r - t, so each output is v0 plus (r-1)/2 terms
                   (sum * cos, difference * sin) instead of r - 1 complex products */
                int hr = (r - 1) / 2;
                cpxSFX sm[32], df[32];
                REAL s0r = v[0].re, s0i = v[0].im;
                for (int t = 1; t <= hr; t++) {
                    sm[t].re = v[t].re + v[r - t].re; sm[t].im = v[t].im + v[r - t].im;
                    df[t].re = v[t].re - v[r - t].re; df[t].im = v[t].im - v[r - t].im;
                    s0r += sm[t].re; s0i += sm[t].im;
                }
                o[0].re = s0r; o[0].im = s0i;
                for (int q = 1; q <= hr; q++) {
                    REAL ar = v[0].re, ai = v[0].im, br = 0, bi = 0;
                    for (int t = 1, idx = q; t <= hr; t++) {
                        /* roots[idx] = cos - i sin of 2 pi t q / r */
                        REAL c = roots[idx].re, sn = -roots[idx].im;
                        ar += c * sm[t].re; ai += c * sm[t].im;
                        br += sn * df[t].re; bi += sn * df[t].im;
                        idx += q;
                        if (idx >= r) idx -= r;
                    }
                    /* a - i b and a + i b */
                    o[q].re = ar + bi; o[q].im = ai - br;
                    o[r - q].re = ar - bi; o[r - q].im = ai + br;
                }
                for (int q = 0; q < r; q++) dst[q * ns] = o[q];
            }
        }
    }
}

/* Forward transform of one row: `in` is read only; `work` holds max(n, 3m) entries. */
static void exec_SFX(const planSFX *p, const cpxSFX *in, cpxSFX *out, cpxSFX *work) {
    int64_t n = p->n;
    if (p->m) {
        int64_t m = p->m;
        cpxSFX *a = work, *A = work + m, *w2 = work + 2 * m;
        for (int64_t k = 0; k < n; k++) a[k] = cmulSFX(in[k], p->chirp[k]);
        for (int64_t k = n; k < m; k++) { a[k].re = 0; a[k].im = 0; }
        exec_SFX(p->sub, a, A, w2);
        /* inverse transform of A * bhat through the forward one: conj(F(conj(.))) */
        for (int64_t k = 0; k < m; k++) {
            cpxSFX t = cmulSFX(A[k], p->bhat[k]);
            a[k].re = t.re; a[k].im = -t.im;
        }
        exec_SFX(p->sub, a, A, w2);
        for (int64_t k = 0; k < n; k++) {
            cpxSFX c = {A[k].re, -A[k].im};
            out[k] = cmulSFX(c, p->chirp[k]);
        }
        return;
    }
    if (p->nf == 0) { if (n) out[0] = in[0]; return; }
    int64_t ns = 1;
    const cpxSFX *src = in;
    for (int s = 0; s < p->nf; s++) {
        cpxSFX *dst = ((p->nf - 1 - s) % 2 == 0) ? out : work;
        stage_SFX(n, p->fac[s], ns, src, dst, p->tw[s], p->roots[s]);
        src = dst;
        ns *= p->fac[s];
    }
}

static int64_t work_len_SFX(const planSFX *p) {
    return p->m ? 3 * p->m : (p->n > 0 ? p->n : 1);
}

/* rows transforms of contiguous rows of length n; inverse divides by n. 0 on success. */
int fft_c2c_SFX(const planSFX *p, const REAL *in, REAL *out, int64_t rows, int inverse,
                int threads) {
    int64_t n = p->n;
    int bad = 0;
    #pragma omp parallel num_threads(TEAM(threads, rows)) reduction(|: bad)
    {
    cpxSFX *work = (cpxSFX *)malloc(sizeof(cpxSFX) * (size_t)(work_len_SFX(p) + n));
    bad |= !work;
    cpxSFX *tmp = work ? work + work_len_SFX(p) : NULL;
    #pragma omp for schedule(static)
    for (int64_t b = 0; b < rows; b++) {
        if (!work) continue;
        const cpxSFX *x = (const cpxSFX *)in + b * n;
        cpxSFX *y = (cpxSFX *)out + b * n;
        if (!inverse) {
            exec_SFX(p, x, y, work);
        } else {
            for (int64_t k = 0; k < n; k++) { tmp[k].re = x[k].re; tmp[k].im = -x[k].im; }
            exec_SFX(p, tmp, y, work);
            REAL s = (REAL)(1.0 / (double)n);
            for (int64_t k = 0; k < n; k++) { y[k].re *= s; y[k].im = -y[k].im * s; }
        }
    }
    free(work);
    }
    return bad ? -1 : 0;
}

rplanSFX *fft_rplan_SFX(int64_t n, int max_radix) {
    rplanSFX *p = (rplanSFX *)calloc(1, sizeof(rplanSFX));
    if (!p) return NULL;
    p->n = n;
    int even = n % 2 == 0;
    p->c = fft_plan_SFX(even ? n / 2 : n, max_radix);
    if (!p->c) { free(p); return NULL; }
    if (even) {
        p->rtw = (cpxSFX *)malloc(sizeof(cpxSFX) * (size_t)(n / 2 + 1));
        if (!p->rtw) { fft_plan_free_SFX(p->c); free(p); return NULL; }
        for (int64_t k = 0; k < n / 2; k++) p->rtw[k] = root_SFX(k, n);
    }
    return p;
}

void fft_rplan_free_SFX(rplanSFX *p) {
    if (!p) return;
    fft_plan_free_SFX(p->c);
    free(p->rtw);
    free(p);
}

/* rows real rows of length n -> rows complex rows of length n/2 + 1 (unnormalised). */
int fft_r2c_SFX(const rplanSFX *p, const REAL *in, REAL *out, int64_t rows, int threads) {
    int64_t n = p->n, h = n / 2, nc = p->c->n;
    int bad = 0;
    #pragma omp parallel num_threads(TEAM(threads, rows)) reduction(|: bad)
    {
    cpxSFX *work = (cpxSFX *)malloc(sizeof(cpxSFX) * (size_t)(work_len_SFX(p->c) + 2 * nc));
    bad |= !work;
    cpxSFX *z = work ? work + work_len_SFX(p->c) : NULL, *Z = z ? z + nc : NULL;
    #pragma omp for schedule(static)
    for (int64_t b = 0; b < rows; b++) {
        if (!work) continue;
        const REAL *x = in + b * n;
        cpxSFX *X = (cpxSFX *)out + b * (h + 1);
        if (n % 2) {
            for (int64_t k = 0; k < n; k++) { z[k].re = x[k]; z[k].im = 0; }
            exec_SFX(p->c, z, Z, work);
            for (int64_t k = 0; k <= h; k++) X[k] = Z[k];
            continue;
        }
        exec_SFX(p->c, (const cpxSFX *)x, Z, work);
        for (int64_t k = 0; k < h; k++) {
            cpxSFX a = Z[k], c = Z[k ? h - k : 0];
            /* E = (a + conj c) / 2, O = (a - conj c) / (2i) */
            REAL er = (REAL)0.5 * (a.re + c.re), ei = (REAL)0.5 * (a.im - c.im);
            REAL orr = (REAL)0.5 * (a.im + c.im), oi = (REAL)-0.5 * (a.re - c.re);
            cpxSFX o = {orr, oi};
            cpxSFX wo = cmulSFX(p->rtw[k], o);
            X[k].re = er + wo.re; X[k].im = ei + wo.im;
        }
        /* Nyquist bin: E_0 - O_0 */
        X[h].re = Z[0].re - Z[0].im; X[h].im = 0;
    }
    free(work);
    }
    return bad ? -1 : 0;
}

/* rows complex rows of length n/2 + 1 -> rows real rows of length n (divided by n). */
int fft_c2r_SFX(const rplanSFX *p, const REAL *in, REAL *out, int64_t rows, int threads) {
    int64_t n = p->n, h = n / 2, nc = p->c->n;
    int bad = 0;
    #pragma omp parallel num_threads(TEAM(threads, rows)) reduction(|: bad)
    {
    cpxSFX *work = (cpxSFX *)malloc(sizeof(cpxSFX) * (size_t)(work_len_SFX(p->c) + 2 * nc));
    bad |= !work;
    cpxSFX *Z = work ? work + work_len_SFX(p->c) : NULL, *z = Z ? Z + nc : NULL;
    #pragma omp for schedule(static)
    for (int64_t b = 0; b < rows; b++) {
        if (!work) continue;
        const cpxSFX *X = (const cpxSFX *)in + b * (h + 1);
        REAL *x = out + b * n;
        if (n % 2) {
            Z[0].re = X[0].re; Z[0].im = 0;
            for (int64_t k = 1; k <= h; k++) {
                Z[k] = X[k];
                Z[n - k].re = X[k].re; Z[n - k].im = -X[k].im;
            }
            /* inverse through the forward transform: conj(F(conj(.))) / n */
            for (int64_t k = 0; k < n; k++) Z[k].im = -Z[k].im;
            exec_SFX(p->c, Z, z, work);
            REAL s = (REAL)(1.0 / (double)n);
            for (int64_t k = 0; k < n; k++) x[k] = z[k].re * s;
            continue;
        }
        for (int64_t k = 0; k < h; k++) {
            cpxSFX a = X[k], c = X[h - k];
            if (k == 0) { a.im = 0; c.im = 0; }
            /* E = (a + conj c) / 2, O = (a - conj c) conj(w^k) / 2, Z = E + i O */
            REAL er = (REAL)0.5 * (a.re + c.re), ei = (REAL)0.5 * (a.im - c.im);
            cpxSFX d = {(REAL)0.5 * (a.re - c.re), (REAL)0.5 * (a.im + c.im)};
            cpxSFX wc = {p->rtw[k].re, -p->rtw[k].im};
            cpxSFX o = cmulSFX(d, wc);
            /* conjugated, for the inverse through the forward transform */
            Z[k].re = er - o.im; Z[k].im = -(ei + o.re);
        }
        exec_SFX(p->c, Z, z, work);
        REAL s = (REAL)(1.0 / (double)h);
        for (int64_t k = 0; k < h; k++) { x[2 * k] = z[k].re * s; x[2 * k + 1] = -z[k].im * s; }
    }
    free(work);
    }
    return bad ? -1 : 0;
}
"""

# TEAM: the threads that share a call's rows, each with its own scratch (the caller's
# `threads`, at most one per row)
_HEADER = ("#include <stdint.h>\n#include <stdlib.h>\n#include <math.h>\n"
           "#define TEAM(t, rows) ((int)((t) < 1 ? 1 : ((rows) < (t) ? (rows) : (t))))\n")

_CDEF_TEMPLATE = """
void *fft_plan_SFX(int64_t n, int max_radix);
void fft_plan_free_SFX(void *p);
int fft_c2c_SFX(void *p, REAL *in, REAL *out, int64_t rows, int inverse, int threads);
void *fft_rplan_SFX(int64_t n, int max_radix);
void fft_rplan_free_SFX(void *p);
int fft_r2c_SFX(void *p, REAL *in, REAL *out, int64_t rows, int threads);
int fft_c2r_SFX(void *p, REAL *in, REAL *out, int64_t rows, int threads);
"""


def _instances(template: str) -> str:
    return "".join(template.replace("REAL", real).replace("SFX", sfx)
                   for real, sfx in (("float", "f"), ("double", "d")))


SOURCE = _HEADER + _instances(_TEMPLATE)
CDEF = _instances(_CDEF_TEMPLATE)

_state: dict = {}
_lock = threading.Lock()


def library():
    """The compiled kernel (a `cdsl.compile.Library`), built or loaded once; raises
    `cdsl.compile.CompileError` (or its `CompilerUnavailable`) when it cannot be."""
    lib = _state.get("lib")
    if lib is None:
        with _lock:
            lib = _state.get("lib")
            if lib is None:
                from cdsl import compile as _compile
                # (the shared flags: -O3 -march=native -fopenmp, which the row loops use)
                lib = _state["lib"] = _compile.load(SOURCE, CDEF)
    return lib


def available() -> bool:
    """Whether the kernel can be used here: a C compiler, or the module in the cache. (A
    compiler that rejects the source is a bug of ours and raises.)"""
    if "ok" not in _state:
        from cdsl import compile as _compile
        try:
            library()
            _state["ok"] = True
        except _compile.CompilerUnavailable:   # the environment: callers use NumPy instead
            _state["ok"] = False
    return _state["ok"]


class _Plan:
    """A C plan, freed with the object."""
    __slots__ = ("ptr", "free")

    def __init__(self, ptr, free):
        if ptr == library().ffi.NULL:
            raise MemoryError("fft: out of memory building a transform plan")
        self.ptr, self.free = ptr, free

    def __del__(self):
        try:
            self.free(self.ptr)
        except Exception:   # interpreter shutdown: the library may already be gone
            pass


_plans: dict = {}


def _plan(kind: str, n: int, sfx: str) -> _Plan:
    key = (kind, n, sfx)
    p = _plans.get(key)
    if p is None:
        lib = library()
        make = getattr(lib, f"fft_{'r' if kind == 'r' else ''}plan_{sfx}")
        free = getattr(lib, f"fft_{'r' if kind == 'r' else ''}plan_free_{sfx}")
        p = _Plan(make(n, MAX_RADIX), free)
        with _lock:
            p = _plans.setdefault(key, p)
    return p


def _sfx(dtype) -> str:
    return "f" if np.dtype(dtype) in (np.float32, np.complex64) else "d"


def _ptr(lib, a, sfx):
    return lib.ffi.from_buffer("float[]" if sfx == "f" else "double[]", a)


# Transforms of at least this many elements (rows x length) share their rows between the
# threads compiled code would use now: `team_size()`, which the C backend sets to
# `backends.threads.team_size` (the cores free of other processes' load, or the user's
# `cpu_threads`) when it loads (a primitive does not import a backend); one thread until
# then. 2048 rows of 1024 ran on one thread, 26 ms.
PARALLEL_MIN = 1 << 15
team_size = None
# The thread that forked this process, in a child of a fork: libgomp's thread pool there is
# the parent's, whose workers do not exist in the child, and a region of two threads would
# wait for them forever (as cdsl.runtime's `in_child` says for compiled code); that thread
# transforms on its own.
_fork_thread = None


def _in_child():
    global _fork_thread
    _fork_thread = threading.get_ident()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_child)


def _threads(rows: int, n: int) -> int:
    if rows < 2 or rows * n < PARALLEL_MIN or team_size is None or \
            threading.get_ident() == _fork_thread:
        return 1
    return team_size()


def _check(rc, what):
    if rc != 0:
        raise MemoryError(f"fft: out of memory in the {what} kernel")


def c2c(x: np.ndarray, inverse: bool = False) -> np.ndarray:
    """The DFT of each row (last axis) of complex `x` (complex64 or complex128); the inverse
    divides by the length. Returns a new array of `x`'s shape and dtype."""
    x = np.ascontiguousarray(x)
    if x.dtype not in (np.complex64, np.complex128):
        raise TypeError(f"fft c2c kernel: complex64 or complex128 input expected, got {x.dtype}")
    out = np.empty_like(x)
    n = x.shape[-1] if x.ndim else 1
    if x.size == 0:
        return out
    sfx = _sfx(x.dtype)
    lib = library()
    rows = x.size // n
    rc = getattr(lib, f"fft_c2c_{sfx}")(_plan("c", n, sfx).ptr, _ptr(lib, x, sfx),
                                       _ptr(lib, out, sfx), rows, int(inverse),
                                       _threads(rows, n))
    _check(rc, "complex")
    return out


def r2c(x: np.ndarray) -> np.ndarray:
    """The first n//2 + 1 DFT coefficients of each real row (last axis, length n) of `x`
    (float32 -> complex64, float64 -> complex128)."""
    x = np.ascontiguousarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"fft r2c kernel: float32 or float64 input expected, got {x.dtype}")
    n = x.shape[-1]
    cdt = np.complex64 if x.dtype == np.float32 else np.complex128
    out = np.empty(x.shape[:-1] + (n // 2 + 1,), cdt)
    if out.size == 0 or n == 0:
        return out
    sfx = _sfx(x.dtype)
    lib = library()
    rows = x.size // n
    rc = getattr(lib, f"fft_r2c_{sfx}")(_plan("r", n, sfx).ptr, _ptr(lib, x, sfx),
                                       _ptr(lib, out, sfx), rows, _threads(rows, n))
    _check(rc, "real-to-complex")
    return out


def c2r(x: np.ndarray, n: int) -> np.ndarray:
    """The real inverse DFT of length `n` of each row of Hermitian half-spectra `x` (whose
    last axis has n//2 + 1 entries), divided by n; complex64 -> float32."""
    x = np.ascontiguousarray(x)
    if x.dtype not in (np.complex64, np.complex128):
        raise TypeError(f"fft c2r kernel: complex64 or complex128 input expected, got {x.dtype}")
    if x.shape[-1] != n // 2 + 1:
        raise ValueError(f"fft c2r kernel: a length-{n} inverse takes {n // 2 + 1} "
                         f"coefficients per row, got {x.shape[-1]}")
    rdt = np.float32 if x.dtype == np.complex64 else np.float64
    out = np.empty(x.shape[:-1] + (n,), rdt)
    if out.size == 0:
        return out
    sfx = _sfx(x.dtype)
    lib = library()
    rows = out.size // n
    rc = getattr(lib, f"fft_c2r_{sfx}")(_plan("r", n, sfx).ptr, _ptr(lib, x, sfx),
                                       _ptr(lib, out, sfx), rows, _threads(rows, n))
    _check(rc, "complex-to-real")
    return out
