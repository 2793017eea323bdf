"""Value's operators and methods are visible to type checkers; the README and examples/ pass mypy.

Value gets its operators and methods at run time, from the op table of `tinygrad_nn.ops`; type
checkers read the declarations generated from the same table into ``class Value`` (engine.py)
and the literal ``__all__`` of ops.py. The first tests keep both sides equal: the generated text
is current, and every declared method, operator and property exists at run time and accepts the
declared parameters with the declared defaults.

The mypy tests run mypy once (module fixture `mypy_run`) over:

- the README's ```python blocks. The blocks of one ``## `` section (its ``###`` subsections
  included) are read in order, as one module, since a later block may use names an earlier one
  defined; sections are separate modules. Each module keeps every code line at its README line
  number (other lines are blank), so mypy's messages are shown as ``README.md:LINE``. Two
  markers, each an HTML comment (invisible on GitHub) ending on the line right before a fence:

  - ``<!-- no-typecheck -->``: the block is not type-checked (an illustration that cannot be
    made valid Python);
  - a setup comment, Python that the block may assume (names that the prose introduces), checked
    with the block in the same module::

        <!-- typecheck-setup
        import numpy as np
        X_train: np.ndarray
        -->

    (The opening line is exactly ``<!-- typecheck-setup``, the closing one exactly ``-->``.)

- every examples/*.py;
- a probe: a misspelt method and a string operand, which must be reported; this proves that
  Value's methods and operators are declared, not Any (nor the package unresolved, which
  ``--ignore-missing-imports`` would hide).

Options: ``--follow-imports=silent`` analyses tinygrad_nn (its types are what is checked) but
does not report errors inside it: they are the package's own concern (``mypy tinygrad_nn``),
not a user's; ``--ignore-missing-imports``: scipy, tqdm and graphviz ship no stubs, and a user
of the package does not need them; ``--check-untyped-defs``: examples and README snippets
define functions without annotations (``def test_log_cosh_gradient(x):``), whose bodies mypy
would otherwise skip. mypy's cache lives in pytest's cache directory (.pytest_cache/d/typing/),
so that a second run does not parse numpy's stubs again (about 10 s cold, well under 1 s warm).
"""

from __future__ import annotations

import inspect
import pathlib
import re
import textwrap
from typing import Any

import numpy as np
import pytest

from tinygrad_nn import Value, ops
from tinygrad_nn.engine import REQUIRED, Operand

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
REFRESH = "run `python -m tinygrad_nn.ops` to regenerate it"


# ---- the generated declarations match the op table and the run time ---------------------------
def test_value_declarations_are_current():
    assert ops.generated(ops.ENGINE) == ops.declarations(), \
        f"the declarations in class Value (tinygrad_nn/engine.py) are stale: {REFRESH}"


def test_ops_all_is_current():
    assert ops.generated(ops.OPS_FILE) == ops.exported(), \
        f"the __all__ of tinygrad_nn/ops/__init__.py is stale: {REFRESH}"


def test_readme_op_list_is_current():
    assert ops.generated(ops.README) == ops.oplist(), \
        f"the list of ops in README.md is stale: {REFRESH}"


def _declared() -> dict[str, Any]:
    """The generated declarations, executed as the body of a class: name -> function/property."""
    source = "class Declared:\n" + textwrap.indent(textwrap.dedent(ops.declarations()), "    ")
    namespace: dict[str, Any] = {"Any": Any, "Operand": Operand, "Value": Value}
    exec(source, namespace)
    return {name: attr for name, attr in vars(namespace["Declared"]).items()
            if inspect.isfunction(attr) or isinstance(attr, property)}


# Arguments for declared parameters without a usable default (`*shape` of reshape, ...), for a
# (3, 3) input.
# A sample argument for each parameter without a default, by its name, and for one method where
# the name means something else (the shape to broadcast to, a 1-D index).
SAMPLES: dict[str, tuple] = {
    "shape": (9,), "axes": (1, 0), "key": (0,), "axis": (0,), "dims": (1, 0), "sizes": (3, 3),
    "reps": (2,), "repeats": (2,), "shift": (1,), "pad_width": (1,), "chunks": (3,),
    "indices_or_sections": (3,), "axis1": (0,), "axis2": (1,), "source": (0,),
    "destination": (1,), "indices": (np.array([[0], [2], [1]]),), "index": (np.array([[0, 2, 1]]),),
    "src": (np.ones((1, 3)),), "mask": (np.eye(3, dtype=bool),), "value": (0.0,)}
