"""Fast syntactic layer: loops, OpenMP pragmas and parse health via tree-sitter.

Clang needs include paths and a file that compiles; tree-sitter needs neither,
so this layer still answers "where are the loops?" for broken or partial code,
for files without a compile database, and for loops hidden in macro bodies.

Positions are byte based: `column` is the 1-based byte column (as Clang
reports it), `start_byte`/`end_byte` index the `bytes` given to `find_loops`.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterator

import tree_sitter_c
import tree_sitter_cpp
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from ompilot.analysis.pragmas import PRAGMA_LINE, PRAGMA_OPERATOR_LINE, Directive
from ompilot.analysis.sources import CPP_EXTENSIONS

LANGUAGES = ("c", "cpp")

_LOOP_KINDS = {
    "for_statement": "for",
    "for_range_loop": "range-for",
    "while_statement": "while",
    "do_statement": "do",
}
_NAME_TYPES = {
    "identifier",
    "field_identifier",
    "qualified_identifier",
    "destructor_name",
    "operator_name",
    "operator_cast",
    "template_function",
}
_QUERY = """
[(for_statement) (while_statement) (do_statement)] @loop
(function_definition) @function
[(preproc_def) (preproc_function_def)] @macro
"""
# Loop keywords, for those that error recovery left outside any loop node.
_KEYWORD_QUERY = '["for" "while" "do"] @keyword'

_CPP_QUERY_EXTRA = """
(for_range_loop) @loop
(lambda_expression) @lambda
"""
# Wraps a macro body so tree-sitter parses it as statements.
_MACRO_PREFIX = b"void __ompilot_macro__(void) {\n"
_MACRO_SUFFIX = b"\n;}\n"
_LOOP_WORD = re.compile(rb"\b(?:for|while|do)\b")
_SPACE = re.compile(r"(?:\s|\\\r?\n)+")
_BATCH_BYTES = 16 * 1024


@dataclass(frozen=True)
class SyntaxLoop:
    kind: str  # "for" | "range-for" | "while" | "do"
    line: int  # 1-based line of the loop keyword
    column: int  # 1-based byte column of the keyword
    end_line: int
    start_byte: int  # byte offset of the keyword
    end_byte: int  # byte offset just past the loop statement (body included)
    depth: int  # enclosing loops within the same function (a lambda or macro restarts it)
    function: str | None  # enclosing function definition, if any
    header: str  # keyword .. closing `)` of the header, whitespace runs collapsed; "do" for do
    in_macro: bool  # True when the loop sits inside a #define body


# --------------------------------------------------------------------------
# Languages and parsing
# --------------------------------------------------------------------------

_CPP_HINTS = re.compile(
    rb"^\s*(?:class|namespace|template)\b"
    rb"|\bstd::"
    rb"|^\s*(?:public|private|protected)\s*:"
    rb"|^\s*#\s*include\s*<[a-z_]+>"
    rb"|\bnamespace\s+\w+\s*\{"
    rb"|\btemplate\s*<",
    re.M,
)


def language_for(path: str | Path, text: bytes | str | None = None) -> str:
    """Return "c" or "cpp" for a file; ambiguous extensions are decided by the text.

    `.h` (and unknown extensions) are C unless the text looks like C++; the text
    is read from `path` (first 64 KiB) when not given.
    """
    suffix = Path(path).suffix
    if suffix in CPP_EXTENSIONS or suffix.lower() in CPP_EXTENSIONS - {".C", ".H"}:
        return "cpp"
    if suffix == ".c":
        return "c"
    if text is None:
        text = _read_head(Path(path))
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogateescape")
    return "cpp" if _CPP_HINTS.search(text) else "c"


def _read_head(path: Path, size: int = 65536) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


@cache
def _language(language: str) -> Language:
    if language == "c":
        return Language(tree_sitter_c.language())
    if language == "cpp":
        return Language(tree_sitter_cpp.language())
    raise ValueError(f"unknown language {language!r}; expected one of {LANGUAGES}")


@cache
def _query(language: str) -> Query:
    text = _QUERY + (_CPP_QUERY_EXTRA if language == "cpp" else "")
    return Query(_language(language), text)


def parse(source: bytes, language: str) -> Tree:
    """Parse `source` with tree-sitter (a new Parser per call: parsers are not thread-safe)."""
    return Parser(_language(language)).parse(source)


def is_parse_clean(source: bytes, language: str) -> bool:
    """True when tree-sitter needed no error recovery (no ERROR or MISSING node)."""
    return not parse(source, language).root_node.has_error


# --------------------------------------------------------------------------
# Loops
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    """A loop or a scope found in the text, before depth/function are known."""

    start: int
    end: int
    role: str  # "loop" | "function" | "lambda" | "macro" | "outline" (a function found by _skeleton)
    kind: str = ""  # loop kind
    header_end: int = 0
    name: str | None = None
    in_macro: bool = False
    once: bool = False  # do-while(0): dropped in macros, where it is only an idiom


def find_loops(source: bytes, language: str) -> list[SyntaxLoop]:
    """All loops tree-sitter sees (error recovery included), sorted by start_byte.

    Tree-sitter's recovery from one error can turn the rest of a file into
    ERROR nodes, slowly. So larger files are parsed in batches of whole
    functions (cut where a bracket scan finds function ends); once a batch has
    errors, it and the rest of the file are parsed one function at a time.
    """
    if len(source) <= _BATCH_BYTES:
        root = parse(source, language).root_node
        if not root.has_error:
            return _resolve(_spans_of_tree(root, source, language, 0), source)
    skeleton = _skeleton(source)
    spans = list(skeleton.functions)
    careful = len(source) <= _BATCH_BYTES  # that parse just failed
    for batch in _batches(skeleton.segments, _BATCH_BYTES):
        batch_spans = None if careful else _spans_of_clean_batch(source, batch, language)
        if batch_spans is None:
            careful = True
            batch_spans = [span for segment in batch for span in _spans_of_segment(source, segment, language)]
        spans += batch_spans
    return _resolve(spans, source)


def _batches(segments: list[tuple[int, int]], size: int) -> Iterator[list[tuple[int, int]]]:
    """Consecutive segments grouped into batches of about `size` bytes."""
    batch: list[tuple[int, int]] = []
    for segment in segments:
        if batch and segment[1] - batch[0][0] > size:
            yield batch
            batch = []
        batch.append(segment)
    if batch:
        yield batch


def _spans_of_clean_batch(source: bytes, batch: list[tuple[int, int]], language: str) -> list[_Span] | None:
    """Spans of a batch parsed in one go, or None when that parse has errors."""
    start, end = batch[0][0], batch[-1][1]
    chunk = source[start:end]
    root = parse(chunk, language).root_node
    return None if root.has_error else _spans_of_tree(root, chunk, language, start)


def _spans_of_segment(source: bytes, segment: tuple[int, int], language: str) -> list[_Span]:
    chunk = source[segment[0] : segment[1]]
    return _spans_of_tree(parse(chunk, language).root_node, chunk, language, segment[0])


def _spans_of_tree(root: Node, buf: bytes, language: str, offset: int) -> list[_Span]:
    """Loops and scopes of the tree of `buf`, which starts at byte `offset` of the file."""
    captures = _captures(root, language)
    spans = list(_spans_from(captures, buf, offset, offset + len(buf)))
    spans += _macro_spans(captures.get("macro", []), language, offset)
    return spans


def _captures(root: Node, language: str) -> dict[str, list[Node]]:
    captures = QueryCursor(_query(language)).captures(root)
    if root.has_error:
        captures.update(QueryCursor(_keyword_query(language)).captures(root))
    return captures


@cache
def _keyword_query(language: str) -> Query:
    return Query(_language(language), _KEYWORD_QUERY)


def _spans_from(captures: dict[str, list[Node]], buf: bytes, offset: int, limit: int) -> Iterator[_Span]:
    """Loops and scopes of one tree; `offset` shifts positions from `buf` to the file."""

    def shift(pos: int) -> int:
        return min(offset + pos, limit)

    for node in captures.get("loop", []):
        kind = _LOOP_KINDS[node.type]
        once = kind == "do" and _runs_once(node)
        header_end = shift(_header_end(node, kind))
        yield _Span(shift(node.start_byte), shift(node.end_byte), "loop", kind, header_end, once=once)
    for node in captures.get("function", []):
        yield _Span(shift(node.start_byte), shift(node.end_byte), "function", name=_function_name(node))
    for node in captures.get("lambda", []):
        yield _Span(shift(node.start_byte), shift(node.end_byte), "lambda")
    for start, end, kind, header_end in _orphan_loops(captures.get("keyword", []), buf):
        yield _Span(shift(start), shift(end), "loop", kind, shift(header_end))


def _runs_once(node: Node) -> bool:
    """`do { ... } while (0)`: the statement-macro idiom, not a loop."""
    condition = node.child_by_field_name("condition")
    text = (condition.text or b"") if condition is not None else b""
    return text.strip(b"() \t\r\n\\") in (b"0", b"false")


def _header_end(node: Node, kind: str) -> int:
    """Byte just past the `)` closing the loop header (the keyword for do)."""
    if kind == "do":
        return node.children[0].end_byte
    if kind == "while":
        condition = node.child_by_field_name("condition")
        return condition.end_byte if condition is not None else node.children[0].end_byte
    body = node.child_by_field_name("body")
    end = node.children[0].end_byte
    for child in node.children:
        if body is not None and child.start_byte >= body.start_byte and child.end_byte > child.start_byte:
            break
        if child.type == ")":
            end = child.end_byte
    return end


def _function_name(node: Node) -> str | None:
    """Name of a function_definition, walking through pointer/reference/paren declarators."""
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:
        if declarator.type in _NAME_TYPES:
            return _clean_name(_text(declarator))
        inner = declarator.child_by_field_name("declarator")
        if inner is None:
            inner = next(iter(declarator.named_children), None)
        declarator = inner
    return None


def _clean_name(text: str) -> str | None:
    """Whitespace-free name; a misparse around an unknown macro may leave the
    return type in the declarator (`T name`): keep the last word."""
    words = _SPACE.sub(" ", text).strip().split(" ")
    if "operator" in text:
        return "".join(words) or None
    return words[-1] or None


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _macro_spans(macros: list[Node], language: str, offset: int) -> list[_Span]:
    """Loops inside #define bodies: tree-sitter keeps those as opaque text, so
    each body holding a loop keyword is parsed again wrapped in a function."""
    spans: list[_Span] = []
    for node in macros:
        value = node.child_by_field_name("value")
        if value is None or not _LOOP_WORD.search(value.text or b""):
            continue
        spans.append(_Span(offset + node.start_byte, offset + node.end_byte, "macro"))
        # `##` and `#x` are not C; same-length stand-ins keep the offsets right.
        body = (value.text or b"").replace(b"##", b"__").replace(b"#", b" ")
        wrapped = _MACRO_PREFIX + body + _MACRO_SUFFIX
        shift = offset + value.start_byte - len(_MACRO_PREFIX)
        captures = _captures(parse(wrapped, language).root_node, language)
        for span in _spans_from(captures, wrapped, shift, offset + value.end_byte):
            if span.role == "loop" and not span.once:
                spans.append(_Span(span.start, span.end, "loop", span.kind, span.header_end, in_macro=True))
    return spans


def _resolve(spans: list[_Span], source: bytes) -> list[SyntaxLoop]:
    """Sweep spans in text order with a stack to get each loop's depth and function."""
    lines = _LineIndex(source)
    stack: list[_Span] = []
    loops: list[SyntaxLoop] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end, s.role != "loop")):
        # Spans recovered from broken code may overlap without nesting: drop
        # every finished span, not only the top ones.
        stack = [outer for outer in stack if outer.end > span.start]
        if span.role == "loop":
            loops.append(_make_loop(span, stack, source, lines))
        stack.append(span)
    return loops


