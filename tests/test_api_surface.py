"""The JAX API surface (issue 11): namespaces bound on `import funcgrad`, no leaked helpers,
`tree_util`/`tree`, the top-level helpers, and the `nn`/`lax` names added for JAX ports,
each against JAX's documented behaviour (expectations computed with NumPy)."""
from __future__ import annotations

import collections
import dataclasses
import functools
import math
import types

import ml_dtypes
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, nn, tree, tree_util

pytestmark = pytest.mark.core

rng = np.random.default_rng(0)


# ---------------------------------------------------------------------------------------
# Namespaces and __all__


def test_import_binds_what_import_jax_binds():
    for name in ("numpy", "lax", "random", "nn", "tree_util", "tree", "scipy", "debug",
                 "config", "dtypes", "experimental"):
        assert isinstance(getattr(fg, name), types.ModuleType), name
        assert name in fg.__all__, name
    assert fg.nn.initializers is fg.nn.initializers
    assert fg.lax.linalg.cholesky is not None
    assert fg.scipy.special.erf is not None


# Names a module has on purpose beyond its __all__.
_KEPT = {
    # funcgrad.tree keeps its long names (funcgrad's own modules and older code use them).
    "funcgrad.tree": {"PyTreeDef", "all_leaves", "flatten_up_to", "register_pytree_node",
                      "register_pytree_node_class", "tree_all", "tree_flatten", "tree_leaves",
                      "tree_map", "tree_reduce", "tree_structure", "tree_transpose",
                      "tree_unflatten", "treedef_is_leaf"},
}


@pytest.mark.parametrize("modname", ["funcgrad", "funcgrad.lax", "funcgrad.nn",
                                     "funcgrad.nn.initializers", "funcgrad.tree",
                                     "funcgrad.tree_util", "funcgrad.debug",
                                     "funcgrad.experimental"])
def test_public_names_are_exactly_all(modname):
    import importlib
    mod = importlib.import_module(modname)
    public = {n for n in dir(mod) if not n.startswith("_") and n != "annotations"
              and not (isinstance(getattr(mod, n), types.ModuleType) and n not in mod.__all__)}
    assert set(mod.__all__) <= set(dir(mod)), set(mod.__all__) - set(dir(mod))
    leaked = public - set(mod.__all__) - _KEPT.get(modname, set())
    assert not leaked, f"{modname} leaks {sorted(leaked)}"


# ---------------------------------------------------------------------------------------
# tree_util / tree


P = collections.namedtuple("P", "x y")


def test_key_paths_and_keystr():
    t = {"a": [1, (2, 3)], "b": P(4, None), "c": None}
    pairs, td = tree_util.tree_flatten_with_path(t)
    assert [tree_util.keystr(p) for p, _ in pairs] == ["['a'][0]", "['a'][1][0]",
                                                       "['a'][1][1]", "['b'].x"]
    assert [leaf for _, leaf in pairs] == [1, 2, 3, 4]
    assert tree_util.keystr(pairs[1][0], simple=True, separator="/") == "a/1/0"
    assert pairs[3][0] == (tree_util.DictKey("a" if False else "b"), tree_util.GetAttrKey("x"))
    assert td == tree.structure(t) and td.num_leaves == 4 and td.num_nodes == 10
    assert repr(td) == ("PyTreeDef({'a': [*, (*, *)], 'b': CustomNode(namedtuple[P], "
                        "[*, None]), 'c': None})")
    mapped = tree_util.tree_map_with_path(lambda p, x: tree_util.keystr(p) + str(x), t)
    assert mapped["b"].x == "['b'].x4" and mapped["a"][1][0] == "['a'][1][0]2"
    assert tree.leaves_with_path([1, [2]])[1] == ((tree_util.SequenceKey(1),
                                                   tree_util.SequenceKey(0)), 2)
    stop = tree.leaves_with_path([1, [2]], is_leaf=lambda p, x: len(p) == 1 and
                                 isinstance(x, list), is_leaf_takes_path=True)
    assert stop == [((tree_util.SequenceKey(0),), 1), ((tree_util.SequenceKey(1),), [2])]
    assert str(tree_util.FlattenedIndexKey(2)) == "[<flat index 2>]"


def test_a_custom_nodes_aux_data_prints_as_str():
    # jaxlib prints a custom node's aux data with str(): Block[tanh], not Block['tanh'] (a
    # JAX program printing a tree structure, tests/ports/remat_adam.py)
    @tree_util.register_pytree_node_class
    class Block:
        def __init__(self, w, act):
            self.w, self.act = w, act

        def tree_flatten(self):
            return (self.w,), self.act

        @classmethod
        def tree_unflatten(cls, act, children):
            return cls(*children, act)
    for aux, shown in (("tanh", "tanh"), (None, "None"), (("a", 1), "('a', 1)"),
                       ({"k": "v"}, "{'k': 'v'}")):
        assert repr(tree_util.tree_structure(Block(1.0, aux))) == \
            f"PyTreeDef(CustomNode(Block[{shown}], [*]))"


