"""The live console line right after T-0: the deploy's restart is said apart, never read as the
candidate failing (its 503s came before the candidate served)."""

from __future__ import annotations

import math
import time
from pathlib import Path

from launchlib.launch.monitor import Monitor
from launchlib.plan.model import Plan
from launchlib.probing.sampler import Row
from launchlib.probing.target import Target
from launchlib.runner.console import _status_text


def _row(ts: float, status: int, endpoint: str = "/api/market") -> Row:
    return Row(ts, endpoint, math.nan if status == 0 else 20.0, status, "v", math.nan, 0.0)


def test_the_deploys_restart_is_not_the_candidates_failure(plan: Plan, tmp_path: Path) -> None:
    mon = Monitor(plan, Target("http://127.0.0.1:1"), tmp_path, compress=30.0)
    base = time.time() - 1.5
    mon.restart_from, mon.deploy_at = base, base + 0.5
    restart = [
        _row(base + 0.04 * i, 503) for i in range(10)
    ]  # the old release stopping, the new one starting
    after = [_row(base + 0.6 + 0.05 * i, 200) for i in range(10)] + [_row(base + 1.2, 500)]
    before = [_row(base - 0.2, 200)]
    mon._recent.extend(before + restart + after)
    live = mon.live()
    assert live.restart_failures == 10
    assert live.failure_ratio == 1 / 12  # the candidate's one 500 among what it and the baseline answered
    text = _status_text(live)
    assert "failures 8.3% (+10 during the deploy's restart)" in text, text
    mon.restart_from = None  # a run with no deploy event: nothing is set apart
    assert mon.live().restart_failures == 0 and mon.live().failure_ratio == 11 / 22
