"""The pull-request bot: ompilot's suggestions as one GitHub review.

Two stages, so that pull-request code never runs with a write token:

  plan: analyse (and verify) the pull request's C/C++ files in a checkout
        and describe each suggestion as a ReviewSuggestion: the lines it replaces,
        their replacement, its evidence. Needs no token to write.
  post: read the pull request's diff and the comments already there, and
        post one review: a ```suggestion``` comment for every finding whose
        lines lie inside the diff (up to a cap), the rest in the review body.
        Findings already posted (a hidden fingerprint in each comment) are not
        posted again. A 422 from GitHub (a line it does not accept) moves the
        inline comments into the body and posts once more.

The token is only ever put in the Authorization header; no message, log line
or exception text this module makes contains it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import httpx
import unidiff

from ompilot.analysis import sources
from ompilot.suggest import patch
from ompilot.suggest.proposals import FileSuggestions

from .findings import why_rejected

C_SUFFIXES = sources.SOURCE_SUFFIXES  # the changed files of a pull request that are reviewed
MARKER = re.compile(r"<!-- ompilot:fp=([0-9a-f]{12}) -->")
DEFAULT_MAX_COMMENTS = 10
CONTEXT_LINES = 5
PLAN_VERSION = 1


class GitHubError(Exception):
    """A GitHub API call failed; str() is one line, without the token."""


@dataclass(frozen=True)
class ReviewSuggestion:
    """One suggestion, placed on the lines of the pull request's head it replaces."""

    path: str  # relative to the repository root, with /
    start_line: int  # first line replaced (1-based, head side)
    end_line: int  # last line replaced
    original: str  # the text of those lines
    replacement: str  # what the suggestion puts there
    title: str  # the directive or rewrite, one line
    evidence: str  # one line: verified how, or not verified
    explanation: tuple[str, ...] = ()
    origin: str = "analysis"
    context: str = ""  # the enclosing function and the loop's first lines: tells equal headers apart

    @property
    def fingerprint(self) -> str:
        """Stable across pushes that move the lines: path, change and text, not line numbers."""
        key = "\0".join([self.path, self.title, self.original.strip(), self.replacement.strip(), self.context])
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    def suggestion_block(self) -> str:
        if not self.replacement.strip():
            return "```suggestion\n```"  # an empty suggestion deletes the lines
        return f"```suggestion\n{self.replacement.rstrip(chr(10))}\n```"

    def comment_body(self) -> str:
        lines = [f"**ompilot**: `{self.title}`", "", self.suggestion_block(), "", self.evidence]
        lines += [f"- {e}" for e in self.explanation]
        lines.append(f"<!-- ompilot:fp={self.fingerprint} -->")
        return "\n".join(lines)

    def body_entry(self) -> str:
        """For the review body: where, what and why, as a diff."""
        before, after = self.original.rstrip("\n").split("\n"), self.replacement.rstrip("\n").split("\n")
        diff = [l for l in difflib.unified_diff(before, after, lineterm="", n=len(before) + len(after))
                if not l.startswith(("---", "+++", "@@"))]
        lines = [f"#### `{self.path}` line {self.start_line}: `{self.title}`", "", "```diff", *diff, "```",
                 "", self.evidence]
        lines += [f"- {e}" for e in self.explanation]
        lines.append(f"<!-- ompilot:fp={self.fingerprint} -->")
        return "\n".join(lines)


# ------------------------------------------------------------------ plan


def findings_from(results: list[FileSuggestions], root: Path) -> list[ReviewSuggestion]:
    findings = []
    for result in results:
        path = Path(result.path).resolve().relative_to(root.resolve()).as_posix()
        for proposal in result.proposals:
            if not proposal.edits:
                continue
            first = patch.line_start(result.data, min(e.start for e in proposal.edits))
            end = patch.line_end(result.data, max(max(e.end - 1, e.start) for e in proposal.edits))
            shifted = [type(e)(e.start - first, e.end - first, e.text) for e in proposal.edits]
            original = result.data[first:end].decode("utf-8", errors="replace")
            replacement = patch.apply_edits(result.data[first:end], shifted).decode("utf-8", errors="replace")
            start_line = patch.line_number(result.data, first)
            loops = [v.loop for v in (result.report.verdicts if result.report else []) if v.loop.line == proposal.line]
            body = result.data[end : max(end, loops[0].end_offset)] if loops else b""
            following = body.decode("utf-8", errors="replace").split("\n")[:CONTEXT_LINES]
            context = "\n".join([loops[0].function or "" if loops else ""] + [l.strip() for l in following])
            findings.append(ReviewSuggestion(
                path=path, start_line=start_line, end_line=start_line + original.rstrip("\n").count("\n"),
                original=original, replacement=replacement, title=proposal.summary,
                evidence=evidence_line(proposal), explanation=tuple(proposal.explanation), origin=proposal.origin,
                context=context,
            ))
    return findings


