"""Every view of a model's parameters agrees, frozen ones included: named_parameters and
parameters() (what is trained), named_parameters(include_frozen=True), state_dict, save/load,
load_state_dict, to() and summary, on models drawn by hypothesis (sub-modules held in
attributes, lists, tuples, dicts, ModuleList, ModuleDict, Sequential; parameters in
ParameterList and bare) with random parameters frozen."""

import os
import tempfile

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_nn as tg
from tinygrad_nn import Value, nn

SIZES = st.integers(1, 3)
KEYS = st.sampled_from(["a", "b", "enc", "dec"])

# A spec is (kind, body): a module (what a ModuleList/ModuleDict/Sequential may hold) or, in a
# plain Module's attribute, anything `held` draws.
LEAF_MODULES = st.one_of(
    st.tuples(st.just("linear"), st.tuples(SIZES, SIZES, st.booleans())),
    st.tuples(st.just("layer"), st.tuples(SIZES, SIZES)),
    st.tuples(st.just("batchnorm"), SIZES),  # buffers beside its parameters
    st.tuples(st.just("paramlist"), st.lists(st.tuples(SIZES), min_size=1, max_size=2)),
)


PARAM = st.tuples(st.just("param"), st.tuples(SIZES))


def modules(depth):
    """Module specs nested up to `depth` containers deep."""
    if depth == 0:
        return LEAF_MODULES
    inner = modules(depth - 1)
    return st.one_of(
        LEAF_MODULES,
        st.tuples(st.just("modulelist"), st.lists(inner, max_size=3)),
        st.tuples(st.just("sequential"), st.lists(inner, max_size=3)),
        st.tuples(st.just("moduledict"), st.dictionaries(KEYS, inner, max_size=3)),
        st.tuples(st.just("custom"), st.lists(held(depth - 1), min_size=1, max_size=3)))


def held(depth):
    """What an attribute of a plain Module may hold: a module, a bare parameter, or lists,
    tuples and dicts of those, nested up to `depth` deep."""
    if depth == 0:
        return st.one_of(LEAF_MODULES, PARAM)
    inner = held(depth - 1)
    return st.one_of(modules(depth), PARAM,
                     st.tuples(st.just("list"), st.lists(inner, max_size=3)),
                     st.tuples(st.just("tuple"), st.lists(inner, max_size=2)),
                     st.tuples(st.just("dict"), st.dictionaries(KEYS, inner, max_size=3)))


MODELS = st.lists(held(2), min_size=1, max_size=3)


def build(spec):
    """The object a spec describes (every build of a spec gives the same values)."""
    kind, body = spec
    if kind == "linear":
        return nn.Linear(body[0], body[1], bias=body[2], seed=0)
    if kind == "layer":
        return nn.Layer(*body, seed=0)
    if kind == "batchnorm":
        return nn.BatchNorm1d(body)
    if kind == "paramlist":
        return nn.ParameterList([np.ones(shape) for shape in body])
    if kind == "param":
        return nn.Parameter(np.ones(body))
    if kind in ("list", "tuple"):
        return (list if kind == "list" else tuple)(build(s) for s in body)
    if kind == "dict":
        return {key: build(s) for key, s in body.items()}
    if kind == "modulelist":
        return nn.ModuleList([build(s) for s in body])
    if kind == "sequential":
        return nn.Sequential(*[build(s) for s in body])
    if kind == "moduledict":
        return nn.ModuleDict({key: build(s) for key, s in body.items()})
    module = nn.Module()  # custom: a user's module holding things in its attributes
    for i, held in enumerate(body):
        setattr(module, f"part{i}", build(held))
    return module


def every_parameter(model):
    """The leaf Values a model holds, found by hand, depth first in attribute order."""
    found, seen = [], set()

    def visit(item):
        if isinstance(item, Value) and id(item) not in seen:
            seen.add(id(item))
            found.append(item)
        elif isinstance(item, (list, tuple)):
            for entry in item:
                visit(entry)
        elif isinstance(item, dict):
            for entry in item.values():
                visit(entry)
        elif isinstance(item, nn.Module):
            own = [v for k, v in vars(item).items() if isinstance(v, Value)]
            for v in own:
                visit(v)
            for k, v in vars(item).items():
                if not isinstance(v, Value):
                    visit(v)

    visit(model)
    return found