def _make_loop(span: _Span, stack: list[_Span], source: bytes, lines: _LineIndex) -> SyntaxLoop:
    depth = 0
    for outer in reversed(stack):
        if outer.role in ("function", "lambda", "macro"):
            break
        depth += outer.role == "loop"
    function = _enclosing_function(stack)
    line, column = lines.position(span.start)
    end_line, _ = lines.position(max(span.start, span.end - 1))
    header = "do" if span.kind == "do" else _collapse(source[span.start : max(span.header_end, span.start)])
    return SyntaxLoop(
        kind=span.kind,
        line=line,
        column=column,
        end_line=end_line,
        start_byte=span.start,
        end_byte=span.end,
        depth=depth,
        function=function,
        header=header,
        in_macro=span.in_macro,
    )


def _enclosing_function(stack: list[_Span]) -> str | None:
    """Innermost named function (a lambda takes its enclosing function's name); a
    function from the parse tree beats one guessed by the bracket scan."""
    outline = None
    for outer in reversed(stack):
        if outer.role == "macro":
            break
        if outer.role == "function":
            return outer.name
        if outer.role == "outline" and outline is None:
            outline = outer.name
    return outline


def _collapse(raw: bytes) -> str:
    return _SPACE.sub(" ", raw.decode("utf-8", "replace")).strip()


