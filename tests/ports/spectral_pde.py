"""Spectral methods with `jax.numpy.fft`: the heat equation and viscous Burgers' equation
on a periodic grid stepped in Fourier space (`rfft`/`irfft`, `rfftfreq`, dealiasing),
spectral derivatives checked against the exact ones, `fft2`/`ifft2` with `fftshift` and
`fftfreq`, `norm="ortho"` and Parseval, and gradients through the solver: of the final
energy with respect to the viscosity and the initial condition, and of a real loss of
complex parameters (`jnp.abs`, `jnp.angle`, `jnp.conj`)."""
import jax
import jax.numpy as jnp
from jax import lax

N = 32
L = 2 * jnp.pi
x = jnp.linspace(0.0, L, N, endpoint=False)
k = 2 * jnp.pi * jnp.fft.rfftfreq(N, d=L / N)


def spectral_derivative(u, order=1):
    u_hat = jnp.fft.rfft(u)
    return jnp.fft.irfft((1j * k) ** order * u_hat, n=N)


def heat_step(u_hat, nu, dt):
    return u_hat * jnp.exp(-nu * k ** 2 * dt)


def burgers_rhs(u_hat, nu):
    dealias = (k < (2.0 / 3.0) * k.max()).astype(u_hat.dtype)
    u = jnp.fft.irfft(u_hat, n=N)
    ux = jnp.fft.irfft(1j * k * u_hat, n=N)
    nonlinear = jnp.fft.rfft(u * ux) * dealias
    return -nonlinear - nu * k ** 2 * u_hat


def burgers_solve(u0, nu, dt=0.01, steps=50):
    def step(u_hat, _):
        k1 = burgers_rhs(u_hat, nu)
        k2 = burgers_rhs(u_hat + 0.5 * dt * k1, nu)
        k3 = burgers_rhs(u_hat + 0.5 * dt * k2, nu)
        k4 = burgers_rhs(u_hat + dt * k3, nu)
        u_hat = u_hat + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return u_hat, jnp.sum(jnp.abs(u_hat) ** 2)

    u_hat, energies = lax.scan(step, jnp.fft.rfft(u0), None, length=steps)
    return jnp.fft.irfft(u_hat, n=N), energies


def final_energy(nu, u0):
    u, _ = burgers_solve(u0, nu)
    return jnp.mean(u ** 2)


def phase_loss(z):
    target = jnp.exp(1j * jnp.linspace(0.0, 1.0, z.shape[0]))
    return jnp.sum(jnp.abs(z - target) ** 2) + 0.1 * jnp.sum(jnp.angle(z) ** 2) \
        + jnp.real(jnp.sum(z * jnp.conj(z)))


def run():
    u0 = jnp.sin(x) + 0.5 * jnp.cos(2 * x)
    u_hat = jnp.fft.rfft(u0)
    heat = jnp.fft.irfft(heat_step(u_hat, 0.1, 0.5), n=N)
    solve = jax.jit(burgers_solve)
    u_end, energies = solve(u0, 0.05)
    img = jnp.outer(jnp.sin(x), jnp.cos(3 * x)) + 0.1 * x[:, None]
    F = jnp.fft.fft2(img)
    shifted = jnp.fft.fftshift(jnp.abs(F))
    z = jnp.array([1.0 + 0.5j, -0.3 + 1.0j, 0.2 - 0.7j, 2.0 + 0.0j], dtype=jnp.complex64)
    gz = jax.grad(phase_loss)(z)
    ortho = jnp.fft.fft(u0, norm="ortho")
    return {
        "rfft_dtype_real": jnp.real(u_hat),
        "rfft_imag": jnp.imag(u_hat),
        "rfftfreq": k,
        "fftfreq": jnp.fft.fftfreq(8, d=0.5),
        "fftshift_freq": jnp.fft.fftshift(jnp.fft.fftfreq(7)),
        "ifftshift": jnp.fft.ifftshift(jnp.arange(7)),
        "d1_close": jnp.allclose(spectral_derivative(u0), jnp.cos(x) - jnp.sin(2 * x),
                                 atol=1e-4),
        "d2": spectral_derivative(u0, 2)[:8],
        "heat": heat[:8],
        "burgers_u": u_end,
        "burgers_energy": energies[::10],
        "dE_dnu": jax.grad(final_energy)(0.05, u0),
        "dE_du0": jax.jit(jax.grad(final_energy, argnums=1))(0.05, u0)[:8],
        "fft2_abs": shifted[14:18, 14:18],
        "ifft2_roundtrip": jnp.allclose(jnp.fft.ifft2(F).real, img, atol=1e-5),
        "parseval": jnp.array([jnp.sum(u0 ** 2), jnp.sum(jnp.abs(ortho) ** 2)]),
        "irfft_odd": jnp.fft.irfft(u_hat[:5], n=9),
        "hfft": jnp.fft.hfft(jnp.array([1.0, 2.0 - 1j, 0.5j])),
        "grad_complex_re": jnp.real(gz),
        "grad_complex_im": jnp.imag(gz),
        "grad_dtype_is_complex": jnp.array(jnp.iscomplexobj(gz)),
        "angle": jnp.angle(z),
        "angle_deg": jnp.angle(z, deg=True),
        "grad_abs_of_fft": jax.grad(lambda u: jnp.sum(jnp.abs(jnp.fft.fft(u))))(u0[:8]),
        "rfftn": jnp.abs(jnp.fft.rfftn(img[:6, :6], axes=(0, 1)))[:, :2],
    }


if __name__ == "__main__":
    print(run())