def test_registration_forms():
    class Box:
        def __init__(self, a, b):
            self.a, self.b = a, b

    tree_util.register_pytree_with_keys(
        Box, lambda x: (((tree_util.GetAttrKey("a"), x.a), (tree_util.GetAttrKey("b"), x.b)),
                        None), lambda _, ch: Box(*ch))
    pairs, td = tree_util.tree_flatten_with_path(Box(1, 2))
    assert [tree_util.keystr(p) for p, _ in pairs] == [".a", ".b"]
    assert tree.unflatten(td, [5, 6]).b == 6

    class Plain:
        def __init__(self, a):
            self.a = a

    tree_util.register_pytree_node(Plain, lambda x: ((x.a,), None), lambda _, ch: Plain(*ch))
    assert tree_util.tree_leaves_with_path(Plain(7)) == [((tree_util.FlattenedIndexKey(0),),
                                                          7)]

    @tree_util.register_dataclass
    @dataclasses.dataclass
    class Layer:
        w: object
        b: object
        name: str = tree.static(default="dense")

    leaves, td = tree.flatten(Layer(1, 2, "x"))
    assert leaves == [1, 2] and tree.unflatten(td, [3, 4]) == Layer(3, 4, "x")
    assert td != tree.structure(Layer(1, 2, "y"))          # static fields are aux data
    doubled = fg.jit(lambda layer: tree.map(lambda v: v * 2, layer))(Layer(1.0, 2.0))
    assert float(doubled.w) == 2.0 and doubled.name == "dense"

    @tree_util.register_static
    class Tag:
        def __init__(self, s):
            self.s = s

        def __eq__(self, other):
            return isinstance(other, Tag) and other.s == self.s

        def __hash__(self):
            return hash(self.s)

    assert tree.leaves([Tag("t"), 1]) == [1]
    with pytest.raises(ValueError, match="data_fields, meta_fields nor drop_fields"):
        tree_util.register_dataclass(dataclasses.make_dataclass("D", ["p", "q"]),
                                     data_fields=["p"], meta_fields=[])


def test_tree_functions_as_jax():
    assert tree.reduce(lambda a, b: a + b, [1, 2, 3]) == 6
    assert tree.reduce(lambda a, b: a + b, [], 0) == 0
    assert tree_util.tree_reduce(lambda a, b: a + b, [], None) is None   # None is an initializer
    assert tree.reduce_associative(lambda a, b: a + b, [1, 2, 3, 4, 5]) == 15
    with pytest.raises(TypeError, match="identity"):
        tree.reduce_associative(lambda a, b: a + b, [])
    assert tree.all([1, True]) and not tree.all([1, 0]) and tree.all([])
    assert tree.broadcast((1, {"a": 2}), ((3, 4), {"a": [5, 6]})) == ((1, 1), {"a": [2, 2]})
    assert tree.transpose(tree.structure([0, 0]), None, [(1, 2), (3, 4)]) == ([1, 3], [2, 4])
    assert tree_util.all_leaves([1, 2]) and not tree_util.all_leaves([1, [2]])
    assert not tree_util.all_leaves([[1]], is_leaf=lambda x: isinstance(x, list))
    assert tree_util.flatten_one_level({"b": 1, "a": [2]}) == (([2], 1), ("a", "b"))
    with pytest.raises(ValueError, match="leaf"):
        tree_util.flatten_one_level(3)
    assert tree_util.is_tree_node(P) and tree_util.is_tree_node(dict)
    assert not tree_util.is_tree_node(int)
    td = tree.structure({"a": (1, 2), "b": 3})
    assert [c.num_leaves for c in td.children()] == [2, 1]
    assert tree_util.treedef_children(td) == td.children()
    assert td.node_data() == (dict, ["a", "b"])              # a list, as JAX gives
    assert tree.structure(1).node_data() is None
    assert tree_util.treedef_tuple([tree.structure(1), td]) == tree.structure((1, td.unflatten(
        [1, 2, 3])))
    assert td.compose(tree.structure((0, 0))).num_leaves == 6
    assert td.flatten_up_to({"a": ([1], 2), "b": 3}) == [[1], 2, 3]


def test_partial_is_a_pytree():
    add = tree_util.Partial(lambda a, b: a * b, fnp.ones(2))
    leaves, td = tree.flatten(add)
    assert len(leaves) == 1
    np.testing.assert_allclose(np.asarray(fg.jit(lambda f, x: f(x))(add, 3.0)), [3.0, 3.0])
    nested = tree_util.Partial(functools.partial(lambda a, b, c: a + b + c, 1), 2)
    leaves, td = tree.flatten(nested)
    assert leaves == [2] and tree.unflatten(td, [10])(5) == 16


def test_old_long_names_still_importable():
    from funcgrad.tree import register_pytree_node, tree_flatten, tree_map  # noqa: F401
    assert tree.tree_map is tree_util.tree_map


# ---------------------------------------------------------------------------------------
# Top level


def test_devices_and_processes():
    assert fg.device_count() == len(fg.devices()) >= 1
    assert fg.local_device_count() == fg.device_count()
    assert fg.local_devices() == fg.devices()
    assert fg.process_index() == 0 and fg.process_count() == 1
    assert fg.process_indices() == [0] and fg.host_count() == 1
    with pytest.raises(ValueError, match="one process"):
        fg.local_devices(process_index=1)
    assert fg.effects_barrier() is None


def test_typeof_and_shape_dtype_struct():
    assert fg.typeof(1.0).weak_type and fg.typeof(1.0).shape == ()
    assert fg.typeof(fnp.ones((2, 3), np.int32)).shape == (2, 3)
    s = fg.ShapeDtypeStruct((2,), np.float32, sharding=None)
    assert s.shape == (2,) and s.dtype == np.float32 and s == fg.ShapedArray((2,), np.float32)
    out = fg.pure_callback(lambda: np.zeros(2, np.float32), s)
    assert out.shape == (2,)


def test_disable_jit_runs_the_python_body():
    seen = []

    @fg.jit
    def f(x):
        seen.append(type(x).__name__)
        return x + 1

    f(1.0)
    with fg.disable_jit():
        assert float(f(1.0)) == 2.0
        assert float(f(1.0)) == 2.0
    assert seen[0] != "ArrayImpl" and seen[1:] == ["float", "float"]


def test_ensure_compile_time_eval_gives_concrete_values():
    @fg.jit
    def f(x):
        with fg.ensure_compile_time_eval():
            positive = fnp.sin(fnp.sin(3.0)) > 0
        return fnp.sin(x) if positive else fnp.cos(x)   # a Python `if` on it

    np.testing.assert_allclose(float(f(1.0)), math.sin(1.0), rtol=1e-6)