class _LineIndex:
    """Byte offset -> (1-based line, 1-based byte column)."""

    def __init__(self, source: bytes) -> None:
        self._starts = [0] + [m.end() for m in re.finditer(rb"\n", source)]

    def position(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self._starts, offset) - 1
        return row + 1, offset - self._starts[row] + 1


# --------------------------------------------------------------------------
# Error recovery: loop keywords that tree-sitter left outside any loop node
# --------------------------------------------------------------------------

_TOKEN = re.compile(
    rb"""
    (?P<directive>^[ \t]*\#(?:[^\n\\]|\\.)*)
  | (?P<space>(?:[ \t\r\f\v]|\\\r?\n)+|\n)
  | (?P<comment>//(?:[^\n\\]|\\.)*|/\*.*?(?:\*/|\Z))
  | (?P<string>(?:[LuU]|u8)?"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<number>\.?\d(?:[eEpP][+-]|[\w.'])*)
  | (?P<punct>.)
    """,
    re.X | re.S | re.M,
)
_SKIPPED_TOKENS = ("space", "comment", "directive")
_SCAN_BUDGET = 20_000  # tokens one recovered loop may span: bounds the cost on broken files
_OPEN = b"([{"
_CLOSE = b")]}"


def _tokens(buf: bytes, pos: int) -> Iterator[tuple[bytes, int, int]]:
    """Significant tokens (text, start, end) from `pos`: no spaces, comments or directives."""
    for match in _TOKEN.finditer(buf, pos):
        if match.lastgroup not in _SKIPPED_TOKENS:
            yield match.group(), match.start(), match.end()


