"""Parallel prefix scans and sliding windows: a linear recurrence h_t = a_t h_{t-1} + b_t
solved with `lax.associative_scan` on tuples (forwards, `reverse=True`, along axis 1),
checked against `lax.scan`, running maxima with `lax.cummax`, `jnp.cumsum`/`cumprod` with
dtypes, `lax.reduce_window` average and max pooling with padding and strides,
`jnp.convolve`/`jnp.correlate` in every mode, and a moving average's gradient."""
import jax
import jax.numpy as jnp
from jax import lax, random


def combine(left, right):
    a_l, b_l = left
    a_r, b_r = right
    return a_r * a_l, a_r * b_l + b_r


def linear_recurrence(a, b, axis=0, reverse=False):
    return lax.associative_scan(combine, (a, b), axis=axis, reverse=reverse)[1]


def sequential(a, b):
    return lax.scan(lambda h, ab: (ab[0] * h + ab[1],) * 2, jnp.zeros(()), (a, b))[1]


def avg_pool(x, window, stride, padding):
    summed = lax.reduce_window(x, 0.0, lax.add, window, stride, padding)
    counts = lax.reduce_window(jnp.ones_like(x), 0.0, lax.add, window, stride, padding)
    return summed / counts


def moving_average(x, w):
    return jnp.convolve(x, jnp.ones(w) / w, mode="valid")


def run():
    k1, k2, k3 = random.split(random.PRNGKey(7), 3)
    a = random.uniform(k1, (13,), minval=0.5, maxval=1.0)
    b = random.normal(k2, (13,))
    image = random.normal(k3, (2, 7, 9, 3))
    x = jnp.array([3.0, -1.0, 4.0, 1.0, -5.0, 9.0, 2.0, -6.0, 5.0])
    ints = jnp.array([[3, 1, 4], [1, 5, 9], [2, 6, 5]], dtype=jnp.int8)
    kernel = jnp.array([1.0, -2.0, 0.5, 0.25])
    grad_ma = jax.grad(lambda v: jnp.sum(moving_average(v, 3) ** 2))(x)
    return {
        "recurrence": linear_recurrence(a, b),
        "recurrence_scan": sequential(a, b),
        "recurrence_reverse": linear_recurrence(a, b, reverse=True),
        "recurrence_axis1": linear_recurrence(jnp.tile(a[None, :5], (3, 1)),
                                              jnp.stack([b[:5], b[5:10], -b[:5]]), axis=1),
        "recurrence_grad": jax.grad(lambda b: jnp.sum(linear_recurrence(a, b) ** 2))(b),
        "cummax": lax.cummax(x),
        "cummin_reverse": lax.cummin(x, reverse=True),
        "cumsum_int8": jnp.cumsum(ints, axis=1),
        "cumsum_int8_as_int8": jnp.cumsum(ints, axis=0, dtype=jnp.int8),
        "cumprod": jnp.cumprod(x[:6]),
        "cumsum_flat": jnp.cumsum(ints),
        "cumulative_sum": jnp.cumulative_sum(x, include_initial=True),
        "max_pool_same": lax.reduce_window(image, -jnp.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1),
                                           "SAME"),
        "avg_pool_valid": avg_pool(image, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"),
        "avg_pool_padded": avg_pool(image[0, :, :, 0], (3, 2), (2, 3), ((1, 1), (0, 1))),
        "window_sum_dilated": lax.reduce_window(x, 0.0, lax.add, (2,), (1,), "VALID",
                                                window_dilation=(3,)),
        "max_base_dilated": lax.reduce_window(x, -jnp.inf, lax.max, (2,), (1,), "VALID",
                                              base_dilation=(2,)),
        "convolve_full": jnp.convolve(x, kernel),
        "convolve_same": jnp.convolve(x, kernel, mode="same"),
        "convolve_valid": jnp.convolve(kernel, x, mode="valid"),
        "correlate_full": jnp.correlate(x, kernel, mode="full"),
        "correlate_same": jnp.correlate(x, kernel[:3], mode="same"),
        "convolve_int": jnp.convolve(jnp.array([1, 2, 3]), jnp.array([0, 1, 0, -1])),
        "moving_average": moving_average(x, 3),
        "moving_average_grad": grad_ma,
        "pool_grad": jax.grad(lambda im: jnp.sum(
            lax.reduce_window(im, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")))(
                image)[0, :4, :4, 0],
    }


if __name__ == "__main__":
    print(run())
