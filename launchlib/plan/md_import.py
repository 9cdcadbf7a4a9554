"""Import a war-room plan written in the seed's Markdown format.

The document is split into a tree of headed sections (fenced code blocks respected, heading
decoration such as emoji, even garbled, ignored); each known section is then read into the
:class:`~launchlib.plan.model.Plan` model. Wording the importer does not understand is reported
as a warning rather than silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from launchlib.errors import PlanError, Problem
from launchlib.plan.md_parse import BOLD_PREFIX, Section, bold_pairs, parse_markdown, table
from launchlib.plan.model import (
    ALL_TEAMS,
    Channel,
    Checklists,
    Conclusion,
    Escalation,
    IncidentClass,
    Incidents,
    IncidentStep,
    IncidentType,
    Item,
    Metadata,
    NamedValue,
    Phase,
    PhaseKind,
    Plan,
    Procedure,
    Role,
    Rollback,
    Stage,
    Stakeholder,
    Success,
    Team,
    Tier,
    Trigger,
    TriggerTier,
    phase_id,
)
from launchlib.plan.thresholds import parse_threshold, slug
from launchlib.plan.vocabulary import check_for, incident_for, procedure_kind, procedures_for, trigger_for

__all__ = ["ImportResult", "import_markdown"]

_ITEM = re.compile(r"^\s*[-*]\s+\[( |x|X)\]\s+(.*?)\s*$")
_NUMBERED = re.compile(r"^\s*\d+\.\s+(.*?)\s*$")


@dataclass
class ImportResult:
    """The imported plan and what the importer could not place."""

    plan: Plan
    warnings: list[str]


def _kind(phases: list[Phase], i: int) -> PhaseKind:
    """A phase's kind by its place in the seed's timeline (see :meth:`_Importer.phases`)."""
    ph = phases[i]
    if ph.stage is Stage.PRE_LAUNCH:
        last_pre = max(j for j, p in enumerate(phases) if p.stage is Stage.PRE_LAUNCH)
        return PhaseKind.GATE if i == last_pre else PhaseKind.PRELAUNCH
    if i == len(phases) - 1:
        return PhaseKind.REVIEW
    if i == len(phases) - 2:
        return PhaseKind.SUCCESS
    return PhaseKind.DEPLOY if ph.offset_s == 0 else PhaseKind.WATCH


class _Importer:
    def __init__(self, root: Section, file: str) -> None:
        self.root = root
        self.file = file
        self.warnings: list[str] = []
        self.roles: list[Role] = []

    def warn(self, sec: Section, msg: str) -> None:
        self.warnings.append(f"{self.file}:{sec.line}: {sec.title}: {msg}")

    def find(self, *words: str, under: Section | None = None) -> Section | None:
        """Depth-first search for a section whose title contains all words."""
        todo = list((under or self.root).children)
        while todo:
            sec = todo.pop(0)
            if all(w in sec.title.lower() for w in words):
                return sec
            todo = sec.children + todo
        return None

    def owner(self, label: str) -> str | None:
        key = label.strip().lower()
        if key in ("all teams", "all", "everyone"):
            return ALL_TEAMS
        for r in self.roles:
            if key in (r.title.lower(), r.id, r.name.lower()):
                return r.id
        return None

    def items(self, sec: Section | None, *, triggers: bool = False) -> list[Item]:
        if sec is None:
            return []
        out: list[Item] = []
        ids: set[str] = set()
        for ln in sec.body:
            m = _ITEM.match(ln)
            if not m:
                continue
            text, owner, phase = m.group(2), None, None
            bm = BOLD_PREFIX.match(text)
            if bm:
                label, task = bm.group(1), bm.group(2)
                owner = self.owner(label)
                ph = phase_id(label) if owner is None else None
                if owner is None and ph is None:
                    self.warn(sec, f"'{label}' is neither a role of the team nor a phase")
                else:
                    text, phase = task, ph[0] if ph else None
            threshold = parse_threshold(text)
            base = slug(text)
            item_id, k = base, 2
            while item_id in ids:
                item_id, k = f"{base}_{k}", k + 1
            ids.add(item_id)
            out.append(
                Item(
                    id=item_id,
                    text=text,
                    owner=owner,
                    check=check_for(text, threshold),
                    threshold=threshold if threshold and threshold.unit.value != "count" else None,
                    phase=phase,
                )
            )
        return out

    def metadata(self) -> Metadata:
        h1 = self.root.children[0] if self.root.children else Section(1, "Plan", 0)
        plain: list[str] = []
        for c in h1.children:  # the bare headings before the first real section
            if c.children or any(ln.strip() not in ("", "---") for ln in c.body):
                break
            plain.append(c.title)
        fields: dict[str, str] = {"title": h1.title}
        if plain:
            fields["subtitle"] = plain[0]
        if len(plain) > 1:
            fields["document"] = plain[1]
        overview = self.find("launch overview")
        keys = {
            "system": "system",
            "launch date": "launch_date",
            "launch type": "launch_type",
            "duration": "duration",
        }
        for k, v in bold_pairs(overview.body if overview else []):
            if k.lower() in keys:
                fields[keys[k.lower()]] = v
            elif overview is not None:
                self.warn(overview, f"unknown overview field '{k}' ignored")
        text = "\n".join(self._all_lines(self.root))
        for m in re.finditer(r"^\*(?!\*)(.+?)\*\s*$", text, re.MULTILINE):
            line = m.group(1).strip()
            if line.lower().startswith("document prepared for"):
                fields["prepared_for"] = line[len("document prepared for") :].strip()
            elif ":" in line:
                k, v = line.split(":", 1)
                if k.strip().lower() in ("date", "version", "status"):
                    fields[k.strip().lower()] = v.strip()
        return Metadata(**fields)

    def _all_lines(self, sec: Section) -> list[str]:
        out = list(sec.body)
        for c in sec.children:
            out += self._all_lines(c)
        return out

    def team(self) -> list[Stakeholder]:
        for words, team in ((("core team",), Team.CORE), (("support team",), Team.SUPPORT)):
            sec = self.find(*words)
            for row in table(sec) if sec else []:
                title = row.get("role", "")
                self.roles.append(
                    Role(
                        id=slug(title),
                        title=title,
                        name=row.get("name", ""),
                        contact=row.get("contact", ""),
                        availability=row.get("availability", ""),
                        team=team,
                    )
                )
        sec = self.find("external stakeholders")
        return [
            Stakeholder(
                id=slug(r.get("role", "")),
                title=r.get("role", ""),
                organization=r.get("organization", ""),
                contact=r.get("contact", ""),
                escalation_level=r.get("escalation level", ""),
            )
            for r in (table(sec) if sec else [])
        ]

    def escalation(self) -> list[Escalation]:
        sec = self.find("escalation matrix")
        return [
            Escalation(
                issue_type=r.get("issue type", ""),
                first_contact=r.get("first contact", ""),
                escalation=r.get("escalation", ""),
                final_escalation=r.get("final escalation", ""),
            )
            for r in (table(sec) if sec else [])
        ]

    def phases(self) -> list[Phase]:
        """The timeline; each phase's kind follows the seed's order: the last pre-launch phase holds
        the go/no-go gate, T-0 deploys, the last launch phase before the review declares success."""
        timeline = self.find("launch timeline")
        out: list[Phase] = []
        for stage_sec in timeline.children if timeline else []:
            stage = Stage.PRE_LAUNCH if "pre" in stage_sec.title.lower() else Stage.LAUNCH
            for sec in stage_sec.children:
                parsed = phase_id(sec.title)
                if parsed is None:
                    self.warn(sec, "heading names no T±offset; phase ignored")
                    continue
                pid, offset = parsed
                title, _, name = sec.title.partition(":")
                out.append(
                    Phase(
                        id=pid,
                        title=title.strip(),
                        name=name.strip(),
                        stage=stage,
                        kind=PhaseKind.PRELAUNCH,
                        offset_s=offset,
                        items=self.items(sec),
                    )
                )
        return [p.model_copy(update={"kind": _kind(out, i)}) for i, p in enumerate(out)]

    def procedures(self) -> list[Procedure]:
        procs: list[Procedure] = []
        cmd_sec = self.find("rollback commands")
        for sec in cmd_sec.children if cmd_sec else []:
            code = [ln for ln in sec.code if ln.strip()]
            desc = [ln.lstrip("# ").strip() for ln in code if ln.lstrip().startswith("#")]
            cmds = [ln.strip() for ln in code if not ln.lstrip().startswith("#")]
            procs.append(
                Procedure(
                    id=slug(sec.title.replace("Rollback", "")),
                    kind=procedure_kind(sec.title),
                    title=sec.title,
                    description=desc[0] if desc else "",
                    commands=cmds,
                )
            )
        return procs

    def rollback(self) -> Rollback:
        procs = self.procedures()  # first: each trigger names the procedures it calls for
        tiers: list[TriggerTier] = []
        trig_sec = self.find("rollback triggers")
        for sec in trig_sec.children if trig_sec else []:
            word = sec.title.split()[0].lower()
            if word not in Tier.__members__.values():
                self.warn(sec, f"unknown tier '{word}' (expected immediate, fast or controlled)")
                continue
            rng = re.search(r"T\+(\d+)\s*to\s*T\+(\d+)\s*(minutes?|hours?)", sec.title, re.I)
            scale = 3600 if rng and rng.group(3).lower().startswith("h") else 60
            start, end = (int(rng.group(1)) * scale, int(rng.group(2)) * scale) if rng else (0, 0)
            trigs = []
            for item in self.items(sec):
                tid, cond = trigger_for(item.text, parse_threshold(item.text))
                trigs.append(
                    Trigger(
                        id=tid,
                        text=item.text,
                        condition=cond,
                        procedures=procedures_for(item.text, Tier(word), procs) or ["controlled"],
                        incident=incident_for(item.text),
                    )
                )
            tiers.append(
                TriggerTier(
                    id=Tier(word),
                    title=sec.title.split("(")[0].strip(),
                    from_s=start,
                    until_s=end,
                    deadline_s=end,
                    triggers=trigs,
                    confirm=word == Tier.CONTROLLED,  # "within 1 hour": a judgement call, a person answers
                )
            )
        return Rollback(
            tiers=tiers,
            procedures=procs,
            post_checks=self.items(self.find("post-rollback checks")),
            communication=self.items(self.find("rollback communication")),
        )

    def incidents(self) -> Incidents:
        classes: list[IncidentClass] = []
        cls_sec = self.find("incident classification")
        for sec in cls_sec.children if cls_sec else []:
            resp = re.search(r"\((.+?)\s+response\)", sec.title, re.I)
            response = resp.group(1) if resp else ""
            hours = re.match(r"(\d+)-hour", response)
            classes.append(
                IncidentClass(
                    id=sec.title.split()[0].lower(),
                    title=sec.title.split("(")[0].strip(),
                    response=response,
                    response_s=int(hours.group(1)) * 3600 if hours else 0,
                    incidents=[IncidentType(name=k, description=v) for k, v in bold_pairs(sec.body)],
                )
            )
        steps: list[IncidentStep] = []
        proc_sec = self.find("incident response procedures")
        for i, sec in enumerate(proc_sec.children if proc_sec else [], start=1):
            m = re.match(r"(\d+)\.\s*(.*)", sec.title)
            num, title = (int(m.group(1)), m.group(2)) if m else (i, sec.title)
            steps.append(IncidentStep(id=slug(title), number=num, title=title, items=self.items(sec)))
        return Incidents(classes=classes, procedure=steps)

    def conclusion(self) -> Conclusion:
        sec = self.find("conclusion")
        if sec is None:
            return Conclusion()
        summary = " ".join(ln.strip() for ln in sec.body if ln.strip() and ln.strip() != "---")
        factors = [
            NamedValue(name=k, value=v)
            for k, v in bold_pairs((sec.child("key success factors") or Section(0, "", 0)).body)
        ]
        nxt = sec.child("next steps")
        steps = [m.group(1) for ln in (nxt.body if nxt else []) if (m := _NUMBERED.match(ln))]
        return Conclusion(summary=summary, key_success_factors=factors, next_steps=steps)

    def run(self) -> Plan:
        stakeholders = self.team()
        if not self.roles:
            raise PlanError([Problem(self.file, "roles", "no 'Core Team' table found")])
        channels_sec = self.find("primary channels")
        phases = self.phases()
        if not phases:
            raise PlanError([Problem(self.file, "phases", "no timeline phases (#### T-24 Hours …) found")])
        return Plan(
            metadata=self.metadata(),
            roles=self.roles,
            stakeholders=stakeholders,
            channels=[
                Channel(name=k, value=v) for k, v in bold_pairs(channels_sec.body if channels_sec else [])
            ],
            escalation=self.escalation(),
            phases=phases,
            rollback=self.rollback(),
            success=Success(
                launch_criteria=self.items(self.find("launch success criteria")),
                performance_targets=self.items(self.find("performance targets")),
                business_metrics=self.items(self.find("business metrics")),
            ),
            incidents=self.incidents(),
            checklists=Checklists(
                pre_launch=self.items(self.find("pre-launch checklist")),
                launch_day=self.items(self.find("launch day checklist")),
                post_launch=self.items(self.find("post-launch checklist")),
            ),
            conclusion=self.conclusion(),
        )


def import_markdown(path: Path | str) -> ImportResult:
    """Read a Markdown war-room plan into a validated :class:`Plan`."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise PlanError([Problem(str(path), "", f"cannot read file: {exc.strerror}")]) from exc
    importer = _Importer(parse_markdown(text), str(path))
    plan = importer.run()
    missing = [
        Problem(str(path), field, f"none found ({hint})")
        for field, found, hint in (
            ("phases.items", any(p.items for p in plan.phases), "'- [ ] …' under '#### T-24 Hours' …"),
            ("rollback.triggers", any(True for _ in plan.triggers()), "'#### Immediate Rollback …' items"),
        )
        if not found
    ]
    if missing:
        raise PlanError(missing + [Problem(str(path), "", f"warning: {w}") for w in importer.warnings])
    return ImportResult(plan=plan, warnings=importer.warnings)
