"""The pull-request bot end to end, against a local server playing GitHub's REST API."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from ompilot.cli.main import main

from fake_github import FakeGitHub

TOKEN = "ghs_s3cr3tT0kenThatMustNeverBePrinted"
REPO, NUMBER = "octo/kernels", 7

BASE = textwrap.dedent(
    """\
    #include <stdio.h>

    void scale(double *restrict a, const double *restrict b, int n) {
        for (int i = 0; i < n; i++)
            a[i] = 2.0 * b[i];
    }

    /* ten lines of padding keep scale() out of the pull request's hunk */
    /* 1 */
    /* 2 */
    /* 3 */
    /* 4 */
    /* 5 */
    /* 6 */
    /* 7 */
    /* 8 */
    /* 9 */
    /* 10 */
    """
)
ADDED = textwrap.dedent(
    """\

    void saxpy(double *restrict y, const double *restrict x, double s, int n) {
        for (int i = 0; i < n; i++)
            y[i] += s * x[i];
    }
    """
)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A repository whose pull request adds saxpy(); the bot runs in its head checkout."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    (repo / "kernels.c").write_text(BASE)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    (repo / "kernels.c").write_text(BASE + ADDED)
    git(repo, "commit", "-qam", "add saxpy")
    diff = git(repo, "diff", "HEAD~1", "HEAD")
    head = git(repo, "rev-parse", "HEAD").strip()
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    for name in ("GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return repo, diff, head


def line_of(text: str, needle: str, after: str = "") -> int:
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if after in l) if after else 0
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def review(server: FakeGitHub, *extra: str) -> int:
    return main(["github-review", "--repo", REPO, "--pr", str(NUMBER), "--api-url", server.url, *extra])


def test_one_review_with_inline_suggestions_inside_the_diff_and_the_rest_in_the_body(checkout, capsys):
    repo, diff, head = checkout
    source = (repo / "kernels.c").read_text()
    with FakeGitHub(REPO, NUMBER, head, diff, TOKEN) as server:
        code = review(server, "--no-verify")
    out, err = capsys.readouterr()
    assert code == 0, err
    [payload] = server.posted_payloads
    assert payload["commit_id"] == head and payload["event"] == "COMMENT"
    # saxpy's loop is in the diff: an inline comment whose suggestion inserts the pragma
    [comment] = payload["comments"]
    saxpy_loop = line_of(source, "for (int i", after="void saxpy")
    assert (comment["path"], comment["line"], comment["side"]) == ("kernels.c", saxpy_loop, "RIGHT")
    assert "```suggestion\n    #pragma omp parallel for\n    for (int i = 0; i < n; i++)\n```" in comment["body"]
    assert "Not verified" in comment["body"] and "<!-- ompilot:fp=" in comment["body"]
    # scale's loop is outside the diff: in the review body, as a diff, not inline
    scale_loop = line_of(source, "for (int i", after="void scale")
    assert f"`kernels.c` line {scale_loop}" in payload["body"]
    assert "+    #pragma omp parallel for\n     for (int i = 0; i < n; i++)" in payload["body"]
    assert "1 inline, 1 in the body" in out
    assert TOKEN not in out + err


def test_comments_already_posted_are_not_repeated_on_the_next_push(checkout, capsys):
    repo, diff, head = checkout
    with FakeGitHub(REPO, NUMBER, head, diff, TOKEN) as server:
        server.page_size = 1  # earlier comments come back over several pages
        assert review(server, "--no-verify") == 0
        assert review(server, "--no-verify") == 0
        out = capsys.readouterr().out
        assert len(server.posted_payloads) == 1
        assert "nothing new to post on #7 (2 posted before)" in out
        # a new push adds a loop: only that one is posted
        (repo / "kernels.c").write_text(
            (repo / "kernels.c").read_text()
            + "\nvoid zero(double *restrict z, int n) {\n    for (int i = 0; i < n; i++)\n        z[i] = 0.0;\n}\n"
        )
        git(repo, "commit", "-qam", "add zero")
        server.diff = git(repo, "diff", "HEAD~2", "HEAD")
        server.head_sha = git(repo, "rev-parse", "HEAD").strip()
        server.hunks = FakeGitHub(REPO, NUMBER, "", server.diff, TOKEN).hunks
        assert review(server, "--no-verify") == 0
    second = server.posted_payloads[-1]
    assert len(server.posted_payloads) == 2 and second["commit_id"] == server.head_sha
    assert [c["line"] for c in second["comments"]] == [line_of((repo / "kernels.c").read_text(), "for", "void zero")]
    assert "(2 posted earlier are not repeated.)" in second["body"]


def test_a_422_for_an_inline_comment_moves_it_into_the_body(checkout, capsys):
    repo, diff, head = checkout
    saxpy_loop = line_of((repo / "kernels.c").read_text(), "for (int i", after="void saxpy")
    with FakeGitHub(REPO, NUMBER, head, diff, TOKEN) as server:
        server.refuse_lines = {("kernels.c", saxpy_loop)}
        code = review(server, "--no-verify")
    out, err = capsys.readouterr()
    assert code == 0, err
    first, second = server.posted_payloads
    assert first["comments"] and not second["comments"]
    assert len(server.reviews) == 1 and f"`kernels.c` line {saxpy_loop}" in server.reviews[0]["body"]
    assert "HTTP 422" in err and "Line could not be resolved" in err and "moved to the review body" in err
    assert "0 inline, 2 in the body" in out


def test_the_number_of_inline_comments_is_capped(checkout, capsys):
    repo, diff, head = checkout
    with FakeGitHub(REPO, NUMBER, head, diff, TOKEN) as server:
        assert review(server, "--no-verify", "--max-comments", "0") == 0
    [payload] = server.posted_payloads
    assert payload["comments"] == [] and payload["body"].count("<!-- ompilot:fp=") == 2


def test_a_bad_token_fails_clearly_without_printing_it(checkout, capsys):
    repo, diff, head = checkout
    with FakeGitHub(REPO, NUMBER, head, diff, "another-token") as server:
        code = review(server, "--no-verify")
    out, err = capsys.readouterr()
    assert code == 2 and "HTTP 401: Bad credentials" in err
    assert TOKEN not in out + err and not server.posted_payloads


def test_missing_settings_are_a_usage_error(checkout, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    assert main(["github-review", "--repo", REPO, "--pr", "7"]) == 2
    assert "GITHUB_TOKEN" in capsys.readouterr().err


def test_the_fork_workflow_plans_without_a_token_and_posts_without_the_code(checkout, tmp_path, capsys,
                                                                           monkeypatch):
    repo, diff, head = checkout
    plan = tmp_path / "artifact" / "plan.json"
    plan.parent.mkdir()
    monkeypatch.delenv("GITHUB_TOKEN")  # the pull_request workflow of a fork has no write token
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": NUMBER}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    assert main(["github-review", "kernels.c", "--no-verify", "--save-plan", str(plan)]) == 0
    assert json.loads(plan.read_text())["pull_request"] == NUMBER
    findings = json.loads(plan.read_text())["findings"]
    assert {f["title"] for f in findings} == {"#pragma omp parallel for"} and len(findings) == 2
    # the workflow_run workflow: the token, the plan, the event; no checkout of the pull request
    elsewhere = tmp_path / "trusted"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    # GitHub leaves workflow_run.pull_requests empty for forks: the number comes from the plan
    event.write_text(json.dumps({"workflow_run": {"pull_requests": [], "head_sha": head}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    with FakeGitHub(REPO, NUMBER, head, diff, TOKEN) as server:
        code = main(["github-review", "--repo", REPO, "--api-url", server.url, "--from-plan", str(plan)])
        assert code == 0, capsys.readouterr().err
        [payload] = server.posted_payloads
        assert len(payload["comments"]) == 1 and "```suggestion" in payload["comments"][0]["body"]
        # a plan edited to name another pull request (another head) is refused
        event.write_text(json.dumps({"workflow_run": {"pull_requests": [], "head_sha": "0" * 40}}))
        assert main(["github-review", "--repo", REPO, "--api-url", server.url, "--from-plan", str(plan)]) == 2
        assert "the plan was made for" in capsys.readouterr().err and len(server.posted_payloads) == 1


# the corpus's i-j-k product, smaller: about 0.05 s serial, the interchange alone
# 3x faster on one thread (measured 3.3-3.9x beside a busy neighbour), some 35 ms
# a run. At N=360 it was 0.027 s and 1.9x, a 13 ms gain, and every run also counted
# the fork of the test process (verify/runner.py, 7 ms and more): within the noise of
# a loaded 2-core machine, it lost 2 of its first 3 paired runs now and then.
MATMUL = (Path(__file__).resolve().parent.parent / "corpus" / "matmul_naive.c").read_text().replace(
    "#define N 512", "#define N 384")


def _pull_request(repo: Path, files: dict[str, str], monkeypatch) -> tuple[Path, str, str]:
    """A repository whose pull request adds `files` (one program, built by a
    .ompilot.toml timing 3 pairs with 2 threads); the bot runs in its checkout.
    Returns it, the pull request's diff and its head commit."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    (repo / ".ompilot.toml").write_text(f'build = "{{cc}} {{cflags}} {" ".join(files)} -o {{out}}"\nrun = "{{exe}}"\n'
                                        "threads = [2]\ntiming_runs = 3\ntune_seconds = 0\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "the change")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return repo, git(repo, "diff", "HEAD~1", "HEAD"), git(repo, "rev-parse", "HEAD").strip()


