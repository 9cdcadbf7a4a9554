"""Seal a finished run as evidence: ``SEAL.json`` and a tarball anyone can verify later.

The seal lists the SHA-256 of every file of the run folder, the hashes of the plan and of the
phase notebooks the run used, and the kit's version. Once ``SEAL.json`` is there the run folder
refuses further appends (:func:`refuse_if_sealed`, called by every writer of run files).
:func:`verify` recomputes the hashes of a tarball or a folder and names every file changed,
missing or added: what a post-incident review, an auditor or a regulator asks of a launch record.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from launchlib.errors import RunError
from launchlib.runfolder.events import SEAL, refuse_if_sealed
from launchlib.runfolder.folder import Outcome, read_manifest

__all__ = ["SEAL", "SEAL_VERSION", "Verification", "refuse_if_sealed", "seal", "verify"]

SEAL_VERSION = 1
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _files(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (but the seal) by its relative POSIX path, with its SHA-256."""
    return {
        p.relative_to(folder).as_posix(): _sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != SEAL
    }


def _kit_version() -> str:
    try:
        return version("launchlib")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def seal(run_dir: Path | str, notebooks: Path | str | None = None) -> Path:
    """Write ``SEAL.json`` into a finished run folder and ``<run-id>.tar.gz`` beside it; returns the
    tarball. ``notebooks``: the project's phase notebooks, whose hashes the seal records too."""
    run = Path(run_dir).absolute()
    if not run.is_dir():
        raise RunError(f"{run}: no run folder to seal")
    refuse_if_sealed(run)
    manifest = read_manifest(run)
    if manifest.kind is Outcome.RUNNING:
        raise RunError(f"{run}/manifest.json: outcome: the run is still running; seal it when it has ended")
    files = _files(run)
    sources = sorted(Path(notebooks).glob("*.ipynb")) if notebooks is not None else []
    record: dict[str, Any] = {
        "version": SEAL_VERSION,
        "run_id": run.name,
        "sealed_at": time.time(),
        "kit_version": _kit_version(),
        "outcome": manifest.outcome,
        "plan_sha256": files.get("plan.yaml"),
        "notebooks_sha256": {p.name: _sha256(p) for p in sources},
        "files": files,
    }
    (run / SEAL).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    bundle = run.with_name(f"{run.name}.tar.gz")
    with tarfile.open(bundle, "w:gz") as tar:
        tar.add(run, arcname=run.name)
    return bundle


@dataclass
class Verification:
    """What :func:`verify` found: the run, and each file changed, missing or added since the seal."""

    run_id: str
    files: int
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    seal: dict[str, Any] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not (self.changed or self.missing or self.added)

    def lines(self) -> list[str]:
        """What a person reads: one line per finding, or one line saying it is intact."""
        if self.intact:
            return [
                f"{self.run_id}: intact, {self.files} files as sealed (kit {self.seal.get('kit_version')})"
            ]
        return (
            [f"{self.run_id}: changed: {p}" for p in self.changed]
            + [f"{self.run_id}: missing: {p}" for p in self.missing]
            + [f"{self.run_id}: added: {p}" for p in self.added]
        )


def _read_seal(folder: Path, where: str) -> dict[str, Any]:
    path = folder / SEAL
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{where}: no {SEAL}: not a sealed run") from None
    except json.JSONDecodeError as exc:
        raise RunError(f"{where}: {SEAL}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise RunError(f"{where}: {SEAL}: files: missing")
    if data.get("version") != SEAL_VERSION:
        raise RunError(f"{where}: {SEAL}: version {data.get('version')} is not {SEAL_VERSION}")
    return data


def _compare(folder: Path, where: str) -> Verification:
    sealed = _read_seal(folder, where)
    now = _files(folder)
    then: dict[str, str] = sealed["files"]
    return Verification(
        run_id=str(sealed.get("run_id", folder.name)),
        files=len(then),
        changed=sorted(p for p in then if p in now and now[p] != then[p]),
        missing=sorted(p for p in then if p not in now),
        added=sorted(p for p in now if p not in then),
        seal=sealed,
    )


def verify(bundle: Path | str) -> Verification:
    """Check a sealed tarball (or a sealed run folder) against its ``SEAL.json``."""
    path = Path(bundle)
    if path.is_dir():
        return _compare(path, str(path))
    if not path.is_file():
        raise RunError(f"{path}: no such bundle or run folder")
    try:
        with tempfile.TemporaryDirectory(prefix="launchlib-verify-") as tmp, tarfile.open(path) as tar:
            tar.extractall(tmp, filter="data")  # refuses absolute paths, links out, devices
            tops = [p for p in Path(tmp).iterdir() if p.is_dir()]
            if len(tops) != 1:
                raise RunError(f"{path}: a sealed bundle holds one run folder, found {len(tops)}")
            return _compare(tops[0], str(path))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise RunError(f"{path}: not a readable tarball ({exc})") from None
