"""Secrets never leak: a distinct secret planted in every variable the kit reads, then searched for
in the whole reports folder (notebooks, HTML, JSON lines, Parquet, ledger, manifest, report, index)
and in the console output: the README run (admin token, webhook URLs) and a T-24h phase that
verifies a real PostgreSQL backup (password) and a release tag (a repository URL with a token)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml
from conftest import ADMIN_TOKEN, HOOK_SECRET, LAUNCHLIB, PLAN_PATH, ROOT, Rehearsed, cli_env

from launchlib.backends.postgres import mask_dsn, split_password
from launchlib.simulator.app import SimConfig
from launchlib.simulator.server import SimServer

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


def _database(postgres: str) -> str:
    """A database with one table, reached with a password in its URL (trust auth ignores it)."""
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
    return dsn


@pytest.mark.slow
def test_no_secret_reaches_a_run_folder_the_index_or_the_console(
    tmp_path: Path, postgres: str, readme_run: Rehearsed
) -> None:
    data = yaml.safe_load(PLAN_PATH.read_text(encoding="utf-8"))
    data["environment"] = {"repository_env": "LAUNCHLIB_TEST_GIT_URL"}
    check = {"id": "release_tag_exists", "text": "Release tag exists", "check": "release_tag"}
    data["phases"][0]["items"].append(check)
    tag_plan = tmp_path / "plan-tag.yaml"
    tag_plan.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env = cli_env() | {
        "LAUNCHLIB_ADMIN_TOKEN": ADMIN_TOKEN,
        "LAUNCHLIB_TEST_DATABASE_URL": _database(postgres),
        "LAUNCHLIB_TEST_GIT_URL": f"https://deploy:{GIT_TOKEN}@127.0.0.1:1/trading.git",
    }
    reports = tmp_path / "reports"
    with SimServer("127.0.0.1", 0, SimConfig(restart_s=0.5, admin_token=ADMIN_TOKEN)) as sim:
        cmd = [LAUNCHLIB, "run-phase", "T-24h", "--run-id", "db-check", "--compress", "600"]
        cmd += ["--database-url-env", "LAUNCHLIB_TEST_DATABASE_URL", "--plan", str(tag_plan)]
        cmd += ["--reports", str(reports), "--target", sim.url]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    # the release tag cannot be fetched (nothing listens on port 1): the phase fails, says so, masked
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    assert (reports / "db-check" / "backups").is_dir(), "the T-24h check used the database"
    assert "***@127.0.0.1:1" in (reports / "db-check" / "T-24h.html").read_text(), "and the repository"
    assert readme_run.slack, "the README run used the webhook"
    consoles = [r.stdout + r.stderr, "\n".join(readme_run.lines) + readme_run.stderr]
    files = [p for folder in (reports, readme_run.run_dir.parent) for p in folder.rglob("*") if p.is_file()]
    assert len(files) > 20 and (readme_run.run_dir.parent / "index.html").exists()
    for secret in (ADMIN_TOKEN, HOOK_SECRET, PASSWORD, GIT_TOKEN):
        leaked = [str(p) for p in files if secret.encode() in p.read_bytes()]
        assert not leaked, (secret, leaked)
        assert not any(secret in c for c in consoles), secret