def test_verified_suggestions_carry_their_evidence(tmp_path, monkeypatch, capsys):
    repo, diff, head = _pull_request(tmp_path / "mm", {"mm.c": MATMUL}, monkeypatch)
    with FakeGitHub(REPO, NUMBER, head, diff, TOKEN) as server:
        code = review(server)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(server.posted_payloads) == 1, out + err  # when nothing is, out lists each verdict
    [payload] = server.posted_payloads
    bodies = {c["line"]: c["body"] for c in payload["comments"]}
    # the interchange runs on one thread: its 3x or more gain shows even on a busy machine
    swaps = [b for b in bodies.values() if "swap the loops" in b]
    assert len(swaps) == 1, f"the interchange was not posted; what was dropped and why:\n{err}"
    [swap] = swaps
    assert "Verified:" in swap and "x faster" in swap and "output: same as the serial build" in swap
    assert "```suggestion\n        for (int k = 0; k < N; k++)\n            for (int j = 0; j < N; j++)\n```" in swap, swap
    for body in bodies.values():  # every pragma that made it was race-checked
        if "#pragma omp parallel" in body or "#pragma omp for" in body:
            assert "race check: no race in" in body
    assert TOKEN not in out + err


def test_when_every_proposal_is_turned_down_the_bot_says_why_for_each(tmp_path, monkeypatch, capsys,
                                                                       injected_timings):
    injected_timings.speedup = 1.0  # no change is faster: every proposal fails the timing check
    fill = textwrap.dedent("""\
        #include <stdio.h>
        #define N 200000
        static double a[N];

        int main(void) {
            for (int i = 0; i < N; i++)
                a[i] = 0.5 * i;
            printf("%.1f\\n", a[N - 1]);
            return 0;
        }
        """)
    repo, diff, head = _pull_request(tmp_path / "fill", {"src/fill.c": fill}, monkeypatch)
    with FakeGitHub(REPO, NUMBER, head, diff, TOKEN) as server:
        code = review(server)
    out, err = capsys.readouterr()
    assert code == 0 and not server.posted_payloads, out + err
    # one line per proposal: where (relative to the checkout), what, and the verdict's message
    head_line, reason = out.strip().split("\n")
    assert head_line == "ompilot: nothing new to post on #7 (0 posted before); 1 proposal(s) turned down:"
    loop = line_of((repo / "src" / "fill.c").read_text(), "for (int i")
    assert reason.startswith(f"  src/fill.c:{loop}: #pragma omp parallel for: not faster than serial beyond the "
                             f"noise: loop src/fill.c:{loop}: 0.2 s serial, 0.2 s with 2 threads"), out
    assert "dropped" not in err  # said once, with the "nothing new" line


