"""The `--llm hf:PATH` path end to end, with a real (tiny, untrained) transformers model.

The module builds its own model: a word-level tokenizer trained in-process on a
few hundred words of C and JSON, and a one-layer GPT-2 with random weights
(fixed seed), both saved with `save_pretrained`. Nothing is downloaded: the hub
is switched off, and the backend loads with local_files_only.

Such a model answers garbage, which is the point: the garbage must be read and
refused as a model proposal for the loop it was asked about, while the
built-in proposals come out unchanged. Then: a second identical run is served
from the on-disk answer cache, and an `hf:` directory without a model is a
usage error.
"""

from __future__ import annotations

import json
import textwrap

import pytest
import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from ompilot.cli.main import main

PROGRAM = textwrap.dedent(
    """\
    #include <stdio.h>
    #include <stdlib.h>

    /* idx is a permutation, which only the data shows: the analysis cannot prove it */
    void scatter(double *a, const int *idx, int n) {
        for (int i = 0; i < n; i++)
            a[idx[i]] = i * 0.5;
    }

    int main(void) {
        int n = 1000;
        double *a = malloc(n * sizeof *a);
        int *idx = malloc(n * sizeof *idx);
        for (int i = 0; i < n; i++)
            idx[i] = (i * 7) % n;
        scatter(a, idx, n);
        double s = 0.0;
        for (int i = 0; i < n; i++)
            s += a[i] * (i + 1);
        printf("%.3f\\n", s);
        free(a);
        free(idx);
        return 0;
    }
    """
)


def line_of(marker: str) -> int:
    [number] = [n for n, line in enumerate(PROGRAM.splitlines(), 1) if marker in line]
    return number


SCATTER_LINE = line_of("a[idx[i]] = i * 0.5") - 1  # the `for` above it
FILL_LINE = line_of("idx[i] = (i * 7) % n") - 1
SUM_LINE = line_of("s += a[i] * (i + 1)") - 1

# what the tokenizer is trained on: C code and answers in the shape the prompt asks for
TRAINING_TEXT = PROGRAM + "\n".join(
    json.dumps({"directive": directive, "rewritten_loop": None, "reasoning": reasoning})
    for directive, reasoning in [
        ("#pragma omp parallel for", "every iteration writes its own element of the array"),
        ("#pragma omp parallel for reduction(+: s)", "s is only updated with += so a reduction is safe"),
        (None, "each iteration reads the element the previous iteration wrote"),
        ("#pragma omp parallel for private(t)", "t is assigned before it is read in every iteration"),
    ]
) + """
void running(double *a, int n) { for (int i = 1; i < n; i++) a[i] = a[i - 1] + 1; }
double total(const double *a, int n) { double s = 0.0; for (int i = 0; i < n; i++) s += a[i]; return s; }
static void scale(double *restrict out, const double *restrict in, int n, double k) {
    for (int j = 0; j < n; j++) out[j] = k * in[j];
}
The analysis proved: no two iterations write the same memory. The analysis could not prove:
the writes through idx[i] may overlap. Answer with the JSON object only.
"""

N_POSITIONS = 512  # far fewer tokens than the few-shot prompt: the backend must cut it


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tokenizer and a GPT-2 of one layer, saved to disk the way a user's model would be."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model; leave the machine's other cores alone
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
        tokenizer.train_from_iterator(
            TRAINING_TEXT.splitlines(), trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[EOS]"])
        )
        fast = transformers.PreTrainedTokenizerFast(
            tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
        )
        assert 60 < len(fast) < 1000 and not fast.chat_template  # the plain "role: content" prompt is used
        torch.manual_seed(0)
        config = transformers.GPT2Config(
            vocab_size=len(fast), n_positions=N_POSITIONS, n_embd=32, n_layer=1, n_head=2,
            bos_token_id=fast.eos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
        )
        path = tmp_path_factory.mktemp("llm") / "tiny-model"
        fast.save_pretrained(path)
        transformers.GPT2LMHeadModel(config).save_pretrained(path)
        assert (path / "config.json").is_file() and (path / "tokenizer.json").is_file()
        yield path
    torch.set_num_threads(threads)


@pytest.fixture
def program(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # ModelClient's answer cache
    monkeypatch.delenv("OMPILOT_NO_CODE_UPLOAD", raising=False)
    path = tmp_path / "scatter.c"
    path.write_text(PROGRAM)
    return path


@pytest.fixture
def generate_calls(monkeypatch):
    """Every generate() of a GPT-2 model: (prompt tokens, max_new_tokens)."""
    calls: list[tuple[int, int]] = []
    original = transformers.GPT2LMHeadModel.generate

    def spy(self, *args, **kwargs):
        calls.append((kwargs["input_ids"].shape[1], kwargs["max_new_tokens"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(transformers.GPT2LMHeadModel, "generate", spy)
    return calls


def suggest_json(capsys, program, model_dir) -> tuple[int, dict]:
    code = main(["suggest", str(program), "--llm", f"hf:{model_dir}", "--format", "json", "--no-verify"])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    return code, json.loads(captured.out)


REFUSALS = (
    "the answer cannot be used",
    "refused before building",
    "the model leaves it serial",
    "model proposals are kept only when verified",
)


def test_garbage_from_a_local_model_is_refused_and_the_builtin_results_stay(capsys, program, model_dir, generate_calls):
    code, output = suggest_json(capsys, program, model_dir)

    assert code == 1  # the built-in proposals are findings
    assert output["errors"] == []  # the model ran: no failed call, no "built-in results are unaffected"
    [asked] = [r for r in output["rejected"] if r["origin"] == "model" and r["line"] == SCATTER_LINE]
    assert asked["file"] == str(program)
    assert asked["verified"] is False and asked["edits"] == []
    message = asked["evidence"]["message"]
    assert message.startswith(REFUSALS), message
    assert asked["evidence"]["stage"] in ("model", "setup")
    if asked["evidence"]["stage"] == "model":
        assert asked["evidence"]["model"] == f"hf:{model_dir.resolve()}"

    # one question (the scatter loop), cut so that prompt and answer fit the model's 512 positions
    assert len(generate_calls) == 1
    [(prompt_tokens, new_tokens)] = generate_calls
    assert 0 < new_tokens and prompt_tokens + new_tokens <= N_POSITIONS

    builtin = {r["line"]: r for r in output["proposals"]}
    assert set(builtin) == {FILL_LINE, SUM_LINE}
    assert all(r["origin"] == "analysis" for r in builtin.values())
    assert builtin[FILL_LINE]["directive"] == "#pragma omp parallel for"
    assert builtin[SUM_LINE]["directive"] == "#pragma omp parallel for reduction(+: s)"


def test_the_same_question_again_is_answered_from_the_cache(capsys, program, model_dir, generate_calls, tmp_path):
    _, first = suggest_json(capsys, program, model_dir)
    assert len(generate_calls) == 1
    assert list((tmp_path / "cache" / "ompilot" / "llm").glob("*/*.json"))

    _, second = suggest_json(capsys, program, model_dir)
    assert len(generate_calls) == 1  # no call to the model the second time
    assert second == first


def test_a_directory_without_a_model_is_a_usage_error(capsys, program, tmp_path):
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    (empty / "tokenizer.json").write_text("{}")

    code = main(["suggest", str(program), "--llm", f"hf:{empty}", "--format", "json", "--no-verify"])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    assert str(empty) in line and "config.json" in line
