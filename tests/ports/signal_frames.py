"""Audio-style signal processing written by hand in JAX: framing a signal with a gather of
frame indices and, equivalently, with `lax.dynamic_slice` under `vmap`, a periodic Hann
window, a short-time Fourier transform with `jnp.fft.rfft`, magnitude, phase and a log
power spectrogram, the overlap-add inverse with `.at[].add` and window-square
normalisation, a mel-like triangular filterbank built with `jnp.interp`, `jnp.convolve`
and `jnp.correlate` in each mode (full, same, valid) for FIR smoothing and template
matching, resampling with `jnp.interp`, first-order IIR and pre-emphasis filters from
`jnp.diff`/`jnp.cumsum` and a `lax.scan`, all under `jit`, and the gradient of a
spectral loss with respect to the signal."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax, random

N_FFT = 16
HOP = 4


def hann(n):
    k = jnp.arange(n)
    return 0.5 - 0.5 * jnp.cos(2 * jnp.pi * k / n)


def frame_gather(x, n_fft=N_FFT, hop=HOP):
    n_frames = 1 + (x.shape[0] - n_fft) // hop
    idx = jnp.arange(n_fft)[None, :] + hop * jnp.arange(n_frames)[:, None]
    return x[idx]


def frame_dynamic(x, n_fft=N_FFT, hop=HOP):
    n_frames = 1 + (x.shape[0] - n_fft) // hop
    starts = jnp.arange(n_frames) * hop
    return jax.vmap(lambda s: lax.dynamic_slice(x, (s,), (n_fft,)))(starts)


@jax.jit
def stft(x):
    xp = jnp.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")
    frames = frame_gather(xp) * hann(N_FFT)
    return jnp.fft.rfft(frames, axis=-1)


@partial(jax.jit, static_argnames=("length",))
def istft(spec, length):
    frames = jnp.fft.irfft(spec, n=N_FFT, axis=-1) * hann(N_FFT)
    n_frames = frames.shape[0]
    total = N_FFT + HOP * (n_frames - 1)
    idx = jnp.arange(N_FFT)[None, :] + HOP * jnp.arange(n_frames)[:, None]
    out = jnp.zeros(total).at[idx].add(frames)
    norm = jnp.zeros(total).at[idx].add(jnp.broadcast_to(hann(N_FFT) ** 2, frames.shape))
    out = out / jnp.where(norm > 1e-6, norm, 1.0)
    return out[N_FFT // 2:N_FFT // 2 + length]


def mel_filterbank(n_bins, n_filters, sr):
    freqs = jnp.linspace(0.0, sr / 2, n_bins)
    hz_to_mel = lambda f: 2595.0 * jnp.log10(1.0 + f / 700.0)
    mel_to_hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    mels = jnp.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_filters + 2)
    hz = mel_to_hz(mels)
    banks = []
    for i in range(n_filters):
        xp = jnp.stack([hz[i], hz[i + 1], hz[i + 2]])
        banks.append(jnp.interp(freqs, xp, jnp.array([0.0, 1.0, 0.0]), left=0.0, right=0.0))
    return jnp.stack(banks)


def iir_lowpass(x, alpha):
    def step(y_prev, xi):
        y = alpha * xi + (1 - alpha) * y_prev
        return y, y
    _, y = lax.scan(step, x[0], x)
    return y


def pre_emphasis(x, coef=0.97):
    return jnp.concatenate([x[:1], x[1:] - coef * x[:-1]])


def de_emphasis_cumsum(x):
    # inverse of a plain difference: cumsum undoes jnp.diff with a prepended sample
    return jnp.cumsum(jnp.diff(x, prepend=0.0))


def run():
    key = random.PRNGKey(7)
    k1, k2 = random.split(key)
    sr = 64.0
    t = jnp.arange(64) / sr
    x = (jnp.sin(2 * jnp.pi * 5.0 * t) + 0.5 * jnp.sin(2 * jnp.pi * 13.0 * t + 0.3)
         + 0.1 * random.normal(k1, (64,)))

    frames_g = frame_gather(x)
    frames_d = jax.jit(frame_dynamic)(x)
    spec = stft(x)
    mag = jnp.abs(spec)
    phase = jnp.angle(spec)
    log_power = jnp.log(mag ** 2 + 1e-6)
    recon = istft(spec, x.shape[0])

    fb = mel_filterbank(N_FFT // 2 + 1, 4, sr)
    mel = jnp.log1p(mag ** 2 @ fb.T)

    kernel = jnp.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
    template = jnp.sin(2 * jnp.pi * 5.0 * t[:8])
    conv = jax.jit(lambda x: {m: jnp.convolve(x, kernel, mode=m) for m in ("full", "same",
                                                                         "valid")})(x)
    corr = {m: jnp.correlate(x, template, mode=m) for m in ("full", "same", "valid")}
    corr_short = jnp.correlate(template[:3], x[:7], mode="full")
    int_conv = jnp.convolve(jnp.array([1, 2, 3], jnp.int32), jnp.array([0, 1, -1], jnp.int32))
    best_lag = jnp.argmax(corr["valid"])

    t_new = jnp.linspace(0.0, t[-1], 23)
    resampled = jax.jit(jnp.interp)(t_new, t, x)
    outside = jnp.interp(jnp.array([-1.0, 0.0, 0.5, 2.0]), t, x)
    periodic = jnp.interp(jnp.array([-0.2, 1.3, 2.7]), jnp.array([0.0, 0.5, 1.0]),
                          jnp.array([1.0, 3.0, 2.0]), period=1.0)

    lp = jax.jit(iir_lowpass)(x, 0.3)
    emph = pre_emphasis(x)
    undone = de_emphasis_cumsum(x)
    d2 = jnp.diff(x, n=2)

    clean = jnp.sin(2 * jnp.pi * 5.0 * t)

    def spectral_loss(sig):
        return jnp.mean((jnp.abs(stft(sig)) - jnp.abs(stft(clean))) ** 2)

    loss, g = jax.jit(jax.value_and_grad(spectral_loss))(x)

    batch = jnp.stack([x, clean, 0.5 * x[::-1]])
    batch_energy = jax.jit(jax.vmap(lambda s: jnp.sum(jnp.abs(stft(s)) ** 2, axis=-1)))(batch)

    return {
        "frames_equal": jnp.array_equal(frames_g, frames_d),
        "frames_shape": jnp.array(frames_g.shape),
        "window": hann(N_FFT),
        "mag": mag,
        "phase_row2": phase[2],
        "log_power_row5": log_power[5],
        "dominant_bin": jnp.argmax(mag, axis=-1),
        "recon": recon,
        "recon_err_small": jnp.max(jnp.abs(recon - x)) < 1e-4,
        "mel_fb": fb,
        "mel": mel,
        "conv_full": conv["full"],
        "conv_same": conv["same"],
        "conv_valid": conv["valid"],
        "corr_full": corr["full"],
        "corr_same": corr["same"],
        "corr_valid": corr["valid"],
        "corr_short": corr_short,
        "int_conv": int_conv,
        "best_lag": best_lag,
        "resampled": resampled,
        "interp_outside": outside,
        "interp_periodic": periodic,
        "iir_lowpass": lp,
        "pre_emphasis": emph,
        "cumsum_diff": undone,
        "diff2": d2,
        "spectral_loss": loss,
        "spectral_grad": g,
        "batch_energy": batch_energy,
    }


if __name__ == "__main__":
    print(run())
