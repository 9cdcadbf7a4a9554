"""Secrets never leak: a distinct secret planted in every variable the kit reads, then searched for
in the whole reports folder (notebooks, HTML, JSON lines, Parquet, ledger, manifest, report, index)
and in the console output."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml
from conftest import LAUNCHLIB, PLAN_PATH, ROOT, cli_env
from test_webhooks import SECRET as HOOK_SECRET
from test_webhooks import Receiver

from launchlib.backends.postgres import mask_dsn, split_password
from launchlib.simulator.app import SimConfig
from launchlib.simulator.scenarios import load_scenario
from launchlib.simulator.server import SimServer

TOKEN = "adm1n-T0KEN-5e2b91"
PASSWORD = "pg-PASS-0c44d7"
GIT_TOKEN = "g1t-T0KEN-93ad0c"  # in a repository URL, for the release-tag check


def test_dsn_passwords_are_split_off_and_masked() -> None:
    url = f"postgresql://launch:{PASSWORD}@db.internal:5432/trading"
    assert split_password(url) == ("postgresql://launch@db.internal:5432/trading", PASSWORD)
    assert mask_dsn(url) == "postgresql://launch:***@db.internal:5432/trading"
    kv = f"host=db.internal password='{PASSWORD}' dbname=trading"
    bare, pw = split_password(kv)
    assert pw == PASSWORD and PASSWORD not in bare and PASSWORD not in mask_dsn(kv)
    assert split_password("postgresql://db/trading") == ("postgresql://db/trading", None)


@pytest.mark.slow
def test_no_secret_reaches_a_run_folder_the_index_or_the_console(tmp_path: Path, postgres: str) -> None:
    hook = Receiver("record")
    db = "secrets_db"
    subprocess.run(
        ["psql", postgres, "-X", "-q", "-c", f"CREATE DATABASE {db}"], check=True, capture_output=True
    )
    parts = urlsplit(postgres)
    dsn = urlunsplit(
        parts._replace(netloc=f"postgres:{PASSWORD}@{parts.hostname}:{parts.port}", path=f"/{db}")
    )
    subprocess.run(
        ["psql", dsn, "-X", "-q", "-c", "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)"],
        check=True,
        capture_output=True,
    )
    data = yaml.safe_load(PLAN_PATH.read_text(encoding="utf-8"))
    slack = next(c for c in data["channels"] if c["name"] == "Slack Channel")
    slack["delivery"] = {"kind": "slack", "url_env": "LAUNCHLIB_TEST_SLACK_URL"}
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    # the T-24h run also checks the release tag in a repository whose URL carries a token
    data["environment"] = {"repository_env": "LAUNCHLIB_TEST_GIT_URL"}
    check = {"id": "release_tag_exists", "text": "Release tag exists", "check": "release_tag"}
    data["phases"][0]["items"].append(check)
    tag_plan = tmp_path / "plan-tag.yaml"
    tag_plan.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    sc = load_scenario("latency-spike")
    cfg = SimConfig(
        seed=sc.seed,
        previous="prod-rollback",
        candidate="v1.0-prod-ready",
        restart_s=0.5,
        compress=30.0,
        admin_token=TOKEN,
    )
    env = cli_env() | {
        "LAUNCHLIB_ADMIN_TOKEN": TOKEN,
        "LAUNCHLIB_TEST_SLACK_URL": hook.url,
        "LAUNCHLIB_TEST_DATABASE_URL": dsn,
        "LAUNCHLIB_TEST_GIT_URL": f"https://deploy:{GIT_TOKEN}@127.0.0.1:1/trading.git",
    }
    reports = tmp_path / "reports"
    consoles = []
    try:
        with SimServer("127.0.0.1", 0, cfg, list(sc.faults)) as sim:
            common = ["--reports", str(reports), "--target", sim.url]
            commands = [
                [
                    LAUNCHLIB,
                    "run-phase",
                    "T-24h",
                    "--run-id",
                    "db-check",
                    "--compress",
                    "600",
                    "--database-url-env",
                    "LAUNCHLIB_TEST_DATABASE_URL",
                    "--plan",
                    str(tag_plan),
                    *common,
                ],
                [
                    LAUNCHLIB,
                    "rehearse",
                    "--scenario",
                    "latency-spike",
                    "--run-id",
                    "hooks",
                    "--plan",
                    str(plan),
                    *common,
                ],
            ]
            for cmd in commands:
                r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
                consoles.append(r.stdout + r.stderr)
                assert r.returncode in (0, 1), (cmd[1], r.stderr[-2000:])
    finally:
        hook.stop()
    assert hook.bodies, "the rehearsal used the webhook"
    assert (reports / "db-check" / "backups").is_dir(), "the T-24h check used the database"
    assert "***@127.0.0.1:1" in (reports / "db-check" / "T-24h.html").read_text(), "and the repository"
    assert (reports / "index.html").exists()
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert len(files) > 20
    for secret in (TOKEN, HOOK_SECRET, PASSWORD, GIT_TOKEN):
        leaked = [str(p.relative_to(reports)) for p in files if secret.encode() in p.read_bytes()]
        assert not leaked, (secret, leaked)
        assert not any(secret in c for c in consoles), secret
