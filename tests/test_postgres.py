"""Backup verification and database rollback against a real PostgreSQL started by the tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import scrapbook as sb
from conftest import LAUNCHLIB, ROOT, cli_env, free_port

from launchlib.backends.postgres import PostgresDatabase, with_dbname
from launchlib.errors import TargetError

pytestmark = pytest.mark.timeout(300)
PAPERMILL = str(Path(LAUNCHLIB).with_name("papermill"))

SCHEMA = """
CREATE TABLE orders (id serial PRIMARY KEY, symbol text NOT NULL, qty numeric NOT NULL, px double precision);
CREATE TABLE positions (symbol text PRIMARY KEY, qty numeric NOT NULL);
INSERT INTO orders (symbol, qty, px)
  SELECT (ARRAY['BTC','ETH','SOL'])[1 + g % 3], g, g * 1.5 FROM generate_series(1, 2000) g;
INSERT INTO positions SELECT symbol, sum(qty) FROM orders GROUP BY symbol;
"""


def _psql(dsn: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", dsn, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


_made = iter(range(10_000))


@pytest.fixture()
def trading_db(postgres: str) -> Iterator[str]:
    """A fresh ``trading_system_N`` database with orders and positions; dropped after the test."""
    name = f"trading_system_{next(_made)}"
    _psql(postgres, f"CREATE DATABASE {name}")
    dsn = with_dbname(postgres, name)
    _psql(dsn, SCHEMA)
    yield dsn
    _psql(postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_with_dbname_keeps_everything_but_the_database() -> None:
    assert (
        with_dbname("postgresql://u:p@db.example:5433/trading?sslmode=require", "scratch")
        == "postgresql://u:p@db.example:5433/scratch?sslmode=require"
    )
    assert (
        with_dbname("host=db port=5433 dbname=trading", "scratch")
        == "host=db port=5433 dbname=trading dbname=scratch"
    )


def test_verify_backup_restores_into_scratch_and_compares(
    trading_db: str, postgres: str, tmp_path: Path
) -> None:
    db = PostgresDatabase(dsn=trading_db, backups_dir=tmp_path / "backups")
    check = db.verify_backup()
    assert check.ok, check.detail
    assert "of 2 tables" in check.detail and "identical" in check.detail
    assert check.source_digest == check.restored_digest
    assert "public.orders:2000:" in check.source_digest
    kept = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert kept == [f"{check.backup_id}.digest", f"{check.backup_id}.dump"]
    leftovers = _psql(postgres, "SELECT count(*) FROM pg_database WHERE datname LIKE 'launchlib_verify_%'")
    assert leftovers == "0"  # the scratch database is dropped


def test_digest_sees_one_changed_value(trading_db: str) -> None:
    db = PostgresDatabase(dsn=trading_db)
    before = db.digest()
    _psql(trading_db, "UPDATE orders SET px = px + 0.01 WHERE id = 1234")
    after = db.digest()
    assert before != after
    assert before.split(",")[1] == after.split(",")[1]  # positions untouched, orders changed


def test_database_rollback_restores_the_verified_backup(trading_db: str, tmp_path: Path) -> None:
    db = PostgresDatabase(dsn=trading_db, backups_dir=tmp_path / "backups")
    verified = db.verify_backup()
    assert verified.ok
    # The bad release corrupts data: changed rows, lost rows, a position out of step.
    _psql(trading_db, "UPDATE orders SET qty = -qty WHERE id % 7 = 0; DELETE FROM orders WHERE id > 1900;")
    _psql(trading_db, "UPDATE positions SET qty = 0 WHERE symbol = 'ETH'")
    assert db.digest() != verified.source_digest
    restored = db.restore()
    assert restored["backup_id"] == verified.backup_id and restored["matches_backup"] is True
    assert db.digest() == verified.source_digest
    assert _psql(trading_db, "SELECT count(*) FROM orders") == "2000"
    forensic = tmp_path / "backups" / restored["forensic_dump"]
    assert forensic.stat().st_size > 0  # the corrupted state is kept for the post-mortem
    with pytest.raises(TargetError, match="no backup 'pg-9999'"):
        db.restore("pg-9999")


def test_empty_database_and_unreachable_server_fail_clearly(postgres: str, tmp_path: Path) -> None:
    _psql(postgres, "CREATE DATABASE empty_db")
    try:
        check = PostgresDatabase(dsn=with_dbname(postgres, "empty_db")).verify_backup()
        assert not check.ok and "no user tables" in check.detail
    finally:
        _psql(postgres, "DROP DATABASE empty_db")
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/trading_system"
    with pytest.raises(TargetError) as err:
        PostgresDatabase(dsn=down, backups_dir=tmp_path).verify_backup()
    assert "\n" not in str(err.value) and "psql:" in str(err.value)
    with pytest.raises(TargetError, match="set LAUNCHLIB_NO_SUCH_VAR"):
        PostgresDatabase("LAUNCHLIB_NO_SUCH_VAR")


def test_t24h_notebook_verifies_the_real_database_backup(trading_db: str, tmp_path: Path) -> None:
    """The T-24h notebook under plain papermill: the backup item is checked on PostgreSQL."""
    out, run = tmp_path / "out.ipynb", tmp_path / "run"
    env = cli_env() | {"LAUNCHLIB_TEST_DATABASE_URL": trading_db}
    params = ["-p", "run_dir", str(run), "-p", "compress", "600"]
    params += ["-p", "database_url_env", "LAUNCHLIB_TEST_DATABASE_URL"]
    proc = subprocess.run(
        [PAPERMILL, str(ROOT / "notebooks" / "T-24h.ipynb"), str(out), *params, "--no-progress-bar"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = sb.read_notebook(str(out)).scraps["phase_result"].data
    [item] = [i for i in result["items"] if i["item"] == "backup_verification"]
    detail = item["check_detail"]
    assert item["satisfied"] and "pg_dump pg-0001" in detail and "identical" in detail
    assert sorted(p.suffix for p in (run / "backups").iterdir()) == [".digest", ".dump"]


def test_key_value_dsn_reaches_the_other_database(trading_db: str, postgres: str) -> None:
    from urllib.parse import urlsplit

    url = urlsplit(postgres)
    kv = f"host={url.hostname} port={url.port} user=postgres dbname=postgres"
    name = urlsplit(trading_db).path.lstrip("/")
    assert _psql(with_dbname(kv, name), "SELECT current_database()") == name


def test_run_phase_refuses_an_unset_database_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env().items() if k != "LAUNCHLIB_UNSET_DB"}
    cmd = [LAUNCHLIB, "run-phase", "T-24h", "--run-id", "r1", "--reports", str(tmp_path)]
    out = subprocess.run(
        [*cmd, "--database-url-env", "LAUNCHLIB_UNSET_DB"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 2
    assert (
        out.stderr.strip()
        == "error: --database-url-env: LAUNCHLIB_UNSET_DB is not set (a PostgreSQL connection URL)"
    )
    assert not (tmp_path / "r1").exists()  # nothing started, nothing half-written