def summary_counts(text):
    lines = text.splitlines()
    rows = lines[2:lines.index(lines[1], 2)]
    footer = dict(line.rsplit(": ", 1) for line in lines[-4:])
    return ({row.split()[0]: int(row.split()[-1].replace(",", "")) for row in rows},
            {k: int(v.split()[0].replace(",", "")) for k, v in footer.items()})


@given(MODELS, st.data())
def test_every_view_of_the_parameters_agrees_whatever_is_frozen(specs, data):
    model = build(("custom", specs))
    everything = dict(model.named_parameters(include_frozen=True))
    frozen = data.draw(st.lists(st.booleans(), min_size=len(everything), max_size=len(everything)))
    rng = np.random.default_rng(0)
    for v, freeze in zip(everything.values(), frozen):
        v.data = rng.normal(size=v.shape)
        v.requires_grad = not freeze
    for _, module, attr, _ in model._buffer_owners():
        setattr(module, attr, rng.normal(size=getattr(module, attr).shape).astype(
            getattr(module, attr).dtype))

    # every leaf held anywhere is listed once, trained ones by named_parameters and parameters()
    assert {id(v) for v in everything.values()} == {id(v) for v in every_parameter(model)}
    trained = [(n, v) for n, v in everything.items() if v.requires_grad]
    assert list(model.named_parameters()) == trained
    assert [id(v) for v in model.parameters()] == [id(v) for _, v in trained]

    # state_dict: every parameter, frozen too, in the same order, then the buffers by their names
    state = model.state_dict()
    buffers = dict(model.named_buffers(persistent_only=True))
    assert [n for n in state if n not in buffers] == list(everything)
    for name, v in everything.items():
        np.testing.assert_array_equal(state[name], v.data)

    # summary counts them all, trainable and not
    rows, totals = summary_counts(tg.summary(model))
    assert totals == {"Total params": sum(v.size for v in everything.values()),
                      "Trainable params": sum(v.size for _, v in trained),
                      "Non-trainable params": sum(v.size for v in everything.values()
                                                  if not v.requires_grad),
                      "Params size": sum(v.data.nbytes for v in everything.values())}
    assert sum(rows.values()) == totals["Total params"]

    # save/load into a fresh build: every value comes back, each freezing flag stays its own
    fresh = build(("custom", specs))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.npz")
        tg.save(state, path)
        fresh.load_state_dict(tg.load(path))
    assert list(fresh.state_dict()) == list(state)
    for name, array in fresh.state_dict().items():
        np.testing.assert_array_equal(array, state[name])
    assert len(list(fresh.parameters())) == len(everything)  # a state holds no freezing flags

    # to(): every parameter converted, frozen or not, none lost
    model.float()
    assert list(model.state_dict()) == list(state)
    assert all(v.dtype == np.float32 for v in everything.values())


def test_a_tied_frozen_parameter_is_listed_once_under_its_first_name_everywhere():
    model = nn.Module()
    model.first = nn.Linear(2, 2, seed=0)
    model.second = nn.Linear(2, 2, seed=1)
    model.second.weight = model.first.weight  # tied
    model.first.weight.requires_grad = False
    assert list(model.named_parameters(include_frozen=True)) == [
        ("first.weight", model.first.weight), ("first.bias", model.first.bias),
        ("second.bias", model.second.bias)]
    assert list(model.state_dict()) == ["first.weight", "first.bias", "second.bias"]
    assert [n for n, _ in model.named_parameters()] == ["first.bias", "second.bias"]
    _, totals = summary_counts(tg.summary(model))
    assert (totals["Total params"], totals["Non-trainable params"]) == (8, 4)