def test_named_scope_and_named_call():
    with fg.named_scope("block"):
        out = fg.jit(fg.named_call(lambda x: x * 2, name="double"))(3.0)
    assert float(out) == 6.0
    with pytest.raises(TypeError, match="string"), fg.named_scope(3):
        pass


def test_custom_gradient():
    @fg.custom_gradient
    def f(x):
        return x ** 2, lambda g: (g * x,)     # deliberately not 2x: the rule is used

    assert float(f(3.0)) == 9.0 and float(fg.grad(f)(3.0)) == 3.0
    assert float(fg.jit(fg.grad(f))(3.0)) == 3.0

    @fg.custom_gradient
    def g(x, y):
        s = fnp.sin(x)                         # the rule closes over s
        return s * y, lambda ct: (ct * y * fnp.cos(x), ct * s)

    gx, gy = fg.grad(g, argnums=(0, 1))(0.5, 2.0)
    np.testing.assert_allclose([float(gx), float(gy)], [2 * math.cos(0.5), math.sin(0.5)],
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(fg.vmap(fg.grad(f))(fnp.arange(3.0))), [0, 1, 2])

    @fg.custom_gradient
    def bad(x, y):
        return x * y, lambda ct: (ct,)

    with pytest.raises(TypeError, match="1 cotangent"):
        fg.grad(bad)(1.0, 2.0)


def test_linear_transpose():
    a = rng.normal(size=(3, 2)).astype(np.float32)
    t = fg.linear_transpose(lambda x: fnp.asarray(a) @ x, fg.ShapeDtypeStruct((2,), np.float32))
    (ct,) = t(fnp.ones(3))
    np.testing.assert_allclose(np.asarray(ct), a.T @ np.ones(3), rtol=1e-6)


def test_config_context_managers():
    assert fg.config.read("jax_disable_jit") is False
    with fg.disable_jit():
        assert fg.config.read("jax_disable_jit") is True
    with fg.log_compiles(True):
        assert fg.config.read("jax_log_compiles") is True
    with fg.debug_nans(), pytest.raises(FloatingPointError):
        fg.jit(lambda x: fnp.log(x))(-1.0)
    assert fg.config.read("jax_debug_nans") is False
    if "enable_x64" in fg.config.options:
        with fg.enable_x64():
            assert nn.one_hot(fnp.array([1]), 2).dtype == np.float64
        assert nn.one_hot(fnp.array([1]), 2).dtype == np.float32
    info = fg.print_environment_info(return_string=True)
    assert "funcgrad" in info and "numpy" in info


# ---------------------------------------------------------------------------------------
# nn


def _np_softplus(x):
    return np.logaddexp(x, 0)


def test_new_activations_match_their_definitions():
    x = np.linspace(-3, 3, 13).astype(np.float32)
    ref = {
        "identity": x,
        "mish": x * np.tanh(_np_softplus(x)),
        "squareplus": (x + np.sqrt(x * x + 4)) / 2,
        "sparse_plus": np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
        "sparse_sigmoid": np.clip((x + 1) / 2, 0, 1),
    }
    for name, want in ref.items():
        np.testing.assert_allclose(np.asarray(getattr(nn, name)(x)), want, rtol=1e-5,
                                   atol=1e-6, err_msg=name)
    np.testing.assert_allclose(np.asarray(nn.squareplus(x, b=1.0)),
                               (x + np.sqrt(x * x + 1)) / 2, rtol=1e-6)
    pos = np.array([1e-6, 0.1, 0.6931, 0.7, 5.0, 40.0], np.float32)
    np.testing.assert_allclose(np.asarray(nn.log1mexp(pos)),
                               np.log(-np.expm1(-pos.astype(np.float64))), rtol=1e-5,
                               atol=1e-12)
    assert np.isneginf(float(nn.log1mexp(0.0))) and np.isnan(float(nn.log1mexp(-1.0)))
    assert np.isfinite(float(fg.grad(nn.log1mexp)(0.5)))
    a = rng.normal(size=(3, 4)).astype(np.float32)
    w = rng.uniform(size=(3, 4)) > 0.3
    w[:, 0] = True
    np.testing.assert_allclose(np.asarray(nn.logmeanexp(a, axis=1)),
                               np.log(np.mean(np.exp(a), axis=1)), rtol=1e-5)
    want = [np.log(np.mean(np.exp(r[m]))) for r, m in zip(a, w)]
    np.testing.assert_allclose(np.asarray(nn.logmeanexp(a, axis=1, where=w)), want,
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(nn.logmeanexp(a, axis=1, keepdims=True)).shape,
                               (3, 1))


def test_relu_keeps_nan_and_standardize_algorithms():
    x = fnp.array([np.nan, -1.0, 0.0, 7.0])
    out = np.asarray(nn.relu(x))
    assert np.isnan(out[0]) and list(out[1:]) == [0.0, 0.0, 7.0]
    assert np.isnan(np.asarray(nn.relu6(x))[0]) and float(nn.relu6(x)[3]) == 6.0
    assert float(fg.grad(nn.relu)(0.0)) == 0.0 and float(fg.grad(nn.relu6)(6.0)) == 0.0
    v = rng.normal(size=(2, 5)).astype(np.float32)
    want = (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + 1e-5)
    for algorithm in ("stable", "fast"):
        np.testing.assert_allclose(np.asarray(nn.standardize(v, algorithm=algorithm)), want,
                                   rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="algorithm"):
        nn.standardize(v, algorithm="exact")
    assert nn.one_hot(fnp.array([0, 2]), 3).dtype == fnp.zeros(()).dtype


