"""``launchlib analyse``: the post-launch analysis notebook over one run, a list or a glob, as a page.

The runs are checked first (a missing or corrupt run folder is bad input, nothing runs); then
``notebooks/analysis.ipynb`` runs under papermill on a kernel started next to the output, and
its executed copy is kept beside the HTML (``analysis.ipynb`` next to ``analysis.html``).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from jupyter_client.manager import KernelManager

from launchlib.errors import RunBroken, RunError
from launchlib.plan.locations import notebooks_folder
from launchlib.report.analysis import resolve_runs
from launchlib.report.html import render_html
from launchlib.runner.kernels import how_it_ended, start_kernel
from launchlib.runner.supervisor import catch_signals

__all__ = ["ANALYSIS_NOTEBOOK", "analyse"]

ANALYSIS_NOTEBOOK = "analysis.ipynb"


def analyse(
    runs: list[str],
    out: Path | str,
    reports: Path | str = "reports",
    notebooks: Path | None = None,
) -> Path:
    """Execute the analysis notebook over ``runs`` and render it to ``out`` (HTML, code hidden)."""
    out, reports = Path(out).absolute(), Path(reports).absolute()
    if out.suffix != ".html":
        raise RunError(f"-o {out}: the analysis page is HTML: give a path ending in .html")
    src = (notebooks or notebooks_folder()) / ANALYSIS_NOTEBOOK
    if not src.exists():
        raise RunError(f"{src}: the analysis notebook is missing")
    made = next((p for p in [*reversed(out.parent.parents), out.parent] if not p.exists()), None)
    out.parent.mkdir(parents=True, exist_ok=True)
    executed = out.with_suffix(".ipynb")
    sockets = tempfile.mkdtemp(prefix="launchlib-kernels-")
    with ThreadPoolExecutor(1, thread_name_prefix="launchlib-analysis-kernel") as starter:
        # the kernel starts (and imports) while the runs are checked; bad input still stops here
        kernel = starter.submit(start_kernel, str(out.parent), {}, sockets, True)
        try:
            import papermill as pm  # heavy (1.2 s, nbclient): imported while the kernel starts
            from nbclient.exceptions import DeadKernelError  # heavy (nbclient): only when a notebook runs

            folders = [str(r.run_dir) for r in resolve_runs(runs, reports)]
        except BaseException:
            _discard(kernel, sockets, out.parent, made)
            raise
        km = kernel.result()
    try:
        with catch_signals(_interrupted):  # the kernel is in a session of its own: it is shut down below
            pm.execute_notebook(
                str(src),
                str(executed),
                parameters={"runs": " ".join(folders), "reports": str(reports)},
                progress_bar=False,
                km=km,
            )
            return render_html(executed, out)
    except pm.PapermillExecutionError as exc:
        raise RunBroken(
            f"{executed}: the analysis failed in cell {exc.exec_count}: {exc.ename}: {str(exc.evalue)[:300]}"
        ) from None
    except DeadKernelError:
        raise RunBroken(f"{executed}: the analysis kernel died ({how_it_ended(km)})") from None
    finally:
        km.shutdown_kernel(now=True)
        shutil.rmtree(sockets, ignore_errors=True)


def _discard(kernel: Future[KernelManager], sockets: str, folder: Path, made: Path | None) -> None:
    """Undo what an analysis refused for bad input had started: its kernel, its sockets, and the
    output's folders it created (from ``folder`` up to ``made``), so bad input creates nothing."""
    with contextlib.suppress(Exception):  # a kernel that failed to start has nothing to shut down
        kernel.result().shutdown_kernel(now=True)
    shutil.rmtree(sockets, ignore_errors=True)
    while made is not None:
        with contextlib.suppress(OSError):  # not empty: something else wrote there meanwhile
            folder.rmdir()
        if folder == made:
            return
        folder = folder.parent


def _interrupted(name: str) -> None:
    raise RunBroken(f"interrupted by {name} during the analysis (nothing of the runs was changed)")