def _budgeted(buf: bytes, pos: int) -> Iterator[tuple[bytes, int, int]]:
    """Tokens for scanning one recovered loop, at most _SCAN_BUDGET of them."""
    return itertools.islice(_tokens(buf, pos), _SCAN_BUDGET)


def _orphan_loops(keywords: list[Node], buf: bytes) -> list[tuple[int, int, str, int]]:
    """(start, end, kind, header_end) for loop keywords that are not part of a loop node.

    Only called on trees with errors, which are small here (one function or a
    batch), so Node.parent (a walk down from the root) stays cheap.
    """
    found: list[tuple[int, int, str, int]] = []
    consumed: set[int] = set()  # `while` keywords already used as a do-while tail
    for keyword in sorted(keywords, key=lambda n: n.start_byte):
        start = keyword.start_byte
        parent = keyword.parent
        if parent is not None and parent.type in _LOOP_KINDS:
            continue
        if start in consumed or _on_directive_line(buf, start):
            continue
        scanned = _scan_loop(buf, start, keyword.type, consumed)
        if scanned is not None:
            found.append((start, scanned[0], keyword.type, scanned[1]))
    return found


def _on_directive_line(buf: bytes, pos: int) -> bool:
    line_start = buf.rfind(b"\n", 0, pos) + 1
    return buf[line_start:pos].lstrip().startswith(b"#")


