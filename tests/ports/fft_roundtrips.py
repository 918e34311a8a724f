"""`jax.numpy.fft` beyond the common transforms, as signal-processing code uses it:
round trips of `fft`/`ifft`, `rfft`/`irfft` with odd `n` and padding/truncating `n`,
`fftn`/`ifftn` with `s=` and `axes=`, `rfftn`/`irfftn` and `rfft2`/`irfft2`, `hfft`/
`ihfft`, each `norm` ("backward", "ortho", "forward"), `fftshift`/`ifftshift` over some
axes, `fftfreq`/`rfftfreq` with `d=`, dtypes (float32 -> complex64, int inputs), a
circular convolution by FFT against `jnp.convolve`, a power spectrum, and gradients of real
losses through `rfft`, `irfft` (odd and even lengths), `fft2` and `hfft`."""
import jax
import jax.numpy as jnp
from jax import random


def parts(c):
    return jnp.stack([c.real, c.imag])


def run():
    key = random.PRNGKey(0)
    k1, k2, k3 = random.split(key, 3)
    x = random.normal(k1, (10,))
    y = random.normal(k2, (9,))
    img = random.normal(k3, (4, 6))
    cube = jnp.arange(24.0).reshape(2, 3, 4)
    spec = jnp.fft.rfft(x)
    h = jnp.array([1.0, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    circ = jnp.fft.irfft(jnp.fft.rfft(x) * jnp.fft.rfft(h), n=10)
    lin = jnp.convolve(jnp.concatenate([x[-2:], x]), h[:3], mode="valid")

    def power(v):
        return jnp.abs(jnp.fft.rfft(v)) ** 2

    return {
        "fft_roundtrip": jnp.fft.ifft(jnp.fft.fft(x)).real,
        "rfft": parts(spec),
        "rfft_dtype": str(spec.dtype),
        "rfft_int": jnp.abs(jnp.fft.rfft(jnp.arange(6))),
        "irfft_odd": jnp.fft.irfft(jnp.fft.rfft(y), n=9),
        "irfft_default_n": jnp.fft.irfft(jnp.fft.rfft(y)),
        "rfft_pad": jnp.abs(jnp.fft.rfft(x, n=16)),
        "rfft_truncate": jnp.abs(jnp.fft.rfft(x, n=6)),
        "fft_ortho": jnp.abs(jnp.fft.fft(x, norm="ortho")),
        "fft_forward": jnp.abs(jnp.fft.fft(x, norm="forward")),
        "ifft_forward": jnp.fft.ifft(jnp.fft.fft(x, norm="forward"), norm="forward").real,
        "fftn_s_axes": jnp.abs(jnp.fft.fftn(cube, s=(4, 2), axes=(0, 2))).reshape(-1),
        "ifftn": jnp.fft.ifftn(jnp.fft.fftn(cube)).real,
        "rfftn": jnp.abs(jnp.fft.rfftn(cube)).reshape(-1),
        "irfftn_s": jnp.fft.irfftn(jnp.fft.rfftn(cube), s=(2, 3, 4)),
        "irfftn_odd_s": jnp.fft.irfftn(jnp.fft.rfftn(img, axes=(0, 1)), s=(4, 5)),
        "rfft2": jnp.abs(jnp.fft.rfft2(img)),
        "irfft2": jnp.fft.irfft2(jnp.fft.rfft2(img), s=img.shape),
        "fft2_axes": jnp.abs(jnp.fft.fft2(cube, axes=(0, 2))).reshape(-1),
        "hfft": jnp.fft.hfft(jnp.array([1.0, 2.0 - 1.0j, 0.5j])),
        "hfft_n": jnp.fft.hfft(jnp.array([1.0, 2.0 - 1.0j, 0.5j]), n=5),
        "ihfft": parts(jnp.fft.ihfft(x)),
        "fftshift_axis": jnp.fft.fftshift(img, axes=1),
        "ifftshift": jnp.fft.ifftshift(jnp.arange(7)),
        "fftshift_2d": jnp.fft.fftshift(jnp.arange(12).reshape(3, 4)),
        "fftfreq": jnp.fft.fftfreq(7, d=0.5),
        "rfftfreq": jnp.fft.rfftfreq(8, d=0.1),
        "circular_conv": circ,
        "circular_vs_direct": jnp.max(jnp.abs(circ - lin)) < 1e-5,
        "power_spectrum": power(x),
        "grad_power": jax.grad(lambda v: jnp.sum(power(v) * jnp.arange(6.0)))(x),
        "grad_irfft_even": parts(jax.grad(lambda c: jnp.sum(jnp.fft.irfft(c, n=10) * x))(
            spec)),
        "grad_irfft_odd": parts(jax.grad(lambda c: jnp.sum(jnp.fft.irfft(c, n=9) ** 2))(
            jnp.fft.rfft(y))),
        "grad_fft2": jax.grad(lambda m: jnp.sum(jnp.abs(jnp.fft.fft2(m)) ** 2))(img),
        "grad_hfft": parts(jax.grad(lambda c: jnp.sum(jnp.fft.hfft(c, n=6) * jnp.arange(6.0)))(
            jnp.array([1.0 + 0.0j, 2.0 - 1.0j, 0.5j, 1.0]))),
        "grad_rfft_pad": jax.grad(lambda v: jnp.sum(jnp.abs(jnp.fft.rfft(v, n=16))))(x),
    }


if __name__ == "__main__":
    print(run())
