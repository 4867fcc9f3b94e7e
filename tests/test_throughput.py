"""A whole tree in reasonable time: proposals verified on several workers
with timing alone, best first, within a budget, with a progress bar.

Real builds and runs of one tiny program (two parallel loops in two
functions, about 0.03 s serially); each verification of it takes a few
seconds here.
"""

from __future__ import annotations

import io
import itertools
import threading
from pathlib import Path

import pytest
from rich.console import Console

from ompilot.analysis.scan import ScanSettings
from ompilot.cli.main import main
from ompilot.cli.progress import SuggestProgress
from ompilot.suggest.engine import suggest_source
from ompilot.verify.pipeline import PipelineProgress, SuggestOptions, suggest_tree
from ompilot.verify.session import TimingGate, VerifyOptions, budget_message, rank, verify_tree

# the small loop comes first in the file, the big one (4x the rows, 16x the work) second
TWO_LOOPS = b"""#include <stdio.h>
#define N 1200
#define M 300
static double a[M][M], b[N][N];
static void small(void) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < M; j++)
      a[i][j] = (i % 3) * 0.5 + j;
}
static void big(void) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++)
      b[i][j] = (i % 7) * 0.25 + (j % 5) * a[i % M][j % M];
}
int main(void) {
  double s = 0.0;
  small();
  big();
  for (int i = 0; i < N; i++)
    s += b[i][i] + a[i % M][i % M];
  printf("%.6f\\n", s);
  return 0;
}
"""
SMALL_LOOP, BIG_LOOP = 6, 11
CONFIG = 'build = "{cc} {cflags} two.c -o {out}"\nrun = ["{exe}"]\nthreads = [2]\ntiming_runs = 3\ntune_seconds = 0\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "two.c").write_bytes(TWO_LOOPS)
    (tmp_path / ".ompilot.toml").write_text(CONFIG)
    return tmp_path


def _parallel_for_only(result):
    """The two `parallel for` proposals (the inner loops' simd ones would only add runs)."""
    result.proposals = [p for p in result.proposals if p.kind == "pragma" and "parallel for" in p.summary]
    return result


def test_proposals_are_ranked_by_the_work_the_analysis_estimates(project):
    result = suggest_source(str(project / "two.c"), TWO_LOOPS)
    lines = [p.line for _, p in rank([_parallel_for_only(result)])]
    assert lines == [BIG_LOOP, SMALL_LOOP]  # the file's order is the other way round


def test_two_workers_overlap_their_checks_and_no_timing_overlaps_anything(project):
    result = _parallel_for_only(suggest_source(str(project / "two.c"), TWO_LOOPS))
    assert len(result.proposals) == 2
    spans: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    def observe(kind: str, start: float, end: float) -> None:
        with lock:
            spans.append((kind, start, end))

    summary = verify_tree([result], VerifyOptions(tune=False, jobs=2, observe=observe))
    assert summary.errors == []
    [verified] = summary.results
    checked = verified.proposals + verified.rejected
    assert len(checked) == 2
    for proposal in checked:  # both went through the race check, so both reached the timing or failed it
        assert proposal.evidence.stage in ("accepted", "speed"), proposal.evidence.message
        assert proposal.evidence.race_check.runs > 0
    checks = [(s, e) for kind, s, e in spans if kind == "check"]
    timings = [(s, e) for kind, s, e in spans if kind == "timing"]
    assert len(timings) == 2
    overlapping = [(a, b) for a, b in itertools.combinations(checks, 2) if a[0] < b[1] and b[0] < a[1]]
    assert overlapping, "with -j 2 no two builds or runs ran at the same time"
    for timing in timings:
        others = checks + [t for t in timings if t is not timing]
        assert not [o for o in others if o[0] < timing[1] and timing[0] < o[1]], "a timing phase overlapped"