def _scan_loop(buf: bytes, start: int, keyword: str, consumed: set[int]) -> tuple[int, int] | None:
    """(end, header_end) of a loop written at `start`, by a bracket-matching token scan."""
    tokens = _budgeted(buf, start)
    next(tokens, None)  # the keyword itself
    if keyword == "do":
        header_end = start + 2
        end = _scan_statement(tokens, header_end)
        return _scan_do_tail(buf, end, consumed), header_end
    first = next(tokens, None)
    if first is None or first[0] != b"(":
        return None
    header_end = _scan_header(tokens, first[2], keyword)
    return _scan_statement(_budgeted(buf, header_end), header_end), header_end


def _scan_header(tokens: Iterator[tuple[bytes, int, int]], pos: int, keyword: str) -> int:
    """End of the header `(...)`; stops early at a brace or stray `;` (broken header)."""
    depth, semicolons = 1, 0
    for text, _start, end in tokens:
        if text in (b"{", b"}") and depth == 1:
            return pos
        if text == b";" and depth == 1:
            semicolons += 1
            if keyword != "for" or semicolons > 2:
                return pos
        if text in (b"(", b"["):
            depth += 1
        elif text in (b")", b"]"):
            depth -= 1
        pos = end
        if depth == 0:
            return end
    return pos


def _scan_statement(tokens: Iterator[tuple[bytes, int, int]], pos: int) -> int:
    """End of the statement that follows: a balanced `{...}`, else up to `;` at depth 0."""
    depth = 0
    block = None  # decided by the first token
    for text, _start, end in tokens:
        if block is None:
            block = text == b"{"
        if len(text) == 1 and text in _OPEN:
            depth += 1
        elif len(text) == 1 and text in _CLOSE:
            if depth == 0:
                return pos  # closes an enclosing block: the body ended before it
            depth -= 1
            if depth == 0 and block:
                return end
        elif text == b";" and depth == 0:
            return end
        pos = end
    return pos


def _scan_do_tail(buf: bytes, pos: int, consumed: set[int]) -> int:
    """Extend a do body over its `while (...);` tail and mark that `while` as used."""
    tokens = _budgeted(buf, pos)
    first = next(tokens, None)
    if first is None or first[0] != b"while":
        return pos
    consumed.add(first[1])
    opening = next(tokens, None)
    if opening is None or opening[0] != b"(":
        return first[2]
    end = _scan_header(tokens, opening[2], "while")
    semicolon = next(_budgeted(buf, end), None)
    return semicolon[2] if semicolon is not None and semicolon[0] == b";" else end


# --------------------------------------------------------------------------
# Broken files: function bodies by bracket matching
# --------------------------------------------------------------------------

_NOT_FUNCTIONS = {
    b"if", b"for", b"while", b"switch", b"catch", b"return", b"sizeof", b"alignof",
    b"decltype", b"static_assert", b"_Static_assert", b"typeof", b"__typeof__",
}  # fmt: skip
# Words whose `(...)` may sit between a signature and its body: keep the candidate.
_SIGNATURE_EXTRAS = {b"__attribute__", b"__declspec", b"noexcept", b"throw", b"alignas", b"__asm__", b"asm"}
_BREAKS_SIGNATURE = {b";", b"=", b","}
# Only what the bracket scan needs: words and `(){};=,:`; spaces, comments,
# directives and other punctuation are skipped inside the regex (fast).
_SKELETON_TOKEN = re.compile(
    rb"""
    (?: ^[ \t]*\#(?:[^\n\\]|\\.)*
      | //(?:[^\n\\]|\\.)*
      | /\*.*?(?:\*/|\Z)
      | [^A-Za-z_"'(){};=,:/\#\n]+
      | [/\#\n]
    )*
    (?: (?P<string>"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)
      | (?P<word>[A-Za-z_]\w*)
      | (?P<punct>[(){};=,:])
    )
    """,
    re.X | re.S | re.M,
)
# Inside a function body only brackets matter: words are skipped too (faster).
_BODY_TOKEN = re.compile(
    rb"""
    (?: ^[ \t]*\#(?:[^\n\\]|\\.)*
      | //(?:[^\n\\]|\\.)*
      | /\*.*?(?:\*/|\Z)
      | [^"'(){}/\#\n]+
      | [/\#\n]
    )*
    (?: (?P<string>"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)
      | (?P<punct>[(){}])
    )
    """,
    re.X | re.S | re.M,
)