def _np_attention(q, k, v, bias=None, mask=None, scale=None, causal=False, qlen=None,
                  kvlen=None, window=None):
    """A NumPy reference of jax.nn.dot_product_attention (B, T, N, H) layout."""
    _, T, N, H = q.shape
    S, K = k.shape[1], k.shape[2]
    G = N // K
    scale = 1 / np.sqrt(H) if scale is None else scale
    kk = np.repeat(k, G, axis=2)
    vv = np.repeat(v, G, axis=2)
    logits = np.einsum("btnh,bsnh->bnts", q, kk).astype(np.float64) * scale
    if bias is not None:
        logits = logits + bias
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep &= np.broadcast_to(mask, logits.shape)
    ti, si = np.arange(T)[:, None], np.arange(S)[None, :]
    if causal:
        keep &= si <= ti
    if window is not None:
        keep &= (ti <= si + window[0]) & (ti >= si - window[1])
    if qlen is not None:
        keep &= (np.arange(T)[None, :] < np.asarray(qlen)[:, None])[:, None, :, None]
    if kvlen is not None:
        keep &= (np.arange(S)[None, :] < np.asarray(kvlen)[:, None])[:, None, None, :]
    logits = np.where(keep, logits, -0.7 * np.finfo(np.float32).max)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    out = np.einsum("bnts,bsnh->btnh", p, vv)
    if qlen is not None:
        out *= (np.arange(T)[None, :] < np.asarray(qlen)[:, None])[:, :, None, None]
    return out


@pytest.mark.parametrize("case", ["plain", "bias", "mask", "causal", "window", "lengths",
                                  "scale"])
def test_dot_product_attention_matches_reference(case):
    B, T, S, N, K, H = 2, 4, 5, 4, 2, 3
    q = rng.normal(size=(B, T, N, H)).astype(np.float32)
    k = rng.normal(size=(B, S, K, H)).astype(np.float32)
    v = rng.normal(size=(B, S, K, H)).astype(np.float32)
    kw, ref_kw = {}, {}
    if case == "bias":
        kw["bias"] = ref_kw["bias"] = rng.normal(size=(1, N, T, S)).astype(np.float32)
    elif case == "mask":
        kw["mask"] = ref_kw["mask"] = rng.uniform(size=(B, 1, T, S)) > 0.3
    elif case == "causal":
        kw["is_causal"] = ref_kw["causal"] = True
    elif case == "window":
        kw["local_window_size"] = ref_kw["window"] = (1, 0)
    elif case == "lengths":
        kw["query_seq_lengths"] = ref_kw["qlen"] = np.array([2, 4], np.int32)
        kw["key_value_seq_lengths"] = ref_kw["kvlen"] = np.array([3, 5], np.int32)
    elif case == "scale":
        kw["scale"] = ref_kw["scale"] = 0.3
    out = nn.dot_product_attention(q, k, v, **kw)
    np.testing.assert_allclose(np.asarray(out), _np_attention(q, k, v, **ref_kw), rtol=2e-5,
                               atol=2e-6)


def test_dot_product_attention_forms_and_errors():
    x = rng.normal(size=(4, 2, 3)).astype(np.float32)       # no batch axis
    out = nn.dot_product_attention(x, x, x)
    np.testing.assert_allclose(np.asarray(out), _np_attention(x[None], x[None], x[None])[0],
                               rtol=2e-5, atol=2e-6)
    _, lse = nn.dot_product_attention(x, x, x, return_residual=True)
    logits = np.einsum("tnh,snh->nts", x, x) / np.sqrt(3)
    np.testing.assert_allclose(np.asarray(lse)[0], np.log(np.exp(logits).sum(-1)).T,
                               rtol=1e-5)
    g = fg.grad(lambda q: nn.dot_product_attention(q, x, x, is_causal=True).sum())(x)
    assert np.all(np.isfinite(np.asarray(g)))
    with pytest.raises(ValueError, match="multiple"):
        nn.dot_product_attention(x[:, :1].repeat(3, 1), x, x)
    with pytest.raises(ValueError, match="implementation"):
        nn.dot_product_attention(x, x, x, implementation="cudnn")


def test_scaled_matmul_and_delta_orthogonal():
    lhs = rng.normal(size=(2, 3, 8)).astype(np.float32)
    rhs = rng.normal(size=(2, 4, 8)).astype(np.float32)
    ls = rng.uniform(size=(2, 3, 2)).astype(np.float32)
    rs = rng.uniform(size=(2, 4, 2)).astype(np.float32)
    want = np.einsum("bmk,bnk->bmn", lhs * np.repeat(ls, 4, -1), rhs * np.repeat(rs, 4, -1))
    np.testing.assert_allclose(np.asarray(nn.scaled_matmul(lhs, rhs, ls, rs)), want,
                               rtol=1e-5, atol=1e-5)
    w = np.array(nn.initializers.delta_orthogonal()(fg.random.PRNGKey(0), (3, 3, 2, 4)))
    centre = w[1, 1]
    np.testing.assert_allclose(centre @ centre.T, np.eye(2), atol=1e-5)
    w[1, 1] = 0
    assert not w.any()
    with pytest.raises(ValueError, match="at most"):
        nn.initializers.delta_orthogonal()(fg.random.PRNGKey(0), (3, 3, 4, 2))


# ---------------------------------------------------------------------------------------
# lax


def test_round_and_negative_dynamic_indices():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999997, 3.7], np.float32)
    np.testing.assert_array_equal(np.asarray(lax.round(x)), [1, 2, 3, -1, -3, 0, 4])
    np.testing.assert_array_equal(
        np.asarray(lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN)), np.round(x))
    a = np.arange(10.0, dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(lax.dynamic_slice(a, (-3,), (2,))), [7, 8])
    np.testing.assert_array_equal(
        np.asarray(fg.jit(lambda i: lax.dynamic_slice_in_dim(a, i, 2))(-1)), [8, 9])
    out = np.asarray(lax.dynamic_update_slice(a, np.ones(2, np.float32), (-1,)))
    np.testing.assert_array_equal(out, np.r_[a[:8], 1, 1])
    out = lax.dynamic_update_slice_in_dim(np.zeros((2, 4), np.float32),
                                          np.ones((2, 1), np.float32), -2, 1)
    np.testing.assert_array_equal(np.asarray(out)[:, 2], [1, 1])
    with pytest.raises(ValueError, match="allow_negative_indices=False"):
        lax.dynamic_slice(a, (-1,), (2,), allow_negative_indices=False)
    assert float(lax.dynamic_index_in_dim(a, -1, keepdims=False)) == 9.0