METHOD_SAMPLES: dict[str, dict[str, tuple]] = {
    "broadcast_to": {"shape": ((2, 3, 3),)},
    "unflatten": {"sizes": ((3, 1),)},
    "index_select": {"index": (np.array([0, 2]),)},
    "index_add": {"index": (np.array([0, 2]),), "source": (np.ones((2, 3)),)},
}
METHOD_OPS = {name: op for op in ops.UNIQUE.values() for name in op.methods}


def _x(method: str = "") -> Value:
    """A 3 x 3 input inside the first domain of the op behind `method`."""
    op = METHOD_OPS.get(method)
    domain = op.info.domains[0] if op is not None and op.info is not None else None
    lo, hi = (0.5, 1.5) if domain is None else (max(domain.lo, 0.5), min(domain.hi, 1.5))
    return Value(np.linspace(lo, hi if hi > lo else lo + 1.0, 9).reshape(3, 3))


def _other() -> Value:
    return Value(np.linspace(0.7, 1.9, 9).reshape(3, 3))


def _same(a: Any, b: Any) -> bool:
    """Equal results: Values (or sequences of them, from split & co) or plain numbers (argmax)."""
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if not isinstance(a, Value):
        return not isinstance(b, Value) and np.array_equal(a, b)
    return isinstance(b, Value) and a.shape == b.shape and \
        np.allclose(a.data, b.data, equal_nan=True)


def test_every_op_method_is_declared():
    attached = {name for op in ops.ALL.values()
                for name in (*op.methods, *op.operators, *op.properties)}
    assert attached == set(_declared()), REFRESH


@pytest.mark.parametrize("name", sorted(_declared()))
def test_declared_method_exists_and_takes_the_declared_parameters(name):
    declared = _declared()[name]
    runtime = inspect.getattr_static(Value, name, None)
    assert runtime is not None, f"Value.{name} is declared but not defined at run time"
    if isinstance(declared, property):
        assert isinstance(runtime, property), f"Value.{name} is declared as a property"
        assert isinstance(getattr(_x(), name), Value)
        return
    assert callable(runtime) and not isinstance(runtime, property), name
    params = list(inspect.signature(declared).parameters.values())[1:]  # after self
    method = getattr(_x(name), name)
    samples = {**SAMPLES, **METHOD_SAMPLES.get(name, {})}
    positional: list = []
    keywords: dict = {}
    for p in params:
        if p.name.startswith("other"):  # an operand: a Value, a number or an array
            positional.append(_other())
        elif p.kind is p.VAR_POSITIONAL:
            positional.extend(samples[p.name])
        elif p.default is p.empty or p.default is Ellipsis or p.default is REQUIRED:
            assert p.name in samples, f"add a sample argument for {name}'s parameter {p.name!r}"
            positional.extend(samples[p.name])
        else:
            keywords[p.name] = p.default
    # Every declared parameter, by name and with the declared default, is accepted ...
    by_name = method(*positional, **keywords)
    if name not in ("argmax", "argmin"):  # integer positions, as numpy gives them
        pieces = by_name if isinstance(by_name, (tuple, list)) else [by_name]
        assert pieces and all(isinstance(v, Value) for v in pieces), \
            f"Value.{name} should return a Value (or, to split, several)"
    # ... and also positionally, in the declared order; ...
    assert _same(method(*positional, *keywords.values()), by_name), \
        f"Value.{name}: the declared parameter order differs from the run time's"
    # ... and the declared defaults are the run time's.
    assert _same(method(*positional), by_name), \
        f"Value.{name}: the declared defaults differ from the run time's"


def test_reflected_operators_swap_their_operands():
    x, y = Value(np.array([[5.0, 1.0], [2.0, 3.0]])), Value(np.array([[2.0, 1.0], [1.0, 4.0]]))
    for op in ops.ALL.values():
        for name in op.operators:
            if name.startswith("__r") and len(op.vjps) == 2:
                assert _same(getattr(x, name)(y), op(y, x)), name


# ---- mypy over the README's examples, examples/ and a probe ----------------------------------
PROBE = """\
from tinygrad_nn import Value
Value(1.0).exxp()
Value(1.0) + "a"
"""

NO_TYPECHECK = "<!-- no-typecheck -->"
SETUP_START, SETUP_END = "<!-- typecheck-setup", "-->"


