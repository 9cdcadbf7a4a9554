"""The rehearsal scorecard: fault → detect → decide → recover, timed and checked against the scenario.

Times are launch seconds (wall seconds × compression) from the fault's onset, so a rehearsal
compressed 30× is judged against the plan's real tier deadlines. The scorecard is computed from
the decision that acted: its triggers are the **causes**; anything that fired after it (a
rollback restarts services) is **rollback noise**, reported apart and never a cause. Computed
from the run folder alone, it is the same in the T+24h review and in the manifest.

The comparison with the scenario is strict: every cause must be one the scenario allows, the
tier and the database rollback must match, and the go/no-go gate must have been recorded and be
what the scenario expects. A run that broke is "not scored", with the reason.
"""

from __future__ import annotations

from pathlib import Path

from launchlib.plan.model import Plan
from launchlib.report.ramps import ramp_detectable_at
from launchlib.runfolder.clock import LaunchClock, clock
from launchlib.runfolder.events import Event, TimelineEvent, first_event, read_events, read_run_samples
from launchlib.runfolder.records import DecisionRecord, FiringRecord, Scorecard, read_decisions
from launchlib.simulator.scenarios import Scenario

__all__ = ["clock", "compression_note", "describe", "not_scored", "score", "verdict"]

# Real seconds the rollback path itself takes on this kit, whatever the compression: the phase
# notebook ends and the runner hands over to the (warm) rollback kernel (~1.6 s), the switch
# (~0.4 s), one post-rollback round on a 1.5-s window of samples (~2.2 s). Measured on the
# embedded simulator, security-breach at 60x: 4.1-4.2 s in three runs.
ROLLBACK_PATH_REAL_S = 4.0


def _first(events: list[TimelineEvent], name: Event) -> float | None:
    first = first_event(events, name)
    return None if first is None else first.at


def score(
    run_dir: Path | str,
    plan: Plan,
    scenario: Scenario | None,
    compress: float,
    gate_go: bool | None = None,
    failed_phases: list[str] | None = None,
) -> Scorecard:
    """The scorecard of a run folder (works on a partial run: missing steps are ``None``).

    ``failed_phases`` are launch phases that failed for another reason than the rollback decision:
    on a scenario that expects a clean launch they are findings."""
    run_dir = Path(run_dir)
    events, recs = read_events(run_dir), read_decisions(run_dir)
    origin = LaunchClock.from_events(events, compress).origin
    firings = [r for r in recs if isinstance(r, FiringRecord)]
    decision = next((r for r in recs if isinstance(r, DecisionRecord)), None)
    causes = decision.causes if decision else []
    onset_s = scenario.first_onset() if scenario else None
    onset = origin + onset_s / compress if origin is not None and onset_s is not None else origin

    def launch_s(wall: float | None) -> float | None:
        return None if wall is None or onset is None else round((wall - onset) * compress, 1)

    tier = decision.tier if decision else None
    deadline = plan.tier(tier).deadline_s if tier else None
    cause_times = [f.first_at for f in firings if f.id in causes]
    card = Scorecard(
        fault_onset_launch_s=onset_s,
        time_to_detect_s=launch_s(min(cause_times, default=None)),
        time_to_decide_s=launch_s(decision.recorded_at if decision else None),
        time_to_rollback_start_s=launch_s(_first(events, Event.ROLLBACK_STARTED)),
        time_to_rollback_s=launch_s(_first(events, Event.ROLLBACK_COMPLETED)),
        time_to_recover_s=launch_s(_first(events, Event.POST_CHECKS_GREEN)),
        tier=tier,
        deadline_s=deadline,
        triggers=causes,
        noise=[f.id for f in firings if f.id not in causes],
        rollback=_first(events, Event.ROLLBACK_STARTED) is not None,
        database_rollback=_first(events, Event.DATABASE_RESTORED) is not None,
        bad_rollback_caught=_first(events, Event.BAD_ROLLBACK) is not None,
        gate=None if gate_go is None else ("go" if gate_go else "no-go"),
        failed_phases=sorted(failed_phases or []),
    )
    rec = card.time_to_recover_s
    # a fault that starts below the thresholds: the deadline runs from when it is visible
    late_start, card.deadline_from_why = _late_start(run_dir, plan, scenario, origin, onset_s)
    card.deadline_from_s = late_start
    card.within_deadline = None if deadline is None or rec is None else rec - late_start <= deadline
    card.mismatches = _mismatches(card, scenario) if scenario else []
    card.as_expected = not card.mismatches if scenario else None
    return card