@dataclass(frozen=True)
class _Skeleton:
    functions: list[_Span]  # function bodies, named
    segments: list[tuple[int, int]]  # the file cut after each function body outside classes


def _skeleton(buf: bytes) -> _Skeleton:
    """Function bodies `name(...) ... {...}` outside any function, by bracket matching.

    Tree-sitter's error recovery often swallows whole functions into ERROR nodes
    and loses their names; brace matching does not.
    """
    scan = _SkeletonScan(buf)
    pos = 0
    while True:
        match = (_BODY_TOKEN if scan.inside else _SKELETON_TOKEN).match(buf, pos)
        if match is None:
            return scan.result()
        pos = match.end()
        kind = match.lastgroup
        if kind == "word":
            scan.word(match.start(kind), pos)
        elif kind == "punct":
            scan.punct(match.group(kind), pos)
        elif scan.name is not None and scan.buf[scan.name[0] : scan.name[1]] == b"extern":
            scan.in_namespace_head = True  # extern "C" { ... } holds declarations like a namespace


class _SkeletonScan:
    """State of the bracket scan; one method per kind of token."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.functions: list[_Span] = []
        self.cuts = [0]
        # Open brackets: "(" or, per `{`, (start, name) when it opens a function body,
        # "namespace" for namespace / extern "C" bodies, None for any other.
        self.stack: list[str | tuple[int, bytes] | None] = []
        self.parens = 0  # open `(` on top of the stack
        self.name: tuple[int, int] | None = None  # span of the latest word outside parentheses
        self.candidate: tuple[int, bytes] | None = None  # `name(...)` seen, body may follow
        self.initializers = False  # inside `) : a(x), b{y}` of a constructor
        self.last_word = False  # previous token was a word
        self.inside = False  # within a function body: only brackets matter there
        self.in_namespace_head = False  # between `namespace` and its `{`

    def word(self, start: int, end: int) -> None:
        if not self.parens and not self.inside:
            self.name = (start, end)
            if self.buf[start:end] == b"namespace":  # `namespace std _GLIBCXX_VISIBILITY(default) {`
                self.in_namespace_head = True
        self.last_word = True

    def punct(self, text: bytes, end: int) -> None:
        if text == b"(":
            self.open_paren()
        elif text == b")":
            if self.parens:
                self.parens -= 1
                self.stack.pop()
        elif text == b"{":
            self.open_brace()
        elif text == b"}":
            self.close_brace(end)
        elif self.parens or self.inside:
            pass
        elif text == b":":
            self.colon(end)
        elif not (self.initializers and text == b","):
            self.reset()  # ; = ,
        self.last_word = False

    def open_paren(self) -> None:
        if not self.parens and not self.inside and not self.initializers and self.name is not None:
            word = self.buf[self.name[0] : self.name[1]]
            if word in _NOT_FUNCTIONS:
                self.candidate = None
            elif word not in _SIGNATURE_EXTRAS:
                self.candidate = _qualified_name(self.buf, *self.name)
        self.name = None
        self.parens += 1
        self.stack.append("(")

    def colon(self, end: int) -> None:
        """A lone `:` after a signature starts a constructor's initializer list."""
        double = self.buf[end - 2 : end] == b"::" or self.buf[end : end + 1] == b":"
        if not double and self.candidate is not None:
            self.initializers = True

    def open_brace(self) -> None:
        brace_init = self.initializers and self.last_word
        opens = (
            self.candidate is not None
            and not self.parens
            and not self.inside
            and not brace_init
            and not self.in_namespace_head
        )
        self.stack.append(self.candidate if opens else "namespace" if self.in_namespace_head else None)
        self.parens = 0
        if opens:
            self.inside = True
        if not brace_init:
            self.reset()

    def close_brace(self, end: int) -> None:
        while self.parens:  # a `(` left open by broken code
            self.parens -= 1
            self.stack.pop()
        opened = self.stack.pop() if self.stack else None
        if isinstance(opened, tuple):
            self.inside = False
            self.functions.append(_function_span(opened, end))
            if all(entry == "namespace" for entry in self.stack):
                self.cuts.append(end)  # not inside a class body: the rest parses on its own
        self.parens = _open_parens(self.stack)
        if not self.initializers:
            self.reset()

    def reset(self) -> None:
        self.name = self.candidate = None
        self.initializers = self.in_namespace_head = False

    def result(self) -> _Skeleton:
        open_bodies = [entry for entry in self.stack if isinstance(entry, tuple)]
        functions = self.functions + [_function_span(opened, len(self.buf)) for opened in open_bodies]
        cuts = self.cuts + [len(self.buf)]
        return _Skeleton(functions, [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a])


