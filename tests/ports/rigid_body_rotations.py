"""3-D rotations and rigid-body motion written with `jax.numpy`, as robotics and
molecular code does: quaternion products, conjugates and normalisation, quaternion ->
matrix and axis-angle (Rodrigues) conversions checked against `jax.scipy.linalg.expm` of a
skew-symmetric matrix, rotating point clouds with `einsum` and `jnp.cross`, spherical
linear interpolation (`arccos`, `sin`, a `jnp.where` guard for nearly parallel
quaternions), torque-free rigid-body rotation integrated with a quaternion update in
`lax.scan` (norm and energy checks), Kabsch alignment by `svd` with the reflection fixed
by `jnp.linalg.det`, its RMSD and the gradient of the RMSD with respect to the points,
and Euler angles recovered with `arctan2`/`arcsin`."""
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax import lax


def qmul(a, b):
    w1, x1, y1, z1 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    w2, x2, y2, z2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return jnp.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
                      w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                      w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
                      w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], axis=-1)


def qconj(q):
    return q * jnp.array([1.0, -1.0, -1.0, -1.0])


def qnormalize(q):
    return q / jnp.linalg.norm(q, axis=-1, keepdims=True)


def quat_from_rotvec(v):
    angle = jnp.linalg.norm(v)
    axis = v / jnp.where(angle > 0, angle, 1.0)
    return jnp.concatenate([jnp.cos(angle / 2)[None], jnp.sin(angle / 2) * axis])


def quat_to_matrix(q):
    w, x, y, z = q
    return jnp.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def skew(v):
    return jnp.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


def rodrigues(v):
    angle = jnp.linalg.norm(v)
    k = skew(v / angle)
    return jnp.eye(3) + jnp.sin(angle) * k + (1 - jnp.cos(angle)) * k @ k


def slerp(q0, q1, t):
    d = jnp.dot(q0, q1)
    q1 = jnp.where(d < 0, -q1, q1)
    d = jnp.abs(d)
    theta = jnp.arccos(jnp.clip(d, -1.0, 1.0))
    near = d > 0.9995
    s = jnp.sin(jnp.where(near, 1.0, theta))
    w0 = jnp.where(near, 1 - t, jnp.sin((1 - t) * theta) / s)
    w1 = jnp.where(near, t, jnp.sin(t * theta) / s)
    return qnormalize(w0[..., None] * q0 + w1[..., None] * q1)


def rigid_body(q0, omega0, inertia, dt, n):
    def step(c, _):
        q, w = c
        dw = -jnp.cross(w, inertia * w) / inertia
        w = w + dt * dw
        dq = 0.5 * qmul(q, jnp.concatenate([jnp.zeros(1), w]))
        q = qnormalize(q + dt * dq)
        return (q, w), 0.5 * jnp.sum(inertia * w ** 2)
    return lax.scan(step, (q0, omega0), None, length=n)


def kabsch(p, q):
    pc, qc = p - p.mean(0), q - q.mean(0)
    h = pc.T @ qc
    u, s, vt = jnp.linalg.svd(h)
    d = jnp.sign(jnp.linalg.det(vt.T @ u.T))
    fix = jnp.diag(jnp.array([1.0, 1.0, d]))
    r = vt.T @ fix @ u.T
    return r, jnp.sqrt(jnp.mean(jnp.sum((pc @ r.T - qc) ** 2, axis=1)))


def euler_zyx(r):
    yaw = jnp.arctan2(r[1, 0], r[0, 0])
    pitch = jnp.arcsin(-jnp.clip(r[2, 0], -1.0, 1.0))
    roll = jnp.arctan2(r[2, 1], r[2, 2])
    return jnp.stack([yaw, pitch, roll])


def run():
    v = jnp.array([0.3, -0.5, 0.8])
    q = quat_from_rotvec(v)
    r_q = quat_to_matrix(q)
    r_exp = jsl.expm(skew(v))
    r_rod = rodrigues(v)
    q2 = quat_from_rotvec(jnp.array([0.0, 1.2, 0.0]))
    q12 = qmul(q, q2)
    pts = jnp.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.5], [-1.0, 1.0, 1.0], [0.3, -0.7, 2.0]])
    rotated = jnp.einsum("ij,nj->ni", r_q, pts)
    via_quat = qmul(qmul(q, jnp.concatenate([jnp.zeros((4, 1)), pts], axis=1)), qconj(q))[:, 1:]
    ts = jnp.linspace(0.0, 1.0, 5)
    path = jax.vmap(lambda t: slerp(q, q2, t))(ts)
    near = slerp(q, qnormalize(q + 1e-5), jnp.float32(0.5))

    inertia = jnp.array([1.0, 2.0, 3.0])
    (q_end, w_end), energies = rigid_body(jnp.array([1.0, 0.0, 0.0, 0.0]),
                                          jnp.array([0.1, 2.0, 0.1]), inertia, 0.01, 200)

    noise = 0.2 * jnp.sin(jnp.arange(12.0)).reshape(4, 3)
    target = rotated + jnp.array([0.5, -1.0, 2.0]) + noise
    r_k, rmsd = kabsch(pts, target)
    g_pts = jax.grad(lambda p: kabsch(p, target)[1])(pts)
    mirror = target * jnp.array([1.0, 1.0, -1.0])
    r_m, rmsd_m = kabsch(pts, mirror)
    return {
        "quat": q,
        "quat_norm": jnp.linalg.norm(q),
        "matrix": r_q,
        "expm_agrees": jnp.max(jnp.abs(r_q - r_exp)) < 1e-5,
        "rodrigues_agrees": jnp.max(jnp.abs(r_q - r_rod)) < 1e-5,
        "orthogonal": jnp.max(jnp.abs(r_q @ r_q.T - jnp.eye(3))) < 1e-6,
        "det": jnp.linalg.det(r_q),
        "compose": q12,
        "compose_matrix_agrees": jnp.max(jnp.abs(quat_to_matrix(q12) - r_q @ quat_to_matrix(q2)))
        < 1e-5,
        "rotated": rotated,
        "via_quat_agrees": jnp.max(jnp.abs(rotated - via_quat)) < 1e-5,
        "cross": jnp.cross(pts[:3], pts[1:]),
        "slerp": path,
        "slerp_near": near,
        "rigid_q": q_end,
        "rigid_w": w_end,
        "rigid_energy": energies[::50],
        "kabsch_r": r_k,
        "kabsch_rmsd": rmsd,
        "kabsch_grad": g_pts,
        "kabsch_mirror_det": jnp.linalg.det(r_m),
        "kabsch_mirror_rmsd": rmsd_m,
        "euler": euler_zyx(r_q),
    }


if __name__ == "__main__":
    print(run())
