"""Check cdsl's own float32 exp, log and tanh (`uexp_f32`, `ulog_f32`, `utanh_f32` in
cdsl/helpers.py) on every one of the 2^32 float32 inputs against the double-precision libm
result, and libmvec's vector expf/logf/tanhf beside them for comparison.

    python scripts/check_float32_helpers.py            # -march=native (FMA where the CPU has it)
    python scripts/check_float32_helpers.py --no-fma   # the helpers' plain branch (x86-64-v2)
    python scripts/check_float32_helpers.py --only tanh

Prints the largest error in ulps of each function and the input where it occurs, and exits
non-zero when a helper exceeds its bound (exp 1.05 ulp, log 1.0 ulp, tanh 1.1 ulp; a zero,
infinity or NaN that is not exactly what C99 gives counts as an error of 1e9). About a minute
a function on one core (tanh: three). Run it after changing a helper's polynomial or
reduction; the unit tests check a sweep only.

On a CPU with AVX-512 it also compares exp's and tanh's vector variants
(cdsl/vector_helpers.py: 16, 8 and 4 lanes, called from vectorised loops) with the scalar
helper bit for bit on every input (any NaN matching any NaN), and exits non-zero at a
difference.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cdsl import helpers, vector_helpers  # noqa: E402

BOUNDS = {"exp": 1.05, "log": 1.0, "tanh": 1.1}

HARNESS = r"""
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float logf(float);
#pragma omp declare simd notinbranch
float tanhf(float);

static inline float uexp_f32(float a) {
%(uexp)s
}
static inline float ulog_f32(float a) {
%(ulog)s
}
static inline float utanh_f32(float a) {
%(utanh)s
}
%(companions)s

#define CHUNK 65536
static float in[CHUNK], mine[CHUNK], lib[CHUNK];

#define RUN(name, fn) __attribute__((noinline)) static void name(float *o) { \
    _Pragma("omp simd") for (int i = 0; i < CHUNK; i++) o[i] = fn(in[i]); }
RUN(run_uexp, uexp_f32) RUN(run_expf, expf) RUN(run_ulog, ulog_f32) RUN(run_logf, logf)
RUN(run_utanh, utanh_f32) RUN(run_tanhf, tanhf)
#define RUNV(name, fn, lanes) __attribute__((noinline)) static void name(float *o) { \
    _Pragma(lanes) for (int i = 0; i < CHUNK; i++) o[i] = fn(in[i]); }
RUNV(run_uexpv16, uexpv_f32, "omp simd simdlen(16)")
RUNV(run_uexpv8, uexpv_f32, "omp simd simdlen(8)")
RUNV(run_uexpv4, uexpv_f32, "omp simd simdlen(4)")
RUNV(run_utanhv4, utanhv_f32, "omp simd simdlen(4)")
RUNV(run_utanhv16, utanhv_f32, "omp simd simdlen(16)")
RUNV(run_utanhv8, utanhv_f32, "omp simd simdlen(8)")

/* |got - exact| in ulps of the float32 nearest the exact value (subnormal spacing below) */
static double ulps(float got, double exact) {
    if (isnan(exact)) return isnan(got) ? 0 : 1e9;
    float r = (float)exact;
    if (isinf(r) || r == 0) return (got == r && signbit(got) == signbit(r)) ? 0 : 1e9;
    int e; frexp(exact, &e);
    double u = ldexp(1.0, (e - 24 < -149) ? -149 : e - 24);
    return fabs((double)got - exact) / u;
}

static void check(const char *name, void (*run_mine)(float *), void (*run_lib)(float *),
                  double (*ref)(double)) {
    double worst_mine = 0, worst_lib = 0;
    float at_mine = 0, at_lib = 0;
    for (uint64_t base = 0; base < 0x100000000ull; base += CHUNK) {
        for (int i = 0; i < CHUNK; i++) {
            uint32_t b = (uint32_t)(base + i);
            memcpy(&in[i], &b, 4);
        }
        run_mine(mine); run_lib(lib);
        for (int i = 0; i < CHUNK; i++) {
            double exact = ref((double)in[i]);
            double a = ulps(mine[i], exact), b = ulps(lib[i], exact);
            if (a > worst_mine) { worst_mine = a; at_mine = in[i]; }
            if (b > worst_lib) { worst_lib = b; at_lib = in[i]; }
        }
    }
    printf("%%s %%.4f %%a %%.4f %%a\n", name, worst_mine, at_mine, worst_lib, at_lib);
    fflush(stdout);
}