def _open_parens(stack: list) -> int:
    """`(` entries on top of the stack (a `{` inside parentheses may just have closed)."""
    count = 0
    for entry in reversed(stack):
        if entry != "(":
            break
        count += 1
    return count


_QUALIFIED_TAIL = re.compile(rb"(?:[A-Za-z_]\w*\s*::\s*)*~?\s*$")


def _qualified_name(buf: bytes, start: int, end: int) -> tuple[int, bytes]:
    """The word at start..end with any `A::B::` / `~` written right before it."""
    before = buf[max(0, start - 64) : start].rstrip()
    if not before.endswith((b":", b"~")):
        return start, buf[start:end]
    window = max(0, start - 256)
    prefix = _QUALIFIED_TAIL.search(buf, window, start)
    begin = prefix.start() if prefix is not None else start
    return begin, re.sub(rb"\s+", b"", buf[begin:end])


def _function_span(opened: tuple[int, bytes], end: int) -> _Span:
    return _Span(opened[0], end, "outline", name=opened[1].decode("utf-8", "replace"))


# --------------------------------------------------------------------------
# OpenMP pragmas
# --------------------------------------------------------------------------

_BLOCK_COMMENT = re.compile(
    rb'"(?:[^"\\\n]|\\.)*"|//(?:[^\n\\]|\\.)*|(?P<block>/\*.*?(?:\*/|\Z))',
    re.S,
)


def find_omp_pragmas(source: bytes) -> list[tuple[int, str]]:
    """(1-based line, text) of each `#pragma omp` line, continuations joined with one space.

    Pragmas inside block comments are skipped; `#if 0` regions are not evaluated.
    """
    if b"pragma" not in source and b"_Pragma" not in source:
        return []
    comments = _block_comment_spans(source)
    starts = [start for start, _ in comments]
    lines = _LineIndex(source)
    found: list[tuple[int, str]] = []
    for match in PRAGMA_LINE.finditer(source):
        at = match.start()
        index = bisect.bisect_right(starts, at) - 1
        if index >= 0 and comments[index][0] <= at < comments[index][1]:
            continue
        found.append((lines.position(at)[0], _joined_line(source, at)))
    for match in PRAGMA_OPERATOR_LINE.finditer(source):  # _Pragma("omp ...") reads as #pragma omp ...
        at = match.start()
        index = bisect.bisect_right(starts, at) - 1
        if index >= 0 and comments[index][0] <= at < comments[index][1]:
            continue
        line_end = source.find(b"\n", at)
        text = source[at : len(source) if line_end < 0 else line_end].decode("utf-8", "replace")
        found.append((lines.position(at)[0], Directive.parse(text).render()))
    return sorted(found)


def _block_comment_spans(source: bytes) -> list[tuple[int, int]]:
    if b"/*" not in source:
        return []
    return [m.span() for m in _BLOCK_COMMENT.finditer(source) if m.lastgroup == "block"]


def _joined_line(source: bytes, start: int) -> str:
    """The logical line at `start`: backslash continuations joined with single spaces."""
    parts: list[str] = []
    pos = start
    while True:
        end = source.find(b"\n", pos)
        end = len(source) if end < 0 else end
        line = source[pos:end].decode("utf-8", "replace").rstrip("\r").rstrip()
        if line.endswith("\\") and end < len(source):
            parts.append(line[:-1].strip())
            pos = end + 1
            continue
        parts.append(line.strip())
        return " ".join(part for part in parts if part)
