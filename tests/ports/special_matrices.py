"""The special matrices of `jax.scipy.linalg` in a numerical-analysis exercise: the
growing condition number of Hilbert matrices and the exact inverse `invhilbert`, Pascal
matrices of each kind and `invpascal`, the DFT matrix `dft` against `jnp.fft.fft` (each
`scale`), a Walsh-Hadamard transform with `hadamard`, Helmert contrasts, a Leslie
population model iterated with `matrix_power`, `companion` matrices, `convolution_matrix`
in each mode against `jnp.convolve`, `fiedler`/`fiedler_companion`,
`toeplitz`/`circulant`/`hankel`, and `block_diag`."""
import jax.numpy as jnp
import jax.scipy.linalg as jsl


def run():
    x = jnp.array([1.0, -2.0, 0.5, 3.0, 0.25, -1.0, 2.0, 0.0])
    kernel = jnp.array([1.0, 0.5, -0.25])
    h5 = jsl.hilbert(5)
    leslie = jsl.leslie(jnp.array([0.0, 1.5, 1.2, 0.3]), jnp.array([0.8, 0.6, 0.4]))
    comp = jsl.companion(jnp.array([2.0, -3.0, -4.0, 5.0]))
    return {
        "hilbert": h5,
        "hilbert_cond": jnp.array([jnp.linalg.cond(jsl.hilbert(n)) for n in (2, 3)]),
        "invhilbert": jsl.invhilbert(4),
        "pascal_symmetric": jsl.pascal(5),
        "pascal_lower": jsl.pascal(4, kind="lower"),
        "pascal_upper": jsl.pascal(4, kind="upper"),
        "invpascal": jsl.invpascal(4),
        "invpascal_lower": jsl.invpascal(4, kind="lower"),
        "dft_vs_fft": jnp.max(jnp.abs(jsl.dft(8) @ x - jnp.fft.fft(x))) < 1e-5,
        "dft_sqrtn": jnp.abs(jsl.dft(4, scale="sqrtn")),
        "dft_n_real": jnp.real(jsl.dft(4, scale="n")),
        "dft_dtype": str(jsl.dft(4).dtype),
        "hadamard": jsl.hadamard(8),
        "hadamard_float": jsl.hadamard(4, dtype=jnp.float32),
        "walsh_transform": jsl.hadamard(8, dtype=jnp.float32) @ x,
        "helmert": jsl.helmert(4),
        "helmert_full": jsl.helmert(4, full=True),
        "leslie": leslie,
        "leslie_population": jnp.linalg.matrix_power(leslie, 5) @ jnp.array([10.0, 5.0, 2.0,
                                                                             1.0]),
        "companion": comp,
        "conv_full": jsl.convolution_matrix(kernel, 8) @ x,
        "conv_same": jsl.convolution_matrix(kernel, 8, mode="same") @ x,
        "conv_valid": jsl.convolution_matrix(kernel, 8, mode="valid") @ x,
        "conv_reference": jnp.convolve(x, kernel, mode="same"),
        "fiedler": jsl.fiedler(jnp.array([1.0, 4.0, 12.0, 45.0])),
        "fiedler_companion": jsl.fiedler_companion(jnp.array([1.0, -2.0, 5.0, -3.0])),
        "toeplitz": jsl.toeplitz(jnp.array([1.0, 2.0, 3.0])),
        "circulant": jsl.circulant(jnp.array([1.0, 2.0, 3.0, 4.0])),
        "hankel": jsl.hankel(jnp.array([1.0, 2.0, 3.0]), jnp.array([3.0, 4.0, 5.0, 6.0])),
        "block_diag": jsl.block_diag(jsl.hilbert(2), jsl.pascal(2, kind="lower")),
    }


if __name__ == "__main__":
    print(run())
