"""The load test itself (evals/load_test.py) on a tiny scale, so it keeps working."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from .conftest import PROJECT_ROOT

pytestmark = pytest.mark.timeout(180)


def load_test() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_test", PROJECT_ROOT / "evals" / "load_test.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("client", ["browser", "gradio_client"])
def test_a_tiny_load_test_stores_every_turn_and_grade(client: str) -> None:
    result = load_test().run(sessions=3, turns=2, latency=0.0, deadline_s=120, client=client)
    assert result["errors"] == 0, result["error_samples"]
    assert result["turns_sent"] == result["turns_stored"] == result["prospect_turns_stored"] == 6
    assert result["sessions_stored"] == result["openings_stored"] == 3 and result["grades_stored"] == 6
    assert 0 < result["turn_p50_s"] <= result["turn_p95_s"] <= result["turn_max_s"]
    assert result["client"] == client and result["server_cpu_s"] > 0 and result["clients_cpu_s"] > 0