def test_integer_bit_functions():
    xs = np.array([0, 1, -1, 7, -128, 2 ** 30, 12345, -77], np.int32)
    np.testing.assert_array_equal(np.asarray(lax.population_count(xs)),
                                  [bin(int(v) & 0xFFFFFFFF).count("1") for v in xs])
    np.testing.assert_array_equal(np.asarray(lax.clz(xs)),
                                  [32 - (int(v) & 0xFFFFFFFF).bit_length() for v in xs])
    u8 = np.array([0, 1, 128, 15], np.uint8)
    np.testing.assert_array_equal(np.asarray(lax.clz(u8)), [8, 7, 0, 4])
    for s in (0, 3, 31, 40):
        want = xs >> min(s, 31)
        np.testing.assert_array_equal(np.asarray(lax.shift_right_arithmetic(xs, np.int32(s))),
                                      want)
    np.testing.assert_array_equal(np.asarray(lax.bitwise_xor(xs, np.int32(5))), xs ^ 5)
    np.testing.assert_array_equal(np.asarray(lax.bitwise_not(xs)), ~xs)


def test_special_functions():
    x = np.array([0.1, 0.5, 1.0, 2.5, 7.0], np.float32)
    np.testing.assert_allclose(np.asarray(lax.lgamma(x)), [math.lgamma(v) for v in x],
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(lax.erf_inv(lax.erf(x / 8))), x / 8, rtol=1e-5)
    h = 1e-3
    num = [(math.lgamma(v + h) - math.lgamma(v - h)) / (2 * h) for v in x.astype(float)]
    np.testing.assert_allclose(np.asarray(lax.digamma(x)), num, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(lax.cbrt(np.array([-8.0, 27.0], np.float32))),
                               [-2, 3], rtol=1e-6)


def _np_gather_rows(x, idx, mode):
    out = []
    for i in idx[:, 0]:
        if mode == "fill" and not 0 <= i <= x.shape[0] - 1:
            out.append(np.full(x.shape[1], np.nan, x.dtype))
        else:
            out.append(x[np.clip(i, 0, x.shape[0] - 1)])
    return np.stack(out)


def test_gather_with_dimension_numbers():
    x = rng.normal(size=(4, 5)).astype(np.float32)
    idx = np.array([[0], [3], [5], [-1]], np.int32)
    dn = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                    start_index_map=(0,))
    for mode in (None, "clip", "fill"):
        got = np.asarray(lax.gather(x, idx, dn, (1, 5), mode=mode))
        np.testing.assert_array_equal(got, _np_gather_rows(x, idx, mode))
    # 2-d windows, clamped into bounds.
    dn2 = lax.GatherDimensionNumbers(offset_dims=(1, 2), collapsed_slice_dims=(),
                                     start_index_map=(0, 1))
    starts = np.array([[0, 0], [2, 3], [3, 4]], np.int32)
    got = np.asarray(fg.jit(lambda x: lax.gather(x, starts, dn2, (2, 2)))(x))
    want = [x[min(a, 2):min(a, 2) + 2, min(b, 3):min(b, 3) + 2] for a, b in starts]
    np.testing.assert_array_equal(got, np.stack(want))
    # Batching axes: one column per row.
    dn3 = lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(1,),
                                     start_index_map=(1,), operand_batching_dims=(0,),
                                     start_indices_batching_dims=(0,))
    cols = np.array([[1], [2], [4], [0]], np.int32)
    np.testing.assert_array_equal(np.asarray(lax.gather(x, cols, dn3, (1, 1))),
                                  x[np.arange(4), cols[:, 0]])
    g = fg.grad(lambda x: (lax.gather(x, starts[:2], dn2, (2, 2)) ** 2).sum())(x)
    want = np.zeros_like(x)
    for a, b in starts[:2]:
        want[a:a + 2, b:b + 2] += 2 * x[a:a + 2, b:b + 2]
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-6)


@pytest.mark.parametrize("op", ["scatter", "scatter_add", "scatter_sub", "scatter_mul",
                                "scatter_min", "scatter_max"])
def test_scatter_family(op):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    idx = np.array([[1], [3], [1], [7], [-1]], np.int32)
    upd = rng.normal(size=(5, 3)).astype(np.float32)
    if op == "scatter":
        idx, upd = idx[[0, 1, 3]], upd[[0, 1, 3]]        # unique targets: no race
    dn = lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                     scatter_dims_to_operand_dims=(0,))
    combine = {"scatter": lambda a, u: u, "scatter_add": np.add,
               "scatter_sub": np.subtract, "scatter_mul": np.multiply,
               "scatter_min": np.minimum, "scatter_max": np.maximum}[op]
    for mode in (None, "clip"):
        want = x.copy()
        for i, u in zip(idx[:, 0], upd):
            if mode is None and not 0 <= i < 4:
                continue                                    # dropped (FILL_OR_DROP)
            i = int(np.clip(i, 0, 3))
            want[i] = combine(want[i], u)
        got = fg.jit(lambda x, u, mode=mode: getattr(lax, op)(x, idx, u, dn, mode=mode))(
            x, upd)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, err_msg=f"{op} {mode}")


def test_scatter_points_and_apply():
    x = np.zeros((3, 4), np.float32)
    dn = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0, 1),
                                     scatter_dims_to_operand_dims=(0, 1))
    pts = np.array([[0, 0], [2, 3], [0, 0]], np.int32)
    out = np.asarray(lax.scatter_add(x, pts, np.ones(3, np.float32), dn))
    assert out[0, 0] == 2 and out[2, 3] == 1 and out.sum() == 3
    applied = np.asarray(lax.scatter_apply(x + 1, np.array([1, 2], np.int32), fnp.exp, dn))
    assert applied[1, 2] == pytest.approx(math.e) and applied.sum() == pytest.approx(11 + math.e)
    # funcgrad's earlier point form still works.
    np.testing.assert_array_equal(
        np.asarray(lax.scatter(np.zeros(3, np.float32), np.array([[1]]), np.ones(1, np.float32),
                               (0,), "add")), [0, 1, 0])


