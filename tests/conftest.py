"""Hypothesis profiles (`dev`, the default, keeps a local run fast; CI sets HYPOTHESIS_PROFILE=ci)
and the `pyplot` fixture of the plotting tests."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=150, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def pyplot():
    """matplotlib's pyplot on the Agg backend (the test skips without matplotlib); every
    figure is closed afterwards."""
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.switch_backend("Agg")
    yield plt
    plt.close("all")