/* the vector variants against the scalar helper, bit for bit (NaN matching NaN) */
static void same(const char *name, void (*run_scalar)(float *), void (*run_vec)(float *)) {
    uint64_t differ = 0;
    float at = 0;
    for (uint64_t base = 0; base < 0x100000000ull; base += CHUNK) {
        for (int i = 0; i < CHUNK; i++) {
            uint32_t b = (uint32_t)(base + i);
            memcpy(&in[i], &b, 4);
        }
        run_scalar(mine); run_vec(lib);
        for (int i = 0; i < CHUNK; i++)
            if (memcmp(&mine[i], &lib[i], 4) && !(isnan(mine[i]) && isnan(lib[i]))) {
                if (!differ) at = in[i];
                differ++;
            }
    }
    printf("same-%%s %%llu %%a\n", name, (unsigned long long)differ, at);
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : "";
    if (!*only || !strcmp(only, "exp")) check("exp", run_uexp, run_expf, exp);
    if (!*only || !strcmp(only, "log")) check("log", run_ulog, run_logf, log);
    if (!*only || !strcmp(only, "tanh")) check("tanh", run_utanh, run_tanhf, tanh);
#if defined(__AVX512F__) && defined(__AVX512VL__)
    if (!*only || !strcmp(only, "exp")) {
        same("exp16", run_uexp, run_uexpv16); same("exp8", run_uexp, run_uexpv8);
        same("exp4", run_uexp, run_uexpv4);
    }
    if (!*only || !strcmp(only, "tanh")) {
        same("tanh16", run_utanh, run_utanhv16); same("tanh8", run_utanh, run_utanhv8);
        same("tanh4", run_utanh, run_utanhv4);
    }
#endif
    return 0;
}
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-fma", action="store_true",
                    help="compile for x86-64-v2 (no FMA): the helpers' plain branch")
    ap.add_argument("--only", choices=sorted(BOUNDS), help="check one function")
    args = ap.parse_args(argv)
    src = HARNESS % {"uexp": "\n".join(helpers._UEXP_F32),
                     "ulog": "\n".join(helpers._ULOG_F32),
                     "utanh": "\n".join(helpers._UTANH_F32),
                     "companions": "\n".join(line for h in vector_helpers.CALL_NAMES
                                              for line in vector_helpers.companion(h))}
    march = "-march=x86-64-v2" if args.no_fma else "-march=native"
    with tempfile.TemporaryDirectory() as d:
        c, exe = os.path.join(d, "check.c"), os.path.join(d, "check")
        with open(c, "w") as f:
            f.write(src)
        subprocess.run(["gcc", "-O3", march, "-fno-math-errno", "-fno-trapping-math",
                        "-ffp-contract=off", "-fopenmp", c, "-o", exe, "-lmvec", "-lm"],
                       check=True)
        out = subprocess.run([exe] + ([args.only] if args.only else []), check=True,
                             capture_output=True, text=True).stdout
    ok = True
    for line in out.split("\n"):
        if not line:
            continue
        if line.startswith("same-"):
            name, differ, at = line.split()
            ok &= differ == "0"
            print(f"{name[5:]} vector variant: {differ} inputs differ from the scalar helper"
                  + (f" (first at {float.fromhex(at):.9g})" if differ != "0" else ""))
            continue
        name, mine, at_mine, lib, at_lib = line.split()
        mine, lib = float(mine), float(lib)
        bad = mine > BOUNDS[name]
        ok &= not bad
        print(f"{name}: cdsl {mine:.3f} ulp (at {float.fromhex(at_mine):.9g}), "
              f"libmvec {lib:.3f} ulp (at {float.fromhex(at_lib):.9g})"
              f"{'  EXCEEDS ' + str(BOUNDS[name]) if bad else ''}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