def test_reduce_forms():
    x = rng.normal(size=(4, 5)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(lax.reduce(x, 0.0, lax.add, (1,))), x.sum(1),
                               rtol=1e-5)
    np.testing.assert_allclose(
        np.asarray(lax.reduce(x, -np.inf, lambda a, b: fnp.maximum(a, b), (0, 1))), x.max())
    idx = np.broadcast_to(np.arange(5, dtype=np.int32), (4, 5))

    def argmax_pair(a, b):
        (av, ai), (bv, bi) = a, b
        take = (av > bv) | ((av == bv) & (ai < bi))
        return fnp.where(take, av, bv), fnp.where(take, ai, bi)

    vals, arg = lax.reduce((x, idx), (np.float32(-np.inf), np.int32(0)), argmax_pair, (1,))
    np.testing.assert_array_equal(np.asarray(arg), x.argmax(1))
    np.testing.assert_allclose(np.asarray(vals), x.max(1))
    b = x > 0
    np.testing.assert_array_equal(np.asarray(lax.reduce_and(b, (1,))), b.all(1))
    np.testing.assert_array_equal(np.asarray(lax.reduce_or(b, (0,))), b.any(0))
    ints = np.array([[3, 5, 6], [1, 1, 7]], np.int32)
    np.testing.assert_array_equal(np.asarray(lax.reduce_xor(ints, (1,))), [3 ^ 5 ^ 6, 7])
    g = fg.grad(lambda x: lax.reduce(x, 0.0, lambda a, b: a + b, (0, 1)))(x)
    np.testing.assert_allclose(np.asarray(g), np.ones_like(x))


def test_sorting_and_selection():
    x = rng.normal(size=(3, 6)).astype(np.float32)
    v = np.arange(18, dtype=np.int32).reshape(3, 6)
    _, vv = lax.sort_key_val(x, v, dimension=1)
    order = np.argsort(x, axis=1, kind="stable")
    np.testing.assert_array_equal(np.asarray(vv), np.take_along_axis(v, order, 1))
    vals, idx = lax.top_k(x, 2, axis=0)
    np.testing.assert_array_equal(np.asarray(idx), np.argsort(-x, axis=0, kind="stable")[:2])
    assert idx.dtype == np.int32
    vals, idx = lax.approx_min_k(x, 3)
    np.testing.assert_allclose(np.asarray(vals), np.sort(x, axis=1)[:, :3])
    _, tie_idx = lax.top_k(np.array([1.0, 3.0, 3.0, 2.0], np.float32), 2)
    assert list(np.asarray(tie_idx)) == [1, 2]
    big = (x * 40).astype(np.float32)
    np.testing.assert_allclose(np.asarray(lax.cumlogsumexp(big, 1)),
                               np.logaddexp.accumulate(big.astype(np.float64), axis=1),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(lax.cumlogsumexp(x, 1, reverse=True)),
                               np.logaddexp.accumulate(x[:, ::-1], axis=1)[:, ::-1],
                               rtol=1e-5)


def test_top_k_uses_xla_total_order_and_a_linear_selection():
    """lax.top_k orders by XLA's total order as JAX 0.10's does (+NaN first, -NaN last, +0
    before -0; values and indices below recorded from JAX), where it took jnp.argsort's
    order (every NaN first, +-0 equal). It is its own primitive, selecting in linear time
    (1024 rows of 1024, k=10: 64 ms through a full sort, JAX 5 ms)."""
    x = np.array([1, np.nan, 3, -np.nan, 3, -0.0, 0.0, -np.inf, 0.0, -0.0], np.float32)
    for f in (lax.top_k, fg.jit(lambda v, k: lax.top_k(v, k), static_argnums=1)):
        vals, idx = f(x, 10)
        assert list(np.asarray(idx)) == [1, 2, 4, 0, 6, 8, 5, 9, 7, 3]
        assert list(np.signbit(np.asarray(vals))) == [False] * 6 + [True] * 4
    _, idx = lax.top_k(np.array([3, -1, 3, 7, -5], np.int32), 3)
    assert list(np.asarray(idx)) == [3, 0, 2]
    _, idx = lax.top_k(np.array([1, np.nan, -np.nan, 2], ml_dtypes.bfloat16), 4)
    assert list(np.asarray(idx)) == [1, 3, 0, 2]

    def reference(v, k):        # a stable sort by descending total order, then the first k
        v = np.asarray(v, np.float64)
        key = np.where(np.isnan(v), np.where(np.signbit(v), -np.inf, np.inf), v)
        cls = np.where(np.isnan(v), np.where(np.signbit(v), 0, 3), np.where(
            np.isinf(key), np.where(key > 0, 2, 1), 1.5))
        rows = [np.lexsort((np.arange(v.shape[-1]), -(~np.signbit(r)).astype(int),
                            -np.nan_to_num(r, posinf=0, neginf=0), -c))[:k]
                for r, c in zip(v.reshape(-1, v.shape[-1]), cls.reshape(-1, v.shape[-1]))]
        return np.stack(rows).reshape(v.shape[:-1] + (k,))
    for dt in (np.float32, np.float64, np.float16, np.int8, np.uint8):
        for shape, k in (((6, 1000), 5), ((3, 40), 40), ((2, 9), 0), ((257,), 3)):
            v = (rng.integers(-6, 6, shape) * 0.5).astype(dt) if dt(0.5) else \
                rng.integers(0 if dt == np.uint8 else -6, 6, shape).astype(dt)
            if np.dtype(dt).kind == "f":
                v.flat[::7], v.flat[1::11], v.flat[2::13] = np.nan, -np.nan, -0.0
            vals, idx = lax.top_k(v, k)
            want = reference(v, k)
            np.testing.assert_array_equal(np.asarray(idx), want)
            np.testing.assert_array_equal(np.asarray(vals), np.take_along_axis(v, want, -1))
    # jit, axis=0, vmap and gradients (the selected entries' cotangents)
    y = rng.normal(size=(5, 30)).astype(np.float32)
    vals, idx = fg.jit(lambda a: lax.top_k(a, 3, axis=0))(y)
    np.testing.assert_array_equal(np.asarray(idx), np.argsort(-y, axis=0, kind="stable")[:3])
    np.testing.assert_array_equal(np.asarray(fg.vmap(lambda r: lax.top_k(r, 4)[1])(y)),
                                  np.argsort(-y, axis=1, kind="stable")[:, :4])
    g = fg.grad(lambda a: (lax.top_k(a, 3)[0] ** 2).sum())(y)
    want = np.zeros_like(y)
    top = np.argsort(-y, axis=1, kind="stable")[:, :3]
    np.put_along_axis(want, top, 2 * np.take_along_axis(y, top, 1), 1)
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-6)