def test_the_budget_stops_new_verifications_best_first(project):
    """A clock that says the budget is spent after the first verification
    started: the best-ranked proposal is verified, the other one is left."""
    result = _parallel_for_only(suggest_source(str(project / "two.c"), TWO_LOOPS))
    ticks = itertools.count()
    clock = lambda: 0.0 if next(ticks) < 2 else 1e9  # the start, then the first proposal's turn  # noqa: E731
    summary = verify_tree([result], VerifyOptions(tune=False, jobs=1, budget_minutes=1, clock=clock))
    assert summary.left_unverified == 1
    [verified] = summary.results
    everything = {p.line: p for p in verified.proposals + verified.rejected}
    assert everything[BIG_LOOP].evidence.race_check.runs > 0
    left = everything[SMALL_LOOP]
    assert left.verified is False and left in verified.rejected
    assert left.evidence.to_json() == {"accepted": False, "stage": "budget", "message": budget_message(1)}


def test_a_spent_budget_is_reported_by_the_cli(project, capsys):
    code = main(["suggest", str(project / "two.c"), "--budget", "0", "--no-tune"])
    out = capsys.readouterr().out
    assert code == 1  # work was left undone: a finding
    assert out.count("not verified: the --budget of 0 minutes was spent") >= 2
    total = out.count(": rejected: ")
    assert total >= 2 and f"0 changes proposed in 0 of 1 files; {total} left unverified" in out


def test_the_gate_lets_checks_share_and_timing_wait_for_them():
    """No sleeps: events order the threads."""
    spans: list[tuple[str, float, float]] = []
    gate = TimingGate(lambda kind, start, end: spans.append((kind, start, end)))
    both_in, release = threading.Barrier(2), threading.Event()
    timing_done = threading.Event()

    def check():
        with gate.check():
            both_in.wait(timeout=10)  # both checks inside at once, or this breaks
            release.wait(timeout=10)

    def timing():
        with gate.timing():
            with gate.check():  # its own runs inside pass
                pass
        timing_done.set()

    checkers = [threading.Thread(target=check) for _ in range(2)]
    for thread in checkers:
        thread.start()
    timer = threading.Thread(target=timing)
    timer.start()
    assert not timing_done.wait(timeout=0.2)  # the checks hold the gate
    release.set()
    for thread in (*checkers, timer):
        thread.join(timeout=10)
    assert timing_done.is_set()
    (timed,) = [(s, e) for kind, s, e in spans if kind == "timing"]
    assert all(e <= timed[0] for kind, s, e in spans if kind == "check")


def _events() -> list[PipelineProgress]:
    return [PipelineProgress("analysis", files_total=2),
            PipelineProgress("verify", "two.c:11 #pragma omp parallel for (1/2): race check", 0, 2, 0, 3),
            PipelineProgress("verify", "two.c:6 #pragma omp parallel for (2/2): timing", 1, 2, 2, 3)]


def test_the_progress_bar_shows_files_proposals_and_is_silent_off_a_terminal():
    for terminal in (True, False):
        stream = io.StringIO()
        console = Console(file=stream, force_terminal=terminal, width=160)
        with SuggestProgress(console) as bar:
            for event in _events():
                bar.update(event)
            if terminal:
                bar._bar.refresh()
        text = stream.getvalue()
        if terminal:
            assert "verifying" in text and "files 1/2" in text and "2/3" in text and "proposals" in text
        else:
            assert text == ""


def test_the_pipeline_reports_its_progress(project):
    events: list[PipelineProgress] = []
    run = suggest_tree([project / "two.c"], ScanSettings(jobs=1), SuggestOptions(budget_minutes=0),
                       on_progress=events.append)
    assert [e.stage for e in events][:1] == ["analysis"]
    verify = [e for e in events if e.stage == "verify"]
    proposals = len(run.results[0].rejected)
    assert run.left_unverified == proposals >= 2
    assert verify[-1].proposals_done == verify[-1].proposals_total == proposals
    assert verify[-1].files_done == verify[-1].files_total == 1
