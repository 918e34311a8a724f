"""A differentiable ray marcher as SDF-rendering notebooks write it in JAX: signed-distance
functions of a sphere and a box combined by a smooth union (a smooth minimum through
`jnp.logaddexp`, and the polynomial one with `jnp.clip`), a pinhole camera's rays from
`jnp.meshgrid` of `jnp.linspace` normalised with `jnp.linalg.norm(..., axis=-1,
keepdims=True)`, sphere tracing for a fixed number of steps in `lax.fori_loop` and with
per-ray termination in `lax.while_loop` under `vmap` (step counts returned), surface normals
as `jax.grad` of the SDF `vmap`-ped over the hit points, Lambert shading with `jnp.clip`
and `jnp.maximum`, misses masked with `jnp.where` (the double-`where` trick of JAX's FAQ
keeps the gradient finite where the unselected side is NaN), and the gradient of an image
loss with respect to the light direction and the sphere's radius and centre, checked
against a central finite difference of the jitted renderer, and a few jitted gradient steps
(the first one's loss and gradients are the ones returned)."""
import jax
import jax.numpy as jnp
from jax import lax

RES = 10
STEPS = 24
T_MAX = 6.0
EPS = 1e-3


def sd_sphere(p, center, radius):
    return jnp.linalg.norm(p - center, axis=-1) - radius


def sd_box(p, half):
    q = jnp.abs(p) - half
    outside = jnp.linalg.norm(jnp.maximum(q, 0.0), axis=-1)
    inside = jnp.minimum(jnp.max(q, axis=-1), 0.0)
    return outside + inside


def smooth_min(a, b, k=0.1):
    return -k * jnp.logaddexp(-a / k, -b / k)


def smooth_min_poly(a, b, k=0.2):
    h = jnp.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1.0 - h) + a * h - k * h * (1.0 - h)


def scene(p, params):
    s = sd_sphere(p, params["center"], params["radius"])
    b = sd_box(p - jnp.array([0.6, -0.4, 0.0]), jnp.array([0.3, 0.3, 0.3]))
    return smooth_min(s, b)


def camera_rays(res=RES):
    xs = jnp.linspace(-1.0, 1.0, res)
    u, v = jnp.meshgrid(xs, -xs)
    dirs = jnp.stack([u, v, -2.0 * jnp.ones_like(u)], axis=-1)
    dirs = dirs / jnp.linalg.norm(dirs, axis=-1, keepdims=True)
    origin = jnp.array([0.0, 0.0, 3.0])
    return jnp.broadcast_to(origin, dirs.shape).reshape(-1, 3), dirs.reshape(-1, 3)


def march_fori(params, origins, dirs):
    def body(i, t):
        d = scene(origins + t[:, None] * dirs, params)
        return jnp.minimum(t + d, T_MAX)
    return lax.fori_loop(0, STEPS, body, jnp.zeros(origins.shape[0]))


def march_while_one(params, origin, direction):
    def cond(state):
        t, d, i = state
        return (d > EPS) & (t < T_MAX) & (i < 64)

    def body(state):
        t, d, i = state
        t = t + d
        return t, scene(origin + t * direction, params), i + 1

    t0 = jnp.float32(0.0)
    return lax.while_loop(cond, body, (t0, scene(origin, params), 0))


def normals(params, points):
    g = jax.vmap(jax.grad(scene), in_axes=(0, None))(points, params)
    return g / jnp.linalg.norm(g, axis=-1, keepdims=True)


def shade(params, light, origins, dirs, t):
    points = origins + t[:, None] * dirs
    hit = jnp.abs(scene(points, params)) < 1e-2
    safe_points = jnp.where(hit[:, None], points, 0.0)       # the double-where trick
    n = normals(params, safe_points)
    l = light / jnp.linalg.norm(light)
    lambert = jnp.clip(jnp.sum(n * l, axis=-1), 0.0, 1.0)
    color = 0.1 + 0.9 * jnp.maximum(lambert, 0.0)
    return jnp.where(hit, color, 0.0), hit


def render(params, light):
    origins, dirs = camera_rays()
    t = march_fori(params, origins, dirs)
    image, hit = shade(params, light, origins, dirs, t)
    return image.reshape(RES, RES), hit.reshape(RES, RES), t.reshape(RES, RES)


def loss_fn(params, light, target):
    image, _, _ = render(params, light)
    return jnp.mean((image - target) ** 2)


def run():
    params = {"center": jnp.array([-0.2, 0.1, 0.0]), "radius": jnp.float32(0.7)}
    light = jnp.array([0.5, 0.8, 1.0])
    render_jit = jax.jit(render)
    image, hit, depth = render_jit(params, light)
    origins, dirs = camera_rays()
    t_w, d_w, steps = jax.vmap(march_while_one, in_axes=(None, 0, 0))(params, origins, dirs)
    agree = jnp.where(d_w <= EPS, jnp.abs(t_w - depth.ravel()), 0.0)

    target_params = {"center": jnp.array([-0.1, 0.0, 0.0]), "radius": jnp.float32(0.8)}
    target, _, _ = render_jit(target_params, jnp.array([-0.3, 1.0, 0.6]))

    @jax.jit
    def step(p, light):
        loss, (g_p, g_l) = jax.value_and_grad(loss_fn, argnums=(0, 1))(p, light, target)
        return jax.tree.map(lambda a, b: a - 0.5 * b, p, g_p), loss, g_p, g_l

    p, loss, g_params, g_light = step(params, light)
    for _ in range(2):
        p, _, _, _ = step(p, light)

    h = 1e-2
    bump = lambda r: jnp.mean((render_jit({**params, "radius": r}, light)[0] - target) ** 2)
    fd_radius = (bump(params["radius"] + h) - bump(params["radius"] - h)) / (2 * h)

    # normals of the sphere alone, where sqrt's derivative is finite everywhere but 0
    pts = jnp.array([[0.5, 0.0, 0.0], [0.0, -0.3, 0.4], [0.0, 0.0, 0.0]])
    sphere_normals = jax.vmap(jax.grad(sd_sphere), in_axes=(0, None, None))(
        pts, jnp.zeros(3), 1.0)
    return {
        "image": image,
        "hit": hit,
        "depth_row": depth[RES // 2],
        "n_hits": jnp.sum(hit),
        "while_steps": steps.reshape(RES, RES),
        "while_t": t_w[::7],
        "while_vs_fori": jnp.max(agree),
        "smooth_min": smooth_min(jnp.array([0.1, -0.2, 1.0]), jnp.array([0.15, 0.3, 1.0])),
        "smooth_min_poly": smooth_min_poly(jnp.array([0.1, -0.2, 1.0]),
                                           jnp.array([0.15, 0.3, 1.0])),
        "normals": normals(params, origins[:4] + 2.3 * dirs[::25]),
        "loss": loss,
        "grad_radius": g_params["radius"],
        "grad_center": g_params["center"],
        "grad_light": g_light,
        "grad_finite": jnp.all(jnp.isfinite(g_light)),
        "fd_radius": fd_radius,
        "fit_radius": p["radius"],
        "fit_center": p["center"],
        "sphere_normals": sphere_normals,
    }


if __name__ == "__main__":
    print(run())