def test_shape_functions():
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    assert lax.broadcast(x, (5,)).shape == (5, 2, 3, 4)
    assert lax.broadcast_to_rank(x, 5).shape == (1, 1, 2, 3, 4)
    assert lax.collapse(x, 1).shape == (2, 12) and lax.collapse(x, 0, 2).shape == (6, 4)
    parts = lax.split(x, (1, 3), axis=2)
    assert [p.shape for p in parts] == [(2, 3, 1), (2, 3, 3)]
    np.testing.assert_array_equal(np.asarray(lax.stack(lax.unstack(x, 1), 1)), x)
    np.testing.assert_array_equal(np.asarray(lax.tile(x, (1, 2, 1))), np.tile(x, (1, 2, 1)))
    assert lax.broadcast_shapes((1, 3), (4, 1)) == (4, 3)
    np.testing.assert_array_equal(
        np.asarray(lax.index_take(x, (np.array([1, 0]), np.array([2, 2])), (0, 1))),
        x[[1, 0], [2, 2]])
    assert lax.dtype(1.0) == fnp.zeros(()).dtype and lax.empty((2,), np.int32).shape == (2,)
    assert lax.conv_shape_tuple((1, 3, 8, 8), (4, 3, 3, 3), (2, 2), ((1, 1), (0, 0))) == \
        (1, 4, 4, 3)
    assert lax.conv_general_permutations(("NHWC", "HWIO", "NHWC")) == \
        ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))


def test_precision_and_keyword_names_accepted():
    a = rng.normal(size=(3, 4)).astype(np.float32)
    b = rng.normal(size=(4, 2)).astype(np.float32)
    for p in (None, lax.Precision.HIGHEST, "highest", lax.DotAlgorithmPreset.F32_F32_F32):
        out = lax.dot(a, b, precision=p)
        np.testing.assert_allclose(np.asarray(out), a @ b, rtol=1e-5)
    assert lax.Precision("float32") is lax.Precision.HIGHEST
    np.testing.assert_allclose(np.asarray(lax.exp(a, accuracy=lax.AccuracyMode.HIGHEST)),
                               np.exp(a), rtol=1e-6)
    out = lax.dot_general(lhs=a, rhs=b, dimension_numbers=(((1,), (0,)), ((), ())))
    np.testing.assert_allclose(np.asarray(out), a @ b, rtol=1e-5)
    assert lax.reshape(operand=a, new_sizes=(12,)).shape == (12,)
    assert lax.mul(np.int8(100), np.int8(3), out_dtype=np.int32) == 300
    assert float(lax.switch(1, [lambda v: v, lambda v: v * 2], operand=3.0)) == 6.0
    assert float(lax.clamp(min=0.0, x=5.0, max=1.0)) == 1.0
    np.testing.assert_allclose(np.asarray(lax.optimization_barrier((a, b))[0]), a)
    assert lax.composite(lambda v: v + 1, "inc")(1.0) == 2.0
    assert lax.platform_dependent(1.0, cpu=lambda v: v * 2, default=lambda v: v) in (1.0, 2.0)


def test_ragged_dot():
    lhs = rng.normal(size=(5, 3)).astype(np.float32)
    rhs = rng.normal(size=(3, 3, 2)).astype(np.float32)
    sizes = np.array([2, 0, 3], np.int32)
    want = np.concatenate([lhs[:2] @ rhs[0], lhs[2:] @ rhs[2]])
    np.testing.assert_allclose(np.asarray(lax.ragged_dot(lhs, rhs, sizes)), want, rtol=1e-5)


def _spd(n):
    a = rng.normal(size=(n, n)).astype(np.float32)
    return a @ a.T + n * np.eye(n, dtype=np.float32)