def evidence_line(proposal) -> str:
    evidence = proposal.evidence
    if not proposal.verified:
        return "Not verified (static analysis only; run without --no-verify to build, race-check and time it)."
    parts = [f"Verified: {evidence.message if evidence is not None else 'accepted'}"]
    race = evidence.race_check if evidence is not None else None
    if race is not None and race.runs:
        parts.append(f"race check: no race in {race.runs} runs under ThreadSanitizer + Archer")
    elif race is not None:
        parts.append("race check: not needed, the change starts no threads")
    if evidence is not None and evidence.checked and evidence.output_difference is None:
        parts.append("output: same as the serial build")
    if proposal.origin == "model":
        parts.append("proposed by a model, proven by the checks above")
    if evidence is not None and evidence.where is not None:
        parts.append(evidence.where.describe())
    return "; ".join(parts) + "."


def save_plan(path: Path, findings: list[ReviewSuggestion], number: int | None = None) -> None:
    data = {"version": PLAN_VERSION, "pull_request": number, "findings": [asdict(f) for f in findings]}
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
        json.dump(data, out, indent=2)
    os.replace(out.name, path)


def load_plan(path: Path) -> tuple[list[ReviewSuggestion], int | None]:
    """The findings, and the pull request they were made for (if the plan says)."""
    try:
        data = json.loads(path.read_text())
        if data.get("version") != PLAN_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {PLAN_VERSION}")
        findings = [ReviewSuggestion(**{**f, "explanation": tuple(f.get("explanation", ()))}) for f in data["findings"]]
        number = data.get("pull_request")
        return findings, number if isinstance(number, int) else None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise GitHubError(f"{path}: not a plan written by `ompilot github-review --save-plan`: {exc}") from None


# ------------------------------------------------------------------ GitHub


