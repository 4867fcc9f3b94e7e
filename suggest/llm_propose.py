"""Model proposals for the loops the analysis could not parallelize.

For each such loop the model is asked once (see llm_prompt); its answer is
vetted before anything is built:

  1. it must parse (llm_answer) and be an OpenMP loop directive;
  2. a directive over a loop whose dependence the analysis PROVED is refused,
     unless the model rewrote the loop;
  3. the patched file is analysed again: Clang must accept the directive and
     the analysis must not prove that it races.

What survives becomes a Proposal with origin "model", verified like any
other. A model that fails (down, slow, garbage) costs its own proposals only.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ompilot.analysis import fileerrors, loopfacts
from ompilot.analysis.scan import ScanSettings, scan_source

from . import llm_prompt, patch
from .llm_answer import ModelAnswer, UnusableAnswer, check_directive, parse_answer
from .llm_client import LLMError, ModelClient
from .proposals import Edit, FileSuggestions, Proposal, Refusal

# reasons that say the loop is not worth asking about
_NOT_A_CANDIDATE = (loopfacts.InsideParallel, loopfacts.TooSmall, loopfacts.ParseFailure, loopfacts.RaceInPragma)


def candidate_verdicts(result: FileSuggestions) -> list[loopfacts.Verdict]:
    """Loops with no built-in proposal, no pragma of their own, not inside a
    parallel loop; those with only unproved obstacles first."""
    if result.report is None:
        return []
    taken = [(p.edits[0].start, _loop_end(result, p)) for p in result.proposals if p.kind in ("pragma", "region")]
    chosen = []
    for verdict in result.report.verdicts:
        loop = verdict.loop
        if verdict.parallel or verdict.existing or verdict.races or loop.kind != "for":
            continue
        if any(isinstance(r, _NOT_A_CANDIDATE) for r in verdict.reasons):
            continue
        if any(start <= loop.start_offset < end for start, end in taken):
            continue
        chosen.append(verdict)
    return sorted(chosen, key=lambda v: (any(r.proven for r in v.reasons), v.loop.line))


def _loop_end(result: FileSuggestions, proposal: Proposal) -> int:
    for verdict in result.report.verdicts:
        if verdict.loop.line == proposal.line:
            return verdict.loop.end_offset
    return proposal.edits[-1].end


def add_model_proposals(results: list[FileSuggestions], client: ModelClient,
                        settings: ScanSettings = ScanSettings()) -> list[str]:
    """Ask the model about every candidate loop; vetted proposals are appended
    to each file's proposals, refusals to its `rejected`. Returns error lines."""
    examples = llm_prompt.corpus_examples()
    jobs = []
    for result in results:
        for verdict in candidate_verdicts(result):
            question = llm_prompt.question_for(result.path, result.data, verdict)
            shots = llm_prompt.similar_examples(question.loop_text, examples)
            jobs.append((result, verdict, llm_prompt.messages_for(question, shots)))

    def ask(job) -> str | LLMError:
        try:
            return client.complete(job[2])
        except LLMError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, client.settings.concurrency)) as pool:
        answers = list(pool.map(ask, jobs))

    errors: list[str] = []
    for (result, verdict, _), text in zip(jobs, answers):
        if isinstance(text, LLMError):
            if str(text) not in errors:
                errors.append(str(text))
            continue
        outcome = vet(result, verdict, text, client.backend.name, settings)
        (result.proposals if outcome.verified is None else result.rejected).append(outcome)
    return [f"{e}; the built-in results are unaffected" for e in errors]


def vet(result: FileSuggestions, verdict: loopfacts.Verdict, text: str, model_name: str,
        settings: ScanSettings = ScanSettings()) -> Proposal:
    """A Proposal (verified None: to be verified) or a refused one (verified False)."""
    loop = verdict.loop
    refused = _refusal(result.path, loop.line, model_name)
    try:
        answer = parse_answer(text)
    except UnusableAnswer as exc:
        return refused("(unreadable answer)", f"the answer cannot be used: {exc}")
    if answer.directive is None:
        return refused("(no directive)", f"the model leaves it serial: {answer.reasoning or 'no reason given'}")
    try:
        check_directive(answer.directive)
    except UnusableAnswer as exc:
        return refused(answer.directive, f"refused before building: {exc}")
    proven = [r for r in verdict.reasons if r.proven]
    if proven and answer.rewritten_loop is None:
        return refused(answer.directive, f"refused before building: it contradicts what the analysis proved: {proven[0].text()}")
    edits = _edits(result, verdict, answer)
    if isinstance(edits, str):
        return refused(answer.directive, f"refused before building: {edits}")
    problem = _static_check(result.path, result.data, edits, loop.line, settings)
    if problem:
        return refused(answer.directive, f"refused before building: {problem}")
    explanation = [f"proposed by {model_name}: {answer.reasoning or 'no reason given'}"]
    explanation += [f"the analysis could not prove: {r.text()}" for r in verdict.reasons if not r.proven]
    kind = "rewrite" if answer.rewritten_loop else "pragma"
    return Proposal(file=result.path, line=loop.line, kind=kind, summary=answer.directive, edits=edits,
                    explanation=explanation, origin="model")


def _refusal(path: str, line: int, model_name: str):
    def refused(summary: str, why: str) -> Proposal:
        return Proposal(file=path, line=line, kind="pragma", summary=summary, edits=[], origin="model",
                        verified=False, evidence=Refusal(why, model_name))
    return refused


def _edits(result: FileSuggestions, verdict: loopfacts.Verdict, answer: ModelAnswer) -> list[Edit] | str:
    data, loop = result.data, verdict.loop
    start = patch.line_start(data, loop.start_offset)
    if data[start : loop.start_offset].strip():
        return "the loop does not start its own line, so a directive cannot go above it"
    if answer.rewritten_loop is None:
        return [patch.insertion_above(data, start, [answer.directive])]
    inside = [e for p in result.proposals for e in p.edits if start <= e.start < loop.end_offset]
    if inside:
        return "the rewrite would replace lines that other proposals change"
    indent = data[start : loop.start_offset].decode("utf-8", errors="replace")
    body = "\n".join(indent + line if line.strip() else line for line in _dedent(answer.rewritten_loop))
    newline = "\r\n" if b"\r\n" in data else "\n"
    text = f"{indent}{answer.directive}{newline}{body.strip(chr(10))}".replace("\n", newline)
    return [Edit(start, loop.end_offset, text.lstrip("\n") if not indent else text)]


def _dedent(text: str) -> list[str]:
    lines = text.strip("\n").splitlines()
    widths = [len(l) - len(l.lstrip()) for l in lines if l.strip()]
    cut = min(widths, default=0)
    return [l[cut:] for l in lines]


def _static_check(path: str, data: bytes, edits: list[Edit], line: int, settings: ScanSettings) -> str | None:
    patched = patch.apply_edits(data, edits)
    report = scan_source(path, patched, settings)
    for error in report.errors:
        if isinstance(error, fileerrors.CLANG_REJECTS):
            return error.message
    for verdict in report.verdicts:
        if verdict.races and verdict.loop.line in (line, line + 1):
            return f"the analysis proves it races: {verdict.races[0].text()}"
    return None