def _late_start(
    run_dir: Path, plan: Plan, scenario: Scenario | None, origin: float | None, onset_s: float | None
) -> tuple[float, str]:
    """Launch seconds after the onset from which the tier's deadline counts, and why: the
    scenario's own ``detectable_at_s``, else when a latency ramp crosses the plan's bar."""
    if scenario is None or onset_s is None:
        return 0.0, ""
    if scenario.expect.detectable_at_s is not None:
        return max(0.0, scenario.expect.detectable_at_s - onset_s), "set by the scenario (detectable_at_s)"
    if origin is None or not any(f.ramp_to_ms for f in scenario.faults):
        return 0.0, ""
    samples = read_run_samples(run_dir)
    before = samples[(samples["ts"] < origin) & (samples["status"] > 0)]
    classes = before["endpoint"].astype(str).map(plan.monitoring.endpoint_classes)

    def baseline_ms(of: tuple[str, ...]) -> float | None:
        lat = before.loc[classes.isin(of), "latency_ms"].dropna()
        return float(lat.quantile(0.95)) if len(lat) >= plan.monitoring.min_samples else None

    found = ramp_detectable_at(plan, scenario, baseline_ms)
    if found is None or found.launch_s <= onset_s:
        return 0.0, ""
    return found.launch_s - onset_s, f"{found.why} at {clock(found.launch_s)}"


def not_scored(card: Scorecard, why: str) -> Scorecard:
    """A scorecard of a run that broke: its measurements stay, its verdict is withheld."""
    return card.model_copy(update={"as_expected": None, "mismatches": [], "not_scored": why})


def _mismatches(card: Scorecard, sc: Scenario) -> list[str]:
    exp, out = sc.expect, []
    if card.gate is None:
        out.append(f"no go/no-go gate was recorded, expected {exp.gate}")
    elif card.gate != exp.gate:
        out.append(f"gate was {card.gate}, expected {exp.gate}")
    if exp.gate == "no-go" or card.gate == "no-go":
        return out
    if card.rollback != exp.rollback:
        out.append(f"rollback {'happened' if card.rollback else 'did not happen'}, expected {exp.rollback}")
    if exp.rollback and card.tier != exp.tier:
        out.append(f"tier was {card.tier}, expected {exp.tier}")
    allowed = set(exp.triggers)
    if exp.rollback and allowed and not allowed & set(card.triggers):
        out.append(f"fired {card.triggers or 'nothing'}, expected one of {sorted(allowed)}")
    stray = [t for t in card.triggers if allowed and t not in allowed]
    if stray:
        out.append(f"{', '.join(stray)} caused the decision, but the scenario allows only {sorted(allowed)}")
    if not exp.rollback and card.triggers:
        out.append(f"{', '.join(card.triggers)} fired on a scenario that expects no trigger")
    if not exp.rollback and card.failed_phases:
        out.append(f"phases failed on a launch expected to be clean: {', '.join(card.failed_phases)}")
    if card.database_rollback != exp.database_rollback:
        out.append(f"database rollback {card.database_rollback}, expected {exp.database_rollback}")
    if card.bad_rollback_caught != exp.bad_rollback_caught:
        out.append(f"bad rollback caught {card.bad_rollback_caught}, expected {exp.bad_rollback_caught}")
    if exp.rollback and card.within_deadline is False:
        start = f" counted from {card.deadline_from_s:g} s" if card.deadline_from_s else ""
        out.append(f"recovered after {card.time_to_recover_s} s, tier deadline {card.deadline_s} s{start}")
    if exp.rollback and card.rollback and card.time_to_recover_s is None:
        out.append("post-rollback checks never went green")
    return out


