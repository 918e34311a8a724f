"""Complex linear algebra as a small quantum simulation: Pauli matrices and `jnp.kron`,
a two-qubit Hamiltonian diagonalised with `eigh` (complex Hermitian), time evolution
U = V exp(-iEt) V^H, expectation values with `jnp.vdot` (conjugating its first argument),
a variational circuit of rotations whose energy is minimised by `jax.grad` with respect
to real angles, `holomorphic=True` gradients and `jacfwd`, complex `det`/`slogdet` (a
complex sign), `svd` and `solve`, principal branches of `sqrt`/`log`/`power` on the
negative real axis and signed zeros, and dtype promotion with Python complex scalars."""
import jax
import jax.numpy as jnp
from jax import random

I2 = jnp.eye(2, dtype=jnp.complex64)
X = jnp.array([[0, 1], [1, 0]], dtype=jnp.complex64)
Y = jnp.array([[0, -1j], [1j, 0]], dtype=jnp.complex64)
Z = jnp.array([[1, 0], [0, -1]], dtype=jnp.complex64)


def hamiltonian(j, h):
    return j * jnp.kron(Z, Z) + h * (jnp.kron(X, I2) + jnp.kron(I2, X))


def evolve(H, psi, t):
    e, v = jnp.linalg.eigh(H)
    return v @ (jnp.exp(-1j * e * t) * (v.conj().T @ psi))


def rotation(theta, pauli):
    return jnp.cos(theta / 2) * I2 - 1j * jnp.sin(theta / 2) * pauli


def ansatz(params):
    psi = jnp.zeros(4, dtype=jnp.complex64).at[0].set(1.0)
    u = jnp.kron(rotation(params[0], Y), rotation(params[1], Y))
    psi = u @ psi
    cnot = jnp.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
                     dtype=jnp.complex64)
    psi = cnot @ psi
    return jnp.kron(rotation(params[2], X), I2) @ psi


def energy(params, H):
    psi = ansatz(params)
    return jnp.real(jnp.vdot(psi, H @ psi))


def run():
    H = hamiltonian(1.0, 0.7)
    e, v = jnp.linalg.eigh(H)
    psi0 = jnp.array([1.0, 0.0, 0.0, 0.0], dtype=jnp.complex64)
    psi_t = evolve(H, psi0, 0.8)
    params = jnp.array([0.3, -0.4, 0.2])
    grad_fn = jax.jit(jax.grad(energy))
    energies = []
    for _ in range(30):
        params = params - 0.2 * grad_fn(params, H)
        energies.append(energy(params, H))
    key = random.PRNGKey(4)
    kr, ki = random.split(key)
    A = random.normal(kr, (3, 3)) + 1j * random.normal(ki, (3, 3))
    sign, logdet = jnp.linalg.slogdet(A)
    b = jnp.array([1.0, 1j, -1.0])
    zs = jnp.array([-4.0 + 0j, -4.0 - 0j, 1j, -1.0 + 1e-30j, 2.0])
    holo = jax.grad(lambda z: jnp.sin(z) * z ** 2, holomorphic=True)(jnp.complex64(1 + 1j))
    jac = jax.jacfwd(lambda z: jnp.exp(z) * jnp.conj(z[::-1]))(jnp.array([0.5, -1.0]))
    jac_h = jax.jacfwd(lambda z: z ** 3 + 1j * z, holomorphic=True)(
        jnp.array([1 + 0j, 0.5j], dtype=jnp.complex64))
    x32 = jnp.ones(2, dtype=jnp.float32)
    rho = jnp.outer(psi_t, psi_t.conj())
    return {
        "eigvals": e,
        "eig_residual_small": jnp.allclose(H @ v, v * e, atol=1e-5),
        "psi_t_abs2": jnp.abs(psi_t) ** 2,
        "norm_t": jnp.linalg.norm(psi_t),
        "zz_t": jnp.real(jnp.vdot(psi_t, jnp.kron(Z, Z) @ psi_t)),
        "purity": jnp.real(jnp.trace(rho @ rho)),
        "vqe_energies": jnp.stack(energies)[::5],
        "vqe_params": params,
        "vqe_gap": energies[-1] - e[0],
        "products": jnp.stack([f(jnp.array([1j, 2.0]), jnp.array([1j, 1.0]))[None].view(jnp.float32)
                               for f in (jnp.vdot, jnp.dot, jnp.inner, jnp.matmul)]),
        "det_re_im": jnp.array([jnp.real(jnp.linalg.det(A)), jnp.imag(jnp.linalg.det(A))]),
        "slogdet_sign": jnp.array([jnp.real(sign), jnp.imag(sign), jnp.abs(sign)]),
        "slogdet_logdet": logdet,
        "slogdet_dtypes": str(sign.dtype) + " " + str(logdet.dtype),
        "svd_complex": jnp.linalg.svd(A, compute_uv=False),
        "solve_complex": jnp.abs(jnp.linalg.solve(A, b)),
        "inv_check": jnp.allclose(jnp.linalg.inv(A) @ A, jnp.eye(3), atol=1e-5),
        "sqrt_branch_re": jnp.real(jnp.sqrt(zs)),
        "sqrt_branch_im": jnp.imag(jnp.sqrt(zs)),
        "log_branch_im": jnp.imag(jnp.log(zs)),
        "power_half_im": jnp.imag(zs ** 0.5),
        "angle_signed_zero": jnp.angle(zs),
        "holomorphic_grad": jnp.array([jnp.real(holo), jnp.imag(holo)]),
        "jacfwd_real_in": jnp.stack([jnp.real(jac), jnp.imag(jac)]),
        "jacfwd_holomorphic": jnp.stack([jnp.real(jac_h), jnp.imag(jac_h)]),
        "grad_abs2": jax.grad(lambda z: jnp.sum(jnp.abs(z) ** 2))(
            jnp.array([1 + 2j, -0.5j], dtype=jnp.complex64)).view(jnp.float32),
        "promote": " ".join(str(d) for d in ((x32 * 1j).dtype, (x32 + jnp.complex64(1)).dtype,
                                             (jnp.arange(3) * 1j).dtype,
                                             jnp.result_type(jnp.float16, 1j))),
        "complex_mean_var": jnp.array([jnp.real(jnp.mean(zs)), jnp.var(zs), jnp.std(zs[:3])]),
        "real_imag_of_real": jnp.stack([jnp.real(x32), jnp.imag(x32)]),
        "conj_real_dtype": str(jnp.conj(x32).dtype),
        "iscomplex": jnp.iscomplex(jnp.array([1 + 0j, 1j])),
        "isreal": jnp.isreal(jnp.array([1 + 0j, 1j])),
    }


if __name__ == "__main__":
    print(run())
