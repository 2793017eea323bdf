#!/usr/bin/env bash
# One entry point for newcomers and CI. Each command sets itself up (idempotently) and says what it does:
#   ./dev.sh demo    build a graph, backprop, print gradients (python -m tinygrad_nn demo)
#   ./dev.sh test    run the whole test suite (extra arguments go to pytest)
#   ./dev.sh bench   run the benchmarks against the peers (installs micrograd, HIPS autograd and
#                    PyTorch's CPU build)
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY="$VENV/bin/python"
# Small models run fastest on one BLAS thread (threads cost more than they save at these sizes,
# and a busy machine makes them wait); set OPENBLAS_NUM_THREADS yourself to override.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

say() { echo "==> $*"; }

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
    say "installing Debian packages: $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_dot() {
    if command -v dot >/dev/null 2>&1; then return; fi
    if can_apt; then apt_install graphviz
    else say "note: the graphviz program 'dot' is missing; SVG output needs it (Debian: sudo apt-get install graphviz, macOS: brew install graphviz)"
    fi
}

ensure_venv() {
    if [ -x "$PY" ]; then return; fi
    say "creating a virtual environment in $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        if can_apt; then apt_install python3-venv && python3 -m venv "$VENV"
        else echo "python3 -m venv failed: install your system's venv package (Debian: sudo apt-get install python3-venv)" >&2; exit 1
        fi
    fi
}

# Install the package (editable) with the given extras, once per change of pyproject.toml.
ensure_package() {
    local extras="$1" stamp
    stamp="$VENV/.installed-$(cat pyproject.toml | cksum | cut -d' ' -f1)-$extras"
    if [ -f "$stamp" ]; then say "tinygrad_nn[$extras] already installed in $VENV"; return; fi
    say "installing tinygrad_nn[$extras] into $VENV"
    "$PY" -m pip install -q --upgrade pip >/dev/null
    "$PY" -m pip install -q -e ".[$extras]"
    touch "$stamp"
}

# PyTorch 2.13.0, CPU build: the benchmarks' main peer. Not in the bench extra: from PyPI an
# unpinned (or even a pinned) torch is a multi-GB CUDA build. As .ci/run: the wheel on this
# machine's disk if there is one, else PyTorch's CPU index; never PyPI's CUDA build.
TORCH=2.13.0
ensure_torch() {
    if "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('torch').split('+')[0] != '$TORCH')" 2>/dev/null; then
        say "torch $TORCH already installed in $VENV"; return
    fi
    local from=(--index-url https://download.pytorch.org/whl/cpu) where="download.pytorch.org"
    if ls /opt/wheels/torch-$TORCH+cpu-*.whl >/dev/null 2>&1; then from=(); where="/opt/wheels"; fi
    say "installing torch $TORCH (CPU) from $where, the benchmarks' main peer"
    if ! "$PY" -m pip install -q "torch==$TORCH" ${from[@]+"${from[@]}"}; then
        say "note: torch $TORCH could not be installed; the benchmarks will report PyTorch as skipped"
    fi
}

case "${1:-}" in
    demo)
        shift; ensure_dot; ensure_venv; ensure_package test
        say "running: python -m tinygrad_nn demo $*"
        exec "$PY" -m tinygrad_nn demo "$@" ;;
    test)
        shift; ensure_dot; ensure_venv; ensure_package test,plot
        say "running: python -m pytest (hypothesis profile: ${HYPOTHESIS_PROFILE:-dev}) $*"
        exec "$PY" -m pytest "$@" ;;
    bench)
        shift; ensure_venv; ensure_package test,bench; ensure_torch
        say "running: python -m benchmarks $*"
        exec "$PY" -m benchmarks "$@" ;;
    *)
        echo "usage: ./dev.sh demo | test [pytest args] | bench [benchmark args]" >&2; exit 2 ;;
esac