def test_custom_linear_solve_derivatives():
    a0, b0 = _spd(3), rng.normal(size=3).astype(np.float32)

    def f(a, b, symmetric=False):
        kw = {"symmetric": True} if symmetric else {
            "transpose_solve": lambda vecmat, y: fnp.linalg.solve(a.T, y)}
        return lax.custom_linear_solve(lambda x: a @ x, b,
                                       lambda mv, y: fnp.linalg.solve(a, y), **kw)

    x = np.linalg.solve(a0, b0)
    np.testing.assert_allclose(np.asarray(f(a0, b0)), x, rtol=1e-5)
    # d/db sum(A^-1 b) = A^-T 1;  d/dA sum(x^2) = -A^-T (2x) x^T.
    gb = fg.grad(lambda b: f(a0, b).sum())(b0)
    np.testing.assert_allclose(np.asarray(gb), np.linalg.solve(a0.T, np.ones(3)), rtol=1e-4)
    for sym in (False, True):
        ga = fg.grad(lambda a, sym=sym: (f(a, b0, sym) ** 2).sum())(a0)
        want = -np.outer(np.linalg.solve(a0.T, 2 * x), x)
        np.testing.assert_allclose(np.asarray(ga), want, rtol=1e-4, atol=1e-6)
    _, t = fg.jvp(lambda b: f(a0, b), (b0,), (np.ones(3, np.float32),))
    np.testing.assert_allclose(np.asarray(t), np.linalg.solve(a0, np.ones(3)), rtol=1e-4)
    gj = fg.jit(fg.vmap(fg.grad(lambda b: f(a0, b).sum())))(np.stack([b0, 2 * b0]))
    np.testing.assert_allclose(np.asarray(gj)[1], np.linalg.solve(a0.T, np.ones(3)),
                               rtol=1e-4)
    with pytest.raises(TypeError, match="transpose_solve"):
        fg.grad(lambda b: lax.custom_linear_solve(lambda x: a0 @ x, b,
                                                  lambda mv, y: y).sum())(b0)


def test_custom_root_derivatives():
    def sqrt(a):
        def newton(f, x0):
            return lax.fori_loop(0, 25, lambda i, x: x - f(x) / (2 * x), x0)
        return lax.custom_root(lambda x: x * x - a, 1.0, newton, lambda g, y: y / g(1.0))

    np.testing.assert_allclose(float(sqrt(2.0)), math.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(float(fg.grad(sqrt)(2.0)), 0.5 / math.sqrt(2), rtol=1e-5)
    np.testing.assert_allclose(float(fg.jvp(sqrt, (4.0,), (1.0,))[1]), 0.25, rtol=1e-5)
    out = fg.jit(fg.vmap(fg.grad(sqrt)))(fnp.array([4.0, 9.0]))
    np.testing.assert_allclose(np.asarray(out), [0.25, 1 / 6], rtol=1e-5)

    def with_aux(a):
        def solve(f, x0):
            return lax.fori_loop(0, 25, lambda i, x: x - f(x) / (2 * x), x0), fnp.int32(25)
        return lax.custom_root(lambda x: x * x - a, 1.0, solve, lambda g, y: y / g(1.0),
                               has_aux=True)

    root, aux = with_aux(9.0)
    assert float(root) == pytest.approx(3.0) and int(aux) == 25


def test_eval_shape_takes_shape_dtype_structs_and_computes_nothing():
    """JAX's eval_shape: abstract arguments (ShapeDtypeStruct or anything with shape and
    dtype), a pytree of ShapeDtypeStructs back, and the function only traced."""
    calls = []

    def f(x, y):
        calls.append(type(x).__name__)
        return {"a": x @ y, "n": fnp.sum(x, axis=0)}

    out = fg.eval_shape(f, fg.ShapeDtypeStruct((3, 4), np.float32), np.ones((4, 2)))
    assert isinstance(out["a"], fg.ShapeDtypeStruct)
    assert (out["a"].shape, out["a"].dtype) == ((3, 2), np.float32)
    assert (out["n"].shape, out["n"].dtype) == ((4,), np.float32)
    assert len(calls) == 1 and calls[0] != "ArrayImpl"   # traced, not run
    with pytest.raises(TypeError, match="eval_shape"):
        fg.eval_shape(f, object(), np.ones((4, 2)))


def test_jax_signature_arguments_of_the_derivative_transforms():
    """JAX's holomorphic/reduce_axes/allow_int are accepted where JAX has them; the ones
    funcgrad cannot honour (complex functions) say so by name."""
    f = lambda x: fnp.sum(x ** 2)
    x = fnp.ones(3)
    np.testing.assert_allclose(np.asarray(fg.grad(f, holomorphic=False, reduce_axes=())(x)),
                               2 * np.ones(3))
    assert fg.jacrev(f, holomorphic=False)(x).shape == (3,)
    for t in (fg.grad, fg.value_and_grad, fg.jacfwd, fg.jacrev, fg.hessian):
        with pytest.raises(TypeError, match="holomorphic=True requires inputs with complex"):
            t(f, holomorphic=True)(x)


def test_numpy_namespace_is_declared():
    """funcgrad.numpy declares its public names; each exists, none is a helper or a
    re-exported internal class, and `from funcgrad.numpy import *` gives exactly them."""
    assert len(fnp.__all__) == len(set(fnp.__all__)) > 300
    assert all(hasattr(fnp, n) for n in fnp.__all__)
    assert not {"ArrayImpl", "ShapedArray", "Tracer", "builtins", "annotations",
                "attach_array_methods"} & set(fnp.__all__)
    public = {n for n in dir(fnp) if not n.startswith("_")}
    assert public - set(fnp.__all__) <= {"Array", "ArrayImpl", "ShapedArray", "Tracer",
                                         "annotations", "attach_array_methods", "builtins",
                                         "linalg"}
    ns: dict = {}
    exec("from funcgrad.numpy import *", ns)
    assert set(ns) - {"__builtins__"} == set(fnp.__all__)


def test_tree_leaves_matches_tree_flatten():
    """tree_leaves walks without building the tree definition: same leaves, same order."""
    import collections
    from funcgrad import tree_util as tu
    Point = collections.namedtuple("Point", "x y")
    trees = [
        {"b": [1, (2, None)], "a": Point(3, {"z": 4, "c": 5})},
        [(fg.numpy.ones(2), fg.numpy.zeros(1))] * 3,
        None, 7, (), {"k": []},
    ]
    for t in trees:
        got, want = tu.tree_leaves(t), tu.tree_flatten(t)[0]
        assert len(got) == len(want) and all(a is b for a, b in zip(got, want)), t
    stop = lambda x: isinstance(x, Point)
    t = trees[0]
    assert tu.tree_leaves(t, is_leaf=stop) == tu.tree_flatten(t, is_leaf=stop)[0]
    assert fg.block_until_ready(trees[1]) is trees[1]