def compression_note(plan: Plan, scenario: Scenario | None, compress: float) -> str | None:
    """A warning when the compression leaves the expected tier's deadline to the kit's own clock.

    Launch seconds are real seconds × compression, so the rollback path's fixed real seconds
    (``ROLLBACK_PATH_REAL_S``) grow with it: past half the deadline, a score near the deadline
    measures the machine, not the launch process."""
    exp = scenario.expect if scenario is not None else None
    if exp is None or not exp.rollback or exp.tier is None:
        return None
    deadline = plan.tier(exp.tier).deadline_s
    spent = ROLLBACK_PATH_REAL_S * compress
    if spent <= deadline / 2:
        return None
    fits = int(deadline / 2 / ROLLBACK_PATH_REAL_S)
    return (
        f"at {compress:g}× the rollback path's own ~{ROLLBACK_PATH_REAL_S:g} real seconds (hand-over, "
        f"switch, a 1.5-s verification) are ~{spent:.0f} launch s of the {exp.tier} tier's "
        f"{deadline}-s deadline: a score near it measures this machine; up to {fits}× leaves half"
    )


def verdict(card: Scorecard) -> str:
    """One phrase: the run went as its scenario expected, or what differed."""
    if card.not_scored:
        return f"not scored: {card.not_scored}"
    if card.as_expected is None:
        return "no expectation"
    return "as expected" if card.as_expected else "NOT as expected: " + "; ".join(card.mismatches)


def _dur(s: float) -> str:
    s = abs(s)
    if s < 90:
        return f"{s:.0f} s"
    return f"{s / 60:.0f} minutes" if s % 60 == 0 or s >= 600 else f"{int(s // 60)} min {s % 60:02.0f} s"


def describe(card: Scorecard) -> list[str]:
    """The scorecard in words, one sentence a line (console, report)."""
    if card.not_scored:
        return [f"Not scored: {card.not_scored}."]
    out: list[str] = []
    if card.gate == "no-go":
        out.append("The go/no-go gate said NO-GO: the launch did not start.")
    elif not card.rollback:
        out.append("No rollback trigger fired; the launch went ahead.")
    else:
        onset = card.fault_onset_launch_s
        parts = []
        detect, decide = card.time_to_detect_s, card.time_to_decide_s
        if detect is not None:
            where = "after the fault's onset" if onset is not None else "after T-0"
            parts.append(f"detected {_dur(detect)} {where}")
        if decide is not None:
            parts.append(f"decided {_dur(decide - detect)} later" if detect is not None else "decided")
        start, done = card.time_to_rollback_start_s, card.time_to_rollback_s
        if start is not None and decide is not None and start - decide >= 5:
            parts.append(f"began the rollback {_dur(start - decide)} after the decision")
        if start is not None and done is not None:
            parts.append(f"rolled back in {_dur(done - start)}")
        rec = card.time_to_recover_s
        if rec is not None:
            parts.append(f"recovered at {clock(rec + (onset or 0.0))}")
        sentence = ", ".join(parts) or "rolled back"
        if card.deadline_s is not None and rec is not None:
            inside = "inside" if card.within_deadline else "OUTSIDE"
            sentence += f": {inside} the {card.tier} tier's deadline of {_dur(card.deadline_s)}"
            if card.deadline_from_s:
                sentence += (
                    f", counted from {_dur(card.deadline_from_s)} after the onset ({card.deadline_from_why})"
                )
        elif rec is None:
            sentence += ": the post-rollback checks never went green"
        out.append(sentence[0].upper() + sentence[1:] + ".")
        if card.triggers:
            out.append(f"Caused by {', '.join(card.triggers)} ({card.tier} tier).")
        if card.database_rollback:
            out.append("The database was restored from the last verified backup.")
        if card.bad_rollback_caught:
            out.append("The emergency rollback left the wrong release running; that was caught.")
    if card.noise:
        out.append(f"Fired during the rollback (noise, not causes): {', '.join(card.noise)}.")
    out.append(verdict(card)[0].upper() + verdict(card)[1:] + ".")
    return out
