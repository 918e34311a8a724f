"""The structure side of `jax.tree_util` and `jax.tree`, as their API pages show it: tree
definitions of leaves, None, empty containers and namedtuples (`treedef_is_leaf`,
`num_nodes`, `num_leaves`, `children`, `node_data`, `compose`, `flatten_up_to`,
`treedef_tuple`, equality), key paths with `keystr` (default and `simple=True` with a
separator) over dicts with int keys, OrderedDicts, namedtuples and registered dataclasses,
`tree.transpose` with an inferred inner structure, `tree.broadcast` with None and `is_leaf`,
`leaves_with_path` with a path-aware `is_leaf`, `tree.all` of empty trees, and numeric
results computed through these utilities (an optimizer state built with `tree.transpose`)."""
import collections
import dataclasses
import functools

import jax
import jax.numpy as jnp
from jax import tree_util as tu

Point = collections.namedtuple("Point", ["x", "y"])


@functools.partial(jax.tree_util.register_dataclass, data_fields=["w", "b"],
                   meta_fields=["name"])
@dataclasses.dataclass
class Layer:
    w: jax.Array
    name: str
    b: jax.Array


def run():
    S = jax.tree.structure
    params = {"enc": Layer(jnp.ones((2, 3)), "enc", jnp.zeros(3)),
              "dec": [Layer(jnp.full((3, 2), 0.5), "dec", jnp.ones(2)), None]}
    grads = jax.tree.map(lambda p: p * 0.1 + 1.0, params)
    # per-parameter (m, v) pairs, regrouped into one tree of ms and one of vs
    pairs = jax.tree.map(lambda g: (g * 0.9, g * g * 0.999), grads)
    outer, inner = S(grads), S((0, 0))
    m_tree, v_tree = jax.tree.transpose(outer, inner, pairs)
    step = jax.tree.map(lambda m, v: m / (jnp.sqrt(v) + 1e-8), m_tree, v_tree)
    keyed = {2: "b", 1: "a", 10: (Point(1, [2]), None)}
    od = collections.OrderedDict([("z", 1), ("a", [2, 3])])

    return {
        "is_leaf": str([tu.treedef_is_leaf(S(z)) for z in (1, None, [], (), {}, [1],
                                                             Point(1, 2))]),
        "num_nodes": str([S(z).num_nodes for z in (1, None, [], (), [None], params)]),
        "num_leaves": str([S(z).num_leaves for z in (1, None, [], [None], params)]),
        "children": str(S({"a": [1, 2], "b": (None,)}).children()),
        "children_of_leaf": str(S(1).children()),
        "node_data_dict": str(S({"b": 1, "a": 2}).node_data()),
        "node_data_list": str(S([1, 2]).node_data()),
        "compose": str(S([0, 0]).compose(S((0, {"k": 0})))),
        "flatten_up_to": str(S([0, 0]).flatten_up_to([None, {"a": 1}])),
        "treedef_tuple": str(tu.treedef_tuple([S(1), S([1, 2]), S(None)])),
        "treedef_equal_dict_order": str(S({"a": 1, "b": 2}) == S({"b": 3, "a": 4})),
        "structure_dataclass": str(S(params)),
        "keystr_default": str([tu.keystr(p) for p, _ in tu.tree_leaves_with_path(keyed)]),
        "keystr_simple": str([tu.keystr(p, simple=True, separator="/")
                              for p, _ in tu.tree_leaves_with_path(params)]),
        "keystr_ordered_dict": str([tu.keystr(p) for p, _ in tu.tree_leaves_with_path(od)]),
        "leaves_int_keys": str(jax.tree.leaves(keyed)),
        "leaves_ordered_dict": str(jax.tree.leaves(od)),
        "leaves_with_path_none": str(tu.tree_leaves_with_path([None, 1, {"a": None}])),
        "leaves_path_is_leaf": str(jax.tree.leaves_with_path(
            [1, [2, 3]], is_leaf=lambda p, x: len(p) == 1, is_leaf_takes_path=True)),
        "map_with_path": str(jax.tree.map_with_path(lambda p, x: tu.keystr(p),
                                                    {"a": None, "b": (1,)})),
        "map_is_leaf_none": str(jax.tree.map(lambda x: x is None, [None, 1],
                                             is_leaf=lambda x: x is None)),
        "map_prefix_tree": str(jax.tree.map(lambda x, y: (x, y), [1, 2], [{"k": 3}, (4, 5)])),
        "transpose_inferred": str(jax.tree.transpose(S([0, 0]), None, [(1, 2), (3, 4)])),
        "broadcast_none": str(jax.tree.broadcast({"a": 1, "b": 2}, {"a": None, "b": [3, 4]})),
        "broadcast_is_leaf": str(jax.tree.broadcast([1, (2, 3)], [[5, 6], 7],
                                                    is_leaf=lambda x: isinstance(x, tuple))),
        "all_empty": str((jax.tree.all([]), jax.tree.all([[], ()]), jax.tree.all([1, [0]]))),
        "reduce_initializer": jnp.asarray(jax.tree.reduce(lambda a, b: a + b,
                                                          [1, [2, 3], None], 100)),
        "adam_step_enc_w": step["enc"].w,
        "adam_step_dec_b": step["dec"][0].b,
        "adam_m_leaves": jnp.concatenate([x.ravel() for x in jax.tree.leaves(m_tree)]),
    }


if __name__ == "__main__":
    print(run())
