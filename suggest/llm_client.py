"""Talking to a model: an OpenAI-compatible server or a local transformers model.

Both backends take chat messages and return the model's text. Around them:
a disk cache (keyed by model, messages and ompilot's version), a cap on the
calls of one run, retries with back-off for the failures worth retrying, and
a breaker that stops asking a server that is down, so a run never waits for
N time-outs. Every failure is an LLMError with a one-line message; the caller
keeps the built-in results.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import threading
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import platformdirs

DEFAULT_MAX_CALLS = 40
DEFAULT_TIMEOUT = 60.0
DEFAULT_CONCURRENCY = 4
RETRIES = 2  # after the first attempt
BACKOFF_SECONDS = 0.5  # doubled after each retry
MAX_NEW_TOKENS = 200  # the longest answer a local (hf:) model may give


class LLMError(Exception):
    """A model call failed; str() is one line for the user."""


@dataclass(frozen=True)
class LLMSettings:
    """What `--llm` and its options ask for."""

    model: str  # a server's model name, or hf:PATH for a local transformers model
    base_url: str | None = None  # default: OPENAI_BASE_URL, then the openai client's own
    api_key: str | None = None  # default: OPENAI_API_KEY
    timeout: float = DEFAULT_TIMEOUT
    max_calls: int = DEFAULT_MAX_CALLS
    concurrency: int = DEFAULT_CONCURRENCY
    cache_dir: Path | None = None  # default: the user's cache directory; see cache_directory()
    use_cache: bool = True
    no_code_upload: bool = False  # only hf: models and servers on this machine may see the code

    @property
    def local_model(self) -> str | None:
        return self.model[3:] if self.model.startswith("hf:") else None


class Backend(Protocol):
    name: str

    def complete(self, messages: list[dict[str, str]]) -> str: ...


# ------------------------------------------------------------------ backends


class OpenAIBackend:
    """Any server that speaks OpenAI's chat completions: vLLM, Ollama,
    llama.cpp's llama-server, OpenAI itself. JSON mode is asked for first; a
    server that rejects `response_format` is asked again without it."""

    def __init__(self, settings: LLMSettings):
        import openai

        self._openai = openai
        self.name = settings.model
        self.base_url = settings.base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = settings.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"  # local servers ignore it
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key, timeout=settings.timeout, max_retries=0)
        self._json_mode = True

    def complete(self, messages: list[dict[str, str]]) -> str:
        openai = self._openai
        extra = {"response_format": {"type": "json_object"}} if self._json_mode else {}
        try:
            response = self._client.chat.completions.create(
                model=self.name, messages=messages, temperature=0, **extra
            )
        except openai.BadRequestError as exc:
            # `extra`, not the flag: another thread may have switched it off meanwhile
            if not extra or "response_format" not in str(exc):
                raise
            self._json_mode = False
            response = self._client.chat.completions.create(model=self.name, messages=messages, temperature=0)
        choices = getattr(response, "choices", None)
        if not choices or choices[0].message is None:
            raise LLMError(f"model {self.name}: the server's answer has no message")
        return choices[0].message.content or ""


class TransformersBackend:
    """A causal language model saved on disk (`save_pretrained`), loaded offline."""

    def __init__(self, settings: LLMSettings):
        path = Path(settings.local_model or "")
        if not (path / "config.json").is_file():
            raise LLMError(f"hf:{path}: no config.json there; give the directory a model was saved to")
        try:
            import transformers
        except ImportError:
            raise LLMError("hf: models need transformers and torch: pip install 'ompilot[hf]'") from None
        self.name = f"hf:{path.resolve()}"
        self._tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        self._lock = threading.Lock()  # one generate() at a time: the model is not thread-safe

    def complete(self, messages: list[dict[str, str]]) -> str:
        tokenizer = self._tokenizer
        if getattr(tokenizer, "chat_template", None):
            prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            prompt = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant: "
        inputs = tokenizer(prompt, return_tensors="pt")
        limit = getattr(self._model.config, "max_position_embeddings", None)
        new_tokens = min(MAX_NEW_TOKENS, limit // 2) if limit else MAX_NEW_TOKENS
        if limit and inputs["input_ids"].shape[1] > limit - new_tokens:  # keep the question's end, where the loop is
            inputs = {k: v[:, -(limit - new_tokens):] for k, v in inputs.items()}  # prompt + answer must fit
        with self._lock:
            output = self._model.generate(
                **inputs, max_new_tokens=new_tokens, do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        return tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


# ------------------------------------------------------------------ the client


def ompilot_version() -> str:
    try:
        return version("ompilot")
    except PackageNotFoundError:
        return "unknown"


def cache_directory(settings: LLMSettings) -> Path:
    return settings.cache_dir or Path(platformdirs.user_cache_dir("ompilot")) / "llm"


class ModelClient:
    """One run's access to a model: cached, capped, retried, thread-safe."""

    def __init__(self, settings: LLMSettings, backend: Backend | None = None):
        check_upload_allowed(settings)
        self.settings = settings
        self.backend = backend or (TransformersBackend(settings) if settings.local_model else OpenAIBackend(settings))
        self.cache = cache_directory(settings) if settings.use_cache else None
        self.calls = 0  # requests sent (cache hits are free)
        self.cache_hits = 0
        self.broken: str | None = None  # set when the server is down: no further requests
        self._lock = threading.Lock()

    def complete(self, messages: list[dict[str, str]]) -> str:
        key = self._key(messages)
        cached = self._read_cache(key)
        if cached is not None:
            with self._lock:
                self.cache_hits += 1
            return cached
        with self._lock:
            if self.broken:
                raise LLMError(self.broken)
            if self.calls >= self.settings.max_calls:
                raise LLMError(f"the limit of {self.settings.max_calls} model calls per run is reached (--llm-max-calls)")
            self.calls += 1
        text = self._with_retries(messages)
        self._write_cache(key, text)
        return text

    def _with_retries(self, messages: list[dict[str, str]]) -> str:
        delay = BACKOFF_SECONDS
        for attempt in range(RETRIES + 1):
            try:
                return self.backend.complete(messages)
            except LLMError:
                raise
            except Exception as exc:  # the openai client's and transformers' errors
                problem, retry = _classify(exc, self.settings)
                if not retry or attempt == RETRIES:
                    if retry:  # down or too slow after every retry: stop asking
                        with self._lock:
                            self.broken = f"{problem} (no further model calls this run)"
                    raise LLMError(problem) from exc
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _key(self, messages: list[dict[str, str]]) -> str:
        blob = json.dumps([self.backend.name, messages, ompilot_version()], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _read_cache(self, key: str) -> str | None:
        if self.cache is None:
            return None
        try:
            return json.loads((self.cache / key[:2] / f"{key}.json").read_text())["text"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_cache(self, key: str, text: str) -> None:
        if self.cache is None:
            return
        folder = self.cache / key[:2]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            temporary = folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
            temporary.write_text(json.dumps({"model": self.backend.name, "text": text}))
            os.replace(temporary, folder / f"{key}.json")
        except OSError:
            pass  # a cache that cannot be written costs time, not results


def _classify(exc: Exception, settings: LLMSettings) -> tuple[str, bool]:
    """(one-line message, whether retrying may help)."""
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is a dependency
        return f"model call failed: {exc}", False
    where = f"model {settings.model}"
    # most specific first: the status errors are subclasses of APIStatusError
    known = (
        (openai.APITimeoutError, "no answer within {timeout:g} s (--llm-timeout)", True),
        (openai.APIConnectionError, "cannot reach the server ({exc}); is it running, and is --llm-base-url right?", True),
        (openai.RateLimitError, "rate limited by the server (HTTP 429)", True),
        (openai.InternalServerError, "the server failed (HTTP {status})", True),
        (openai.AuthenticationError, "the server refused the API key (set OPENAI_API_KEY)", False),
        (openai.NotFoundError, "the server does not know this model or endpoint (HTTP 404)", False),
        (openai.APIStatusError, "the server answered HTTP {status}", False),
    )
    for kind, template, retry in known:
        if isinstance(exc, kind):
            status = getattr(exc, "status_code", None)
            return f"{where}: " + template.format(timeout=settings.timeout, exc=exc, status=status), retry
    return f"{where}: {type(exc).__name__}: {exc}", False


def check_upload_allowed(settings: LLMSettings) -> None:
    """With no_code_upload, only a local model or a server on this machine."""
    if not settings.no_code_upload or settings.local_model:
        return
    url = settings.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise LLMError(
        f"--no-code-upload: {url} is not on this machine; use an hf: model or a server on localhost"
    )