class GitHubClient:
    """The few REST endpoints the bot uses."""

    def __init__(self, api_url: str, repo: str, token: str, transport: httpx.BaseTransport | None = None):
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
            raise GitHubError(f"'{repo}' is not OWNER/NAME")
        self.repo = repo
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"), timeout=30.0, transport=transport,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "ompilot"},
        )

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GitHubError(f"GitHub API {method} {path}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise GitHubError(f"GitHub API {method} {path}: HTTP {response.status_code}: {_message(response)}")
        return response

    def _pages(self, path: str) -> list[dict]:
        items: list[dict] = []
        url: str | None = f"{path}?per_page=100"
        while url:
            response = self._request("GET", url)
            items.extend(response.json())
            url = response.links.get("next", {}).get("url")
        return items

    def pull(self, number: int) -> dict:
        return self._request("GET", f"/repos/{self.repo}/pulls/{number}").json()

    def diff(self, number: int) -> str:
        headers = {"Accept": "application/vnd.github.diff"}
        return self._request("GET", f"/repos/{self.repo}/pulls/{number}", headers=headers).text

    def changed_files(self, number: int) -> list[str]:
        return [f["filename"] for f in self._pages(f"/repos/{self.repo}/pulls/{number}/files")
                if f.get("status") != "removed"]

    def posted_fingerprints(self, number: int) -> set[str]:
        bodies = [c.get("body") or "" for c in self._pages(f"/repos/{self.repo}/pulls/{number}/comments")]
        bodies += [r.get("body") or "" for r in self._pages(f"/repos/{self.repo}/pulls/{number}/reviews")]
        return {fp for body in bodies for fp in MARKER.findall(body)}

    def create_review(self, number: int, payload: dict) -> dict:
        return self._request("POST", f"/repos/{self.repo}/pulls/{number}/reviews", json=payload).json()


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if errors:
        message += f" ({'; '.join(str(e.get('message', e)) if isinstance(e, dict) else str(e) for e in errors)})"
    return message[:300]


# ------------------------------------------------------------------ post


@dataclass
class PostedReview:
    posted: bool
    inline: list[ReviewSuggestion] = field(default_factory=list)
    in_body: list[ReviewSuggestion] = field(default_factory=list)
    already_posted: int = 0
    retried_after_422: str | None = None  # GitHub's message when the inline comments had to move
    review_id: int | None = None


def commentable_ranges(diff_text: str) -> dict[str, list[range]]:
    """Per file, the head-side line ranges of each hunk: a comment (and its
    start_line) must fall inside one of them."""
    ranges: dict[str, list[range]] = {}
    for patched_file in unidiff.PatchSet(diff_text):
        if patched_file.is_removed_file:
            continue
        path = patched_file.target_file[2:] if patched_file.target_file.startswith("b/") else patched_file.target_file
        ranges[path] = [range(h.target_start, h.target_start + h.target_length) for h in patched_file]
    return ranges


def _inside(finding: ReviewSuggestion, ranges: dict[str, list[range]]) -> bool:
    return any(finding.start_line in r and finding.end_line in r for r in ranges.get(finding.path, ()))


def post_review(client: GitHubClient, number: int, findings: list[ReviewSuggestion],
                max_comments: int = DEFAULT_MAX_COMMENTS, expected_head: str | None = None) -> PostedReview:
    """`expected_head`: the commit the findings were made on (a workflow_run's
    head_sha); a plan that names another pull request is refused."""
    pull = client.pull(number)
    if expected_head and pull["head"]["sha"] != expected_head:
        raise GitHubError(f"pull request #{number} is at {pull['head']['sha'][:12]}, but the plan was made for "
                          f"{expected_head[:12]}: not posting")
    ranges = commentable_ranges(client.diff(number))
    posted = client.posted_fingerprints(number)
    fresh = [f for f in findings if f.fingerprint not in posted]
    outcome = PostedReview(posted=False, already_posted=len(findings) - len(fresh))
    if not fresh:
        return outcome
    inline = [f for f in fresh if _inside(f, ranges)][:max_comments]
    in_body = [f for f in fresh if f not in inline]
    payload = _review_payload(pull["head"]["sha"], inline, in_body, len(findings) - len(fresh))
    try:
        review = client.create_review(number, payload)
    except GitHubError as exc:
        if "HTTP 422" not in str(exc) or not inline:
            raise
        outcome.retried_after_422 = str(exc)
        inline, in_body = [], inline + in_body
        review = client.create_review(number, _review_payload(pull["head"]["sha"], [], in_body,
                                                              len(findings) - len(fresh)))
    outcome.posted, outcome.inline, outcome.in_body = True, inline, in_body
    outcome.review_id = review.get("id")
    return outcome


def _review_payload(head_sha: str, inline: list[ReviewSuggestion], in_body: list[ReviewSuggestion], repeated: int) -> dict:
    count = len(inline) + len(in_body)
    lines = [f"**ompilot** found {count} new OpenMP suggestion{'s' if count != 1 else ''} for this pull request."]
    if inline:
        lines.append(f"{len(inline)} {'is' if len(inline) == 1 else 'are'} inline, as suggestions you can commit.")
    if repeated:
        lines.append(f"({repeated} posted earlier {'is' if repeated == 1 else 'are'} not repeated.)")
    if in_body:
        lines += ["", f"Outside the lines this pull request changes, or beyond the comment limit ({len(in_body)}):", ""]
        lines += [f.body_entry() + "\n" for f in in_body]
    comments = []
    for f in inline:
        comment = {"path": f.path, "line": f.end_line, "side": "RIGHT", "body": f.comment_body()}
        if f.start_line != f.end_line:
            comment.update(start_line=f.start_line, start_side="RIGHT")
        comments.append(comment)
    return {"commit_id": head_sha, "event": "COMMENT", "body": "\n".join(lines), "comments": comments}


# ------------------------------------------------------------------ event


def head_sha_from_event(event_path: str | None) -> str | None:
    """The commit a workflow_run was started for: what a plan must have analysed."""
    try:
        event = json.loads(Path(event_path).read_text()) if event_path else {}
    except (OSError, ValueError):
        return None
    return (event.get("workflow_run") or {}).get("head_sha")


def pull_number_from_event(event_path: str | None) -> int | None:
    """The pull request's number from GITHUB_EVENT_PATH (pull_request or workflow_run events)."""
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text())
    except (OSError, ValueError):
        return None
    if isinstance(event.get("pull_request"), dict):
        return event["pull_request"].get("number")
    # empty for pull requests from forks: the plan then carries the number
    runs = (event.get("workflow_run") or {}).get("pull_requests") or []
    return runs[0].get("number") if runs else None