def readme_modules(text: str) -> dict[str, str]:
    """The README's python blocks as modules, one per ``## `` section (see the module docstring):
    module name -> source in which line k is line k of the README (other lines blank)."""
    lines = text.split("\n")
    modules: dict[str, list[str]] = {}
    section, fence = "readme_top", None
    for i, line in enumerate(lines):
        if fence is not None:  # inside a fenced block
            if line.strip() == "```":
                fence = None
            continue
        if line.startswith("```"):
            fence = line[3:].strip()
            if fence != "python":
                continue
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            code = list(range(i + 1, end))
            before = lines[i - 1].strip() if i else ""
            if before == NO_TYPECHECK:
                continue
            if before == SETUP_END:  # the end of a comment: a setup if it opens as one
                start = next(k for k in range(i - 2, -1, -1)
                             if lines[k].lstrip().startswith("<!--"))
                if lines[start].strip() == SETUP_START:
                    code = list(range(start + 1, i - 1)) + code
            module = modules.setdefault(section, [""] * len(lines))
            for k in code:
                module[k] = lines[k]
        elif line.startswith("## "):
            section = f"readme_l{i + 1}_" + re.sub(r"\W+", "_", line[3:].lower()).strip("_")
    return {name: "\n".join(module) + "\n" for name, module in modules.items()}


@pytest.fixture(scope="module")
def mypy_run(request, tmp_path_factory):
    """mypy once over the package, the README's modules, examples/*.py and the probe: {file name: [errors]}
    (errors are mypy's lines, README paths shown as README.md)."""
    api = pytest.importorskip("mypy.api")
    # mypy's cache, and the files it checks: always at the same paths, since mypy reports the
    # errors of a module it finds unchanged in its cache under the path it had then.
    pytest_cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    base = pytest_cache.mkdir("typing") if pytest_cache is not None else \
        tmp_path_factory.mktemp("typing")
    cache, tmp = base / "mypy_cache", base / "checked"
    tmp.mkdir(exist_ok=True)
    for old in tmp.glob("*.py"):
        old.unlink()
    readme_files = []
    for name, source in readme_modules(README.read_text()).items():
        path = tmp / f"{name}.py"
        path.write_text(source)
        readme_files.append(path)
    probe = tmp / "typing_probe.py"
    probe.write_text(PROBE)
    args = ["--follow-imports=silent", "--ignore-missing-imports", "--check-untyped-defs",
            "--no-error-summary", "--show-error-codes", "--hide-error-context",
            "--cache-dir", str(cache), "tinygrad_nn", *map(str, [*readme_files, *EXAMPLES, probe])]
    mp = pytest.MonkeyPatch()
    mp.chdir(ROOT)  # so that mypy finds tinygrad_nn here, not some installed copy
    try:
        stdout, stderr, status = api.run(args)
    finally:
        mp.undo()
    assert status in (0, 1) and not stderr, f"mypy did not run:\n{stderr}\n{stdout}"
    readme_names = {path.name for path in readme_files}
    errors: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if ": error:" in line or ": note:" in line:
            path, rest = line.split(":", 1)
            name = pathlib.Path(path).name
            if name in readme_names:  # its line numbers are the README's
                name, line = README.name, f"{README.name}:{rest}"
            errors.setdefault(name, []).append(line)
    return errors, stdout


def test_the_package_readme_and_examples_pass_mypy(mypy_run):
    errors, _ = mypy_run
    failures = [line for name, lines in errors.items() if name != "typing_probe.py"
                for line in lines]
    assert not failures, "mypy reports errors in tinygrad_nn, the README's examples or examples/ " \
        "(see this file's docstring for the README's markers):\n" + "\n".join(failures)


def test_mypy_sees_values_methods_and_operators(mypy_run):
    errors, stdout = mypy_run
    probe = "\n".join(line for line in errors.get("typing_probe.py", []) if ": error:" in line)
    assert re.search(r':2: error: "Value" has no attribute "exxp".*\[attr-defined\]', probe), \
        f"mypy should report the misspelt method: Value's methods are not declared\n{stdout}"
    assert re.search(r':3: error: Unsupported operand types for \+ \("Value" and "str"\)', probe), \
        f"mypy should report the str operand: Value's operators are not declared\n{stdout}"
    assert probe.count(": error:") == 2, probe


def test_readme_modules_keep_line_numbers_and_markers():
    text = textwrap.dedent("""\
        ## One
        ```python
        a = 1
        ```
        <!-- no-typecheck -->
        ```python
        broken(
        ```
        ## Two
        ```bash
        ## not a section
        ```
        <!-- typecheck-setup
        b: int
        -->
        ```python
        c = b + 1
        ```
        <!-- a comment, not a setup
        -->
        ```python
        d = c
        ```
        """)
    modules = readme_modules(text)
    assert list(modules) == ["readme_l1_one", "readme_l9_two"]
    one, two = (m.split("\n") for m in modules.values())
    assert one[2] == "a = 1" and "broken(" not in modules["readme_l1_one"]
    assert two[13] == "b: int" and two[16] == "c = b + 1"
    assert two[21] == "d = c"
    assert "".join(two).replace(" ", "") == "b:intc=b+1d=c"
