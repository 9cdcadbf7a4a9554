"""Write a plan back as Markdown in the seed's format (the inverse of the importer)."""

from __future__ import annotations

from launchlib.plan.model import ALL_TEAMS, Item, Plan, Stage, Team

__all__ = ["export_markdown"]


def _table(header: list[str], rows: list[list[str]], bold_first: bool = True) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("-" * (len(h) + 2) for h in header) + "|"]
    for r in rows:
        cells = [f"**{r[0]}**" if bold_first else r[0], *r[1:]]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _items(plan: Plan, items: list[Item]) -> list[str]:
    out = []
    for it in items:
        label = None
        if it.owner == ALL_TEAMS:
            label = "All Teams"
        elif it.owner:
            label = plan.role(it.owner).title
        elif it.phase:
            label = it.phase.replace("m", "min") if it.phase.endswith("m") else it.phase
        out.append(f"- [ ] **{label}**: {it.text}" if label else f"- [ ] {it.text}")
    return out


def export_markdown(plan: Plan) -> str:
    """The plan as Markdown that :func:`launchlib.plan.md_import.import_markdown` reads back."""
    md = plan.metadata
    out = [f"# {md.title}"]
    out += [f"## {t}" for t in (md.subtitle, md.document) if t]
    out += ["", "---", "", "## Launch Overview", ""]
    for key, val in (
        ("System", md.system),
        ("Launch Date", md.launch_date),
        ("Launch Type", md.launch_type),
        ("Duration", md.duration),
    ):
        if val:
            out.append(f"**{key}**: {val}  ")
    out += ["", "---", "", "## War-Room Team", ""]
    for title, team in (("Core Team", Team.CORE), ("Support Team", Team.SUPPORT)):
        rows = [[r.title, r.name, r.contact, r.availability] for r in plan.roles if r.team is team]
        if rows:
            out += [f"### {title}", *_table(["Role", "Name", "Contact", "Availability"], rows), ""]
    if plan.stakeholders:
        rows = [[s.title, s.organization, s.contact, s.escalation_level] for s in plan.stakeholders]
        out += [
            "### External Stakeholders",
            *_table(["Role", "Organization", "Contact", "Escalation Level"], rows),
            "",
        ]
    out += ["---", "", "## Communication Channels", "", "### Primary Channels"]
    out += [f"- **{c.name}**: {c.value}" for c in plan.channels]
    rows = [[e.issue_type, e.first_contact, e.escalation, e.final_escalation] for e in plan.escalation]
    out += [
        "",
        "### Escalation Matrix",
        *_table(["Issue Type", "First Contact", "Escalation", "Final Escalation"], rows, True),
    ]
    out += ["", "---", "", "## Launch Timeline", ""]
    stage_titles = {Stage.PRE_LAUNCH: "Pre-Launch", Stage.LAUNCH: "Launch Sequence"}
    current = None
    for ph in plan.phases:
        if ph.stage is not current:
            current = ph.stage
            out += [f"### {stage_titles[ph.stage]}", ""]
        title = f"{ph.title}: {ph.name}" if ph.name else ph.title
        out += [f"#### {title}", *_items(plan, ph.items), ""]
    out += ["---", "", "## Rollback Procedures", "", "### Rollback Triggers", ""]
    for tier in plan.rollback.tiers:
        unit, scale = ("hours", 3600) if tier.until_s >= 7200 else ("minutes", 60)
        rng = f"T+{tier.from_s // scale} to T+{tier.until_s // scale} {unit}"
        out += [f"#### {tier.title} ({rng})", *[f"- [ ] {t.text}" for t in tier.triggers], ""]
    out += ["### Rollback Commands", ""]
    for proc in plan.rollback.procedures:
        out += [f"#### {proc.title}", "```bash"]
        out += [f"# {proc.description}"] if proc.description else []
        out += [*proc.commands, "```", ""]
    out += [
        "### Rollback Verification",
        "",
        "#### Post-Rollback Checks",
        *_items(plan, plan.rollback.post_checks),
        "",
        "#### Rollback Communication",
        *_items(plan, plan.rollback.communication),
        "",
        "---",
        "",
        "## Success Metrics",
        "",
    ]
    for title, items in (
        ("Launch Success Criteria", plan.success.launch_criteria),
        ("Performance Targets", plan.success.performance_targets),
        ("Business Metrics", plan.success.business_metrics),
    ):
        out += [f"### {title}", *_items(plan, items), ""]
    out += ["---", "", "## Incident Response", "", "### Incident Classification", ""]
    for cls in plan.incidents.classes:
        out += [f"#### {cls.title} ({cls.response} Response)"]
        out += [f"- **{i.name}**: {i.description}" for i in cls.incidents] + [""]
    out += ["### Incident Response Procedures", ""]
    for step in plan.incidents.procedure:
        out += [f"#### {step.number}. {step.title}", *_items(plan, step.items), ""]
    out += ["---", "", "## Launch Checklist", ""]
    for title, items in (
        ("Pre-Launch Checklist", plan.checklists.pre_launch),
        ("Launch Day Checklist", plan.checklists.launch_day),
        ("Post-Launch Checklist", plan.checklists.post_launch),
    ):
        out += [f"### {title}", *_items(plan, items), ""]
    c = plan.conclusion
    if c.summary or c.key_success_factors or c.next_steps:
        out += ["---", "", "## Conclusion", "", c.summary, ""]
        if c.key_success_factors:
            out += ["### Key Success Factors"]
            out += [f"- **{f.name}**: {f.value}" for f in c.key_success_factors] + [""]
        if c.next_steps:
            out += ["### Next Steps"] + [f"{i}. {s}" for i, s in enumerate(c.next_steps, 1)] + [""]
    out += ["---", ""]
    if md.prepared_for:
        out.append(f"*Document prepared for {md.prepared_for}*  ")
    for key, val in (("Date", md.date), ("Version", md.version), ("Status", md.status)):
        if val:
            out.append(f"*{key}: {val}*  ")
    return "\n".join(out).rstrip() + "\n"