def test_the_action_runs_the_command_with_options_it_has():
    import yaml
    from click.testing import CliRunner

    from ompilot.cli.main import cli

    action = yaml.safe_load((Path(__file__).resolve().parent.parent / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) >= {"mode", "github-token", "plan-file", "verify", "max-comments"}
    script = action["runs"]["steps"][-1]["run"]
    help_text = CliRunner().invoke(cli, ["github-review", "--help"]).output
    for option in ("--max-comments", "--pr", "--no-verify", "--save-plan", "--from-plan"):
        assert option in script and option in help_text
    # the token reaches the command through the environment only, never a command line
    assert action["runs"]["steps"][-1]["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    assert "GITHUB_TOKEN" not in script


def test_the_review_runs_as_a_library_call_without_the_cli(tmp_path, monkeypatch):
    """github.review_pull_request does the orchestration; the command only parses and prints."""
    from ompilot.analysis.scan import ScanSettings
    from ompilot.cli import github
    from ompilot.verify.pipeline import SuggestOptions, suggest_tree

    monkeypatch.chdir(tmp_path)
    (tmp_path / "k.c").write_text("void f(double *restrict a, int n) {\n  for (int i = 0; i < n; i++)\n"
                                  "    a[i] = 2 * a[i];\n}\n")
    asked, said = [], []

    def suggest(targets):
        asked.append(targets)
        return suggest_tree(targets, ScanSettings(jobs=1), SuggestOptions(verify=False))

    request = github.ReviewRequest(paths=(tmp_path / "k.c",), number=7, save_plan=tmp_path / "plan.json")
    run = github.review_pull_request(request, suggest, said.append)
    assert asked == [[tmp_path / "k.c"]] and said == [] and run.saved == 1 and run.posted is None
    findings, number = github.load_plan(tmp_path / "plan.json")
    assert number == 7 and findings[0].title == "#pragma omp parallel for" and findings[0].path == "k.c"
    with pytest.raises(github.GitHubError, match="github-review needs --repo/GITHUB_REPOSITORY, GITHUB_TOKEN"):
        github.review_pull_request(github.ReviewRequest(number=7), suggest, said.append)