# ------------------------------------------------------------------ the whole review


@dataclass(frozen=True)
class ReviewRequest:
    """What `ompilot github-review` was asked to do (options and the Action's environment)."""

    paths: tuple[Path, ...] = ()  # default: the pull request's changed C/C++ files
    number: int | None = None  # the pull request (default: from the event)
    repo: str | None = None  # OWNER/NAME
    api_url: str = "https://api.github.com"
    token: str = ""
    event_path: str | None = None  # GITHUB_EVENT_PATH
    max_comments: int = DEFAULT_MAX_COMMENTS
    save_plan: Path | None = None  # analyse and verify only, write the findings here
    from_plan: Path | None = None  # post a saved plan's findings, analyse nothing


@dataclass(frozen=True)
class TurnedDown:
    """A proposal the verifier did not keep: where, what, and its verdict's message."""

    path: str  # relative to the repository root when inside it
    line: int
    title: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.title}: {self.why}"


@dataclass
class ReviewRun:
    number: int | None
    saved: int | None = None  # findings written to request.save_plan (then nothing was posted)
    posted: PostedReview | None = None
    turned_down: list[TurnedDown] = field(default_factory=list)  # proposals the verifier dropped

    def nothing_posted(self) -> str:
        """The line for a review with nothing new to post and, below it, each proposal
        the verifier turned down (where, what, the verdict's message): an empty review says why."""
        before = self.posted.already_posted if self.posted else 0
        head = f"nothing new to post on #{self.number} ({before} posted before)"
        if not self.turned_down:
            return head
        return "\n".join([f"{head}; {len(self.turned_down)} proposal(s) turned down:",
                          *(f"  {t}" for t in self.turned_down)])


def review_pull_request(request: ReviewRequest, suggest: Callable[[list[Path]], object],
                        say: Callable[[str], None]) -> ReviewRun:
    """Plan (analyse and verify with `suggest(paths)`, a verify.pipeline
    SuggestRun), save the plan, or post it: one review on the pull request.
    `say` gets the lines for the workflow's log (the pipeline's errors); the
    proposals the verifier dropped come back in `turned_down`.
    Raises GitHubError (and the pipeline's environment errors)."""
    number = request.number or pull_number_from_event(request.event_path)
    planned: list[ReviewSuggestion] = []
    if request.from_plan is not None:
        planned, plan_number = load_plan(request.from_plan)
        number = number or plan_number
    needs_api = request.from_plan is not None or request.save_plan is None or not request.paths
    if needs_api and (not request.repo or not number or not request.token):
        missing = [name for name, value in (("--repo/GITHUB_REPOSITORY", request.repo), ("--pr", number),
                                            ("GITHUB_TOKEN", request.token)) if not value]
        raise GitHubError(f"github-review needs {', '.join(missing)}")
    client = GitHubClient(request.api_url, request.repo, request.token) if needs_api else None
    turned_down: list[TurnedDown] = []
    try:
        if request.from_plan is not None:
            findings = planned
        else:
            findings, turned_down = _plan(request, client, number, suggest, say)
            if request.save_plan is not None:
                save_plan(request.save_plan, findings, number)
                return ReviewRun(number, saved=len(findings), turned_down=turned_down)
        expected_head = head_sha_from_event(request.event_path) if request.from_plan is not None else None
        return ReviewRun(number, posted=post_review(client, number, findings, request.max_comments, expected_head),
                         turned_down=turned_down)
    finally:
        if client is not None:
            client.close()


def _plan(request: ReviewRequest, client: GitHubClient | None, number: int | None,
          suggest: Callable[[list[Path]], object],
          say: Callable[[str], None]) -> tuple[list[ReviewSuggestion], list[TurnedDown]]:
    root = Path.cwd()
    targets = list(request.paths) or [root / f for f in client.changed_files(number) if f.endswith(C_SUFFIXES)]
    targets = [t for t in targets if t.exists()]
    if not targets:
        return [], []
    run = suggest(targets)
    for line in run.errors + [e for r in run.results for e in r.errors]:
        say(line.splitlines()[0])
    turned_down = [TurnedDown(_relative(p.file, root), p.line, p.summary, why_rejected(p))
                   for r in run.results for p in r.rejected]
    return findings_from(run.results, root), turned_down


def _relative(path, root: Path) -> str:
    """`path` as the pull request names it (relative to the checkout), else as given."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
