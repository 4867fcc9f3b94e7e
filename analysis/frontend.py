"""The one module that talks to libclang: cursors in, `ir` nodes out.

The analysis parse runs WITHOUT -fopenmp on purpose: with it, Clang wraps the
loop under a `#pragma omp` in a CapturedStmt whose body libclang does not
visit, so those loops would vanish. `_OPENMP` is defined by hand instead, so
`#ifdef _OPENMP` code reads as in a parallel build, and existing pragmas are
read from the text (pragmas.py). `check_openmp_syntax` parses again with
-fopenmp, only for files that have pragmas, to report Clang's own errors on them.
Without -fopenmp Clang's <omp.h> does not parse with _OPENMP defined, so the
analysis parse finds ompilot's own omp.h first (include/omp.h), which wraps it.
"""

from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path

import clang.cindex as ci

from . import ir, memberwrites, sources

K = ci.CursorKind
_OPENMP_DEFINE = "-D_OPENMP=202411"
#: holds ompilot's omp.h, searched before the system directories (not before -I).
_OMP_SHIM_DIR = str(Path(__file__).resolve().parent / "include")

_BINARY_OPS = {
    3: "*", 4: "/", 5: "%", 6: "+", 7: "-", 8: "<<", 9: ">>", 10: "<=>", 11: "<",
    12: ">", 13: "<=", 14: ">=", 15: "==", 16: "!=", 17: "&", 18: "^", 19: "|",
    20: "&&", 21: "||", 22: "=", 23: "*=", 24: "/=", 25: "%=", 26: "+=", 27: "-=",
    28: "<<=", 29: ">>=", 30: "&=", 31: "^=", 32: "|=", 33: ",",
}  # fmt: skip
_UNARY_OPS = {
    1: "post++", 2: "post--", 3: "++", 4: "--", 5: "&", 6: "*", 7: "+", 8: "-",
    9: "~", 10: "!",
}  # fmt: skip
_ASSIGN_OPS = {"=", "*=", "/=", "%=", "+=", "-=", "<<=", ">>=", "&=", "^=", "|="}
_PASS_THROUGH = {
    K.UNEXPOSED_EXPR, K.PAREN_EXPR, K.CSTYLE_CAST_EXPR, K.CXX_STATIC_CAST_EXPR,
    K.CXX_FUNCTIONAL_CAST_EXPR, K.CXX_CONST_CAST_EXPR, K.CXX_REINTERPRET_CAST_EXPR,
}  # fmt: skip
_CASTS = {
    K.CSTYLE_CAST_EXPR, K.CXX_STATIC_CAST_EXPR, K.CXX_FUNCTIONAL_CAST_EXPR, K.CXX_CONST_CAST_EXPR,
    K.CXX_REINTERPRET_CAST_EXPR,
}  # fmt: skip
#: expressions whose type the analysis reads (integer members, stored types)
_TYPED_KINDS = {K.DECL_REF_EXPR, K.ARRAY_SUBSCRIPT_EXPR, K.MEMBER_REF_EXPR, K.UNARY_OPERATOR, K.BINARY_OPERATOR}
_FUNCTION_KINDS = {K.FUNCTION_DECL, K.CXX_METHOD, K.FUNCTION_TEMPLATE, K.CONSTRUCTOR, K.DESTRUCTOR}
_SCOPE_KINDS = {
    K.NAMESPACE, K.CLASS_DECL, K.STRUCT_DECL, K.CLASS_TEMPLATE, K.LINKAGE_SPEC,
    K.UNEXPOSED_DECL,
}  # fmt: skip
_NUMBER_TYPES = {
    ci.TypeKind.BOOL, ci.TypeKind.CHAR_U, ci.TypeKind.UCHAR, ci.TypeKind.USHORT,
    ci.TypeKind.UINT, ci.TypeKind.ULONG, ci.TypeKind.ULONGLONG, ci.TypeKind.CHAR_S,
    ci.TypeKind.SCHAR, ci.TypeKind.SHORT, ci.TypeKind.INT, ci.TypeKind.LONG,
    ci.TypeKind.LONGLONG, ci.TypeKind.FLOAT, ci.TypeKind.DOUBLE, ci.TypeKind.LONGDOUBLE,
    ci.TypeKind.ENUM,
}  # fmt: skip
_FLOAT_TYPES = {ci.TypeKind.FLOAT, ci.TypeKind.DOUBLE, ci.TypeKind.LONGDOUBLE}
_ARRAY_TYPES = {
    ci.TypeKind.CONSTANTARRAY, ci.TypeKind.INCOMPLETEARRAY, ci.TypeKind.VARIABLEARRAY,
    ci.TypeKind.DEPENDENTSIZEDARRAY,
}  # fmt: skip
_CONTAINERS = ("std::vector<", "std::array<", "vector<", "array<", "std::__1::vector<")


def _rows_are_pointers(canonical, element) -> bool:
    """Pointer to pointer, or array of pointers: indexing twice goes through a
    loaded row pointer, and two rows may be the same memory."""
    if canonical.kind == ci.TypeKind.POINTER:
        return canonical.get_pointee().get_canonical().kind == ci.TypeKind.POINTER
    return element.kind == ci.TypeKind.POINTER and element is not canonical


_BRACKET_QUALIFIERS = {"static", "const", "volatile", "restrict", "__restrict", "__restrict__"}


def _array_parameter_is_restrict(type_spelling: str) -> bool:
    """`double A[restrict n][m]` declares `double (*restrict A)[m]`.

    libclang reports an array parameter by its written array type, and has no
    call for the qualifiers C99 allows inside its first brackets; Clang's
    printing of the type (typedefs and macros resolved) shows them there.
    """
    start = type_spelling.find("[")
    end = type_spelling.find("]", start)
    if start < 0 or end < 0:
        return False
    words = type_spelling[start + 1 : end].split()
    qualifiers = []
    for word in words:
        if word not in _BRACKET_QUALIFIERS:
            break
        qualifiers.append(word)
    return any(q.startswith(("restrict", "__restrict")) for q in qualifiers)


class FrontendError(RuntimeError):
    """libclang itself failed (not a parse error in the user's code)."""


@cache
def _lib():
    """libclang entry points the Python bindings of the wheel do not wrap."""
    lib = ci.conf.lib
    for name, args, res in (
        ("clang_getCursorBinaryOperatorKind", [ci.Cursor], ctypes.c_int),
        ("clang_getCursorUnaryOperatorKind", [ci.Cursor], ctypes.c_int),
        ("clang_Location_isFromMainFile", [ci.SourceLocation], ctypes.c_int),
        ("clang_Cursor_Evaluate", [ci.Cursor], ctypes.c_void_p),
        ("clang_EvalResult_getKind", [ctypes.c_void_p], ctypes.c_int),
        ("clang_EvalResult_getAsLongLong", [ctypes.c_void_p], ctypes.c_longlong),
        ("clang_EvalResult_getAsDouble", [ctypes.c_void_p], ctypes.c_double),
        ("clang_EvalResult_dispose", [ctypes.c_void_p], None),
    ):
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    return lib


@cache
def _is_expr(kind: ci.CursorKind) -> bool:
    return kind.is_expression()


@cache
def _is_stmt(kind: ci.CursorKind) -> bool:
    return kind.is_statement()


@cache
def _index() -> ci.Index:
    return ci.Index.create()


def parse(path: str | Path, flags: list[str], data: bytes | None = None) -> ir.TranslationUnit:
    """Parse one file. Clang errors are kept in `errors`, never raised."""
    path = str(path)
    if data is None:
        data = Path(path).read_bytes()
    args = [a for a in flags if a not in ("-fopenmp", "-fopenmp=libomp")] + [_OPENMP_DEFINE, "-isystem", _OMP_SHIM_DIR]
    kind = sources.source_kind(path)
    if kind is not None and kind.header and "-x" not in args:  # Clang does not know .ipp, .tpp, .inl ...
        args = ["-x", "c-header" if kind.language == "c" else "c++-header", *args]
    try:
        tu = _index().parse(
            path,
            args=args,
            unsaved_files=[(path, data.decode("utf-8", errors="surrogateescape"))]
            if _is_utf8(data)
            else None,
            options=ci.TranslationUnit.PARSE_INCOMPLETE,
        )
    except ci.TranslationUnitLoadError as exc:
        raise FrontendError(f"{path}: libclang could not load the file ({exc})") from exc
    unit = _Converter(tu, path, data).convert()
    unit.strict_aliasing = strict_aliasing(flags)
    return unit


_ALIAS_KINDS = {
    ci.TypeKind.CHAR_U: "char", ci.TypeKind.UCHAR: "char", ci.TypeKind.CHAR_S: "char",
    ci.TypeKind.SCHAR: "char", ci.TypeKind.BOOL: "bool",
    # a signed type and its unsigned variant may alias: one class each
    ci.TypeKind.SHORT: "short", ci.TypeKind.USHORT: "short",
    ci.TypeKind.INT: "int", ci.TypeKind.UINT: "int",
    ci.TypeKind.LONG: "long", ci.TypeKind.ULONG: "long",
    ci.TypeKind.LONGLONG: "long long", ci.TypeKind.ULONGLONG: "long long",
    ci.TypeKind.INT128: "__int128", ci.TypeKind.UINT128: "__int128",
    ci.TypeKind.FLOAT: "float", ci.TypeKind.DOUBLE: "double", ci.TypeKind.LONGDOUBLE: "long double",
    ci.TypeKind.POINTER: "pointer", ci.TypeKind.BLOCKPOINTER: "pointer",
}  # fmt: skip


def alias_type(t: ci.Type, depth: int = 0) -> ir.AliasType:
    """The class of a canonical type under C's effective-type rule, read from
    Clang's type kinds; a struct, union or class also lists the classes of
    every sub-object (members, bases, array elements, nested records). Enums,
    complex and vector types, incomplete and dependent types are "unknown"."""
    kind = t.kind
    if kind in _ARRAY_TYPES:
        return alias_type(t.element_type.get_canonical(), depth)
    if kind in _ALIAS_KINDS:
        return ir.AliasType(_ALIAS_KINDS[kind])
    if kind != ci.TypeKind.RECORD or depth > 8 or t.get_size() < 0:
        return ir.AliasType("unknown")
    contents: set[str] = set()
    declaration = t.get_declaration()
    for child in declaration.get_children():
        if child.kind in (ci.CursorKind.FIELD_DECL, ci.CursorKind.CXX_BASE_SPECIFIER):
            inner = alias_type(child.type.get_canonical(), depth + 1)
            contents |= {inner.kind, *inner.contains}
    return ir.AliasType("record " + t.spelling, frozenset(contents))


def strict_aliasing(flags: list[str]) -> bool:
    """Does the build keep C's effective-type rule? The last of
    -fstrict-aliasing / -fno-strict-aliasing wins; the rule holds by default."""
    for flag in reversed(flags):
        if flag in ("-fno-strict-aliasing", "-fstrict-aliasing"):
            return flag == "-fstrict-aliasing"
    return True


def check_openmp_syntax(path: str | Path, flags: list[str], data: bytes) -> list[str]:
    """Clang's own errors about OpenMP pragmas (parse with -fopenmp)."""
    args = [*flags, "-fopenmp"]
    unsaved = [(str(path), data.decode("utf-8", errors="surrogateescape"))] if _is_utf8(data) else None
    tu = _index().parse(str(path), args=args, unsaved_files=unsaved, options=ci.TranslationUnit.PARSE_INCOMPLETE)
    return _errors(tu, str(path))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _errors(tu: ci.TranslationUnit, path: str) -> list[str]:
    out = []
    for d in tu.diagnostics:
        if d.severity < ci.Diagnostic.Error:
            continue
        loc = d.location
        where = f"{loc.file.name}:{loc.line}:{loc.column}" if loc.file else path
        out.append(f"{where}: error: {d.spelling}")
    return out


class _Converter:
    """Walks the cursors of one translation unit's main file once."""

    def __init__(self, tu: ci.TranslationUnit, path: str, data: bytes):
        self.tu = tu
        self.path = path
        self.data = data
        self.lib = _lib()
        self.vars: dict[int, ir.Var] = {}
        self.functions_by_usr: dict[str, ir.Function] = {}
        self.calls: list[tuple[ir.Call, str]] = []
        self.malloc_usrs: dict[str, bool] = {}
        self.referenced_functions: set[str] = set()
        self.alias_types: dict[str, ir.AliasType] = {}
        kind = sources.source_kind(path)
        self.is_cpp = (kind is not None and kind.language == "cpp") or "c++" in tu.cursor.translation_unit.spelling

    # ---------------------------------------------------------------- top level

    def convert(self) -> ir.TranslationUnit:
        functions: list[ir.Function] = []
        globals_: list[ir.Var] = []
        self._collect(self.tu.cursor, functions, globals_)
        member_writes = memberwrites.collect(self, self.tu.cursor)
        for call, usr in self.calls:
            call.function = self.functions_by_usr.get(usr)
        return ir.TranslationUnit(
            path=self.path,
            functions=functions,
            globals=globals_,
            errors=_errors(self.tu, self.path),
            is_cpp=self.is_cpp,
            referenced_functions=frozenset(self.referenced_functions),
            alias_types=self.alias_types,
            member_writes=member_writes,
        )

    def _collect(self, parent, functions, globals_):
        for c in parent.get_children():
            if not self.lib.clang_Location_isFromMainFile(c.location):
                if c.location.file is not None and not c.location.is_in_system_header:
                    self._function_refs(c)  # a project header's inline code may call anything
                continue
            if c.kind in _FUNCTION_KINDS:
                if c.is_definition():
                    functions.append(self._function(c))
            elif c.kind in _SCOPE_KINDS:
                self._collect(c, functions, globals_)
            elif c.kind == K.VAR_DECL:
                globals_.append(self._var(c))
                self._function_refs(c)

    def _function_refs(self, c) -> None:
        """Functions named under c outside the bodies converted here (a global's
        initialiser, a function defined in a project header): they may be called
        or have their address taken where the analysis does not look."""
        for node in c.walk_preorder():
            if node.kind == K.DECL_REF_EXPR and node.referenced is not None:
                if node.referenced.kind in _FUNCTION_KINDS:
                    self.referenced_functions.add(node.spelling)

    def _declared_malloc(self, c) -> bool:
        """`__attribute__((malloc))` on any declaration of the function c."""
        usr = c.get_usr()
        known = self.malloc_usrs.get(usr)
        if known is None:
            known = self.malloc_usrs[usr] = any(
                a.kind == K.UNEXPOSED_ATTR and any(t.spelling in ("malloc", "__malloc__") for t in a.get_tokens())
                for a in c.get_children()
                if a.kind.is_attribute()
            )
        return known

    def _function(self, c) -> ir.Function:
        params = [self._var(p) for p in c.get_children() if p.kind == K.PARM_DECL]
        body_cursor = next((b for b in c.get_children() if b.kind == K.COMPOUND_STMT), None)
        fn = ir.Function(
            name=c.spelling,
            params=params,
            body=None,
            line=c.location.line,
            is_static=c.storage_class == ci.StorageClass.STATIC,
            is_method=c.kind in (K.CXX_METHOD, K.CONSTRUCTOR, K.DESTRUCTOR),
            is_template=c.kind == K.FUNCTION_TEMPLATE,
            usr=c.get_usr() or "",
            is_malloc=self._declared_malloc(c),
        )
        usr = fn.usr
        if usr:
            self.functions_by_usr[usr] = fn
        if body_cursor is not None:
            fn.body = self._block(body_cursor)
        return fn

    # -------------------------------------------------------------- variables

    def _var(self, c) -> ir.Var:
        key = c.hash
        var = self.vars.get(key)
        if var is not None:
            return var
        var = self._make_var(c)
        self.vars[key] = var
        return var

    def _make_var(self, c) -> ir.Var:
        t = c.type
        canonical = t.get_canonical()
        is_reference = canonical.kind in (ci.TypeKind.LVALUEREFERENCE, ci.TypeKind.RVALUEREFERENCE)
        if is_reference:
            canonical = canonical.get_pointee().get_canonical()
        dims: list[int | None] = []
        element = canonical
        while element.kind in _ARRAY_TYPES:
            size = element.get_array_size() if element.kind == ci.TypeKind.CONSTANTARRAY else -1
            dims.append(size if size >= 0 else None)
            element = element.element_type.get_canonical()
        if c.kind == K.PARM_DECL:
            kind = "param"
        elif c.semantic_parent is not None and c.semantic_parent.kind in (
            K.TRANSLATION_UNIT,
            K.NAMESPACE,
            K.STRUCT_DECL,
            K.CLASS_DECL,
        ):
            kind = "global"
        elif c.storage_class in (ci.StorageClass.STATIC, ci.StorageClass.EXTERN):
            kind = "static"
        else:
            kind = "local"
        spelling = canonical.spelling
        const_elements = canonical.is_const_qualified() or element.is_const_qualified()  # Clang puts it on the array
        values = self._table_values(c, dims, element, const_elements) if c.kind == K.VAR_DECL and len(dims) == 1 else None
        return ir.Var(
            initial_values=values,
            fixed_const=values is not None and const_elements,
            name=c.spelling,
            kind=kind,
            type=t.spelling,
            line=c.location.line,
            # an array parameter is a pointer in C: `double a[N][N]` is `double (*a)[N]`
            is_pointer=(canonical.kind == ci.TypeKind.POINTER and not dims) or (kind == "param" and bool(dims)),
            is_restrict=t.is_restrict_qualified()
            or canonical.is_restrict_qualified()
            or (kind == "param" and bool(dims) and _array_parameter_is_restrict(canonical.spelling)),
            is_const=canonical.is_const_qualified() and not dims,
            is_reference=is_reference,
            array_dims=tuple(dims) if dims else None,
            is_container=any(s in spelling or s in t.spelling for s in _CONTAINERS),
            is_scalar_number=canonical.kind in _NUMBER_TYPES,
            is_float=canonical.kind in _FLOAT_TYPES,
            is_volatile=canonical.is_volatile_qualified(),
            rows_are_pointers=_rows_are_pointers(canonical, element),
            is_thread_local=c.kind == K.VAR_DECL and c.tls_kind != ci.TLSKind.NONE,
            is_internal=kind == "global" and c.linkage == ci.LinkageKind.INTERNAL,
        )

    def _table_values(self, c, dims, element, const_elements: bool) -> tuple[int, ...] | None:
        """The folded initial values of `static`/`const int t[N] = {...}` (macros and
        constant expressions evaluated by Clang); None for anything else (designators,
        non-constant items, no initialiser, storage other files could write)."""
        if element.kind not in _NUMBER_TYPES or element.kind in _FLOAT_TYPES or dims[0] is None:
            return None
        if not const_elements and c.storage_class != ci.StorageClass.STATIC:
            return None
        init = next((ch for ch in c.get_children() if ch.kind == K.INIT_LIST_EXPR), None)
        if init is None:
            return None
        values = []
        for item in init.get_children():
            value = self._evaluate(item) if _is_expr(item.kind) and item.kind != K.INIT_LIST_EXPR else None
            if not isinstance(value, int):
                return None
            values.append(value)
        if len(values) > dims[0]:
            return None
        return tuple(values) + (0,) * (dims[0] - len(values))

    # ------------------------------------------------------------- statements

    def _block(self, c) -> ir.Block:
        stmts: list[ir.Stmt] = []
        for child in c.get_children():
            stmts.extend(self._stmts(child))
        return ir.Block(line=c.extent.start.line, stmts=stmts)

    def _stmt(self, c) -> ir.Stmt:
        converted = self._stmts(c)
        if len(converted) == 1:
            return converted[0]
        return ir.Block(line=c.extent.start.line, stmts=converted)

    def _stmts(self, c) -> list[ir.Stmt]:
        kind = c.kind
        line = c.extent.start.line
        if kind == K.COMPOUND_STMT:
            return [self._block(c)]
        if kind == K.DECL_STMT:
            return [self._decl(d) for d in c.get_children() if d.kind == K.VAR_DECL] or [
                ir.OtherStmt(line=line, kind="declaration")
            ]
        if kind == K.NULL_STMT:
            return [ir.Block(line=line, stmts=[])]
        handler = _STMT_HANDLERS.get(kind)
        if handler is not None:
            return [handler(self, c)]
        if _is_expr(kind):
            return [ir.ExprStmt(line=line, expr=self._expr(c))]
        parts = [self._stmt(ch) for ch in c.get_children() if _is_stmt(ch.kind)]
        exprs = [self._expr(ch) for ch in c.get_children() if _is_expr(ch.kind)]
        return [ir.OtherStmt(line=line, kind=kind.name.lower(), parts=parts, exprs=exprs)]

    def _decl(self, c) -> ir.Decl:
        var = self._var(c)
        init = None
        children = [ch for ch in c.get_children() if _is_expr(ch.kind)]
        if children and self._has_initializer(c):
            init = self._expr(children[-1])
        return ir.Decl(line=c.extent.start.line, var=var, init=init)

    def _has_initializer(self, c) -> bool:
        """True when the declaration has `= ...`, `{...}` or `(...)` after its name.

        Array declarations have their size as an expression child too, so the
        children alone cannot tell.
        """
        spelling = c.type.spelling
        if c.type.get_canonical().kind not in _ARRAY_TYPES and "[" not in spelling and "(" not in spelling:
            return True
        depth = 0
        for tok in c.get_tokens():
            s = tok.spelling
            if s == "[":
                depth += 1
            elif s == "]":
                depth -= 1
            elif depth == 0 and s in ("=", "{"):
                return True
        return False

    def _loop_info(self, c) -> ir.LoopInfo:
        start, end = c.extent.start, c.extent.end
        keyword = self.data[start.offset : start.offset + 5]
        in_macro = not (
            keyword.startswith((b"for", b"while", b"do"))
            and self.lib.clang_Location_isFromMainFile(start)
        )
        return ir.LoopInfo(
            line=start.line,
            column=start.column,
            end_line=end.line,
            start_offset=start.offset,
            end_offset=end.offset,
            in_macro=in_macro,
        )

    def _for(self, c) -> ir.For:
        children = list(c.get_children())
        body = children[-1]
        header = children[:-1]
        slots = self._for_header_slots(c, body)
        init = cond = inc = None
        for ch in header:
            slot = 0
            off = ch.extent.start.offset
            while slot < len(slots) and off > slots[slot]:
                slot += 1
            if slot == 0:
                init = self._stmt(ch)
            elif slot == 1:
                cond = self._expr(ch)
            else:
                inc = self._expr(ch)
        return ir.For(
            line=c.extent.start.line,
            info=self._loop_info(c),
            body=self._stmt(body),
            init=init,
            cond=cond,
            inc=inc,
        )

    def _for_header_slots(self, c, body) -> list[int]:
        """Offsets of the two `;` of a for header: children before the first are
        the init, between them the condition, after the second the increment."""
        extent = ci.SourceRange.from_locations(c.extent.start, body.extent.start)
        depth = 0
        semis: list[int] = []
        for tok in self.tu.get_tokens(extent=extent):
            s = tok.spelling
            if s in ("(", "[", "{"):
                depth += 1
            elif s in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    break
            elif s == ";" and depth == 1:
                semis.append(tok.extent.start.offset)
        return semis

    def _range_for(self, c) -> ir.RangeFor:
        children = list(c.get_children())
        var_cursor = next((ch for ch in children if ch.kind == K.VAR_DECL), None)
        exprs = [ch for ch in children[:-1] if _is_expr(ch.kind)]
        return ir.RangeFor(
            line=c.extent.start.line,
            info=self._loop_info(c),
            body=self._stmt(children[-1]),
            var=self._var(var_cursor) if var_cursor is not None else None,
            range=self._expr(exprs[-1]) if exprs else None,
        )

    def _while(self, c) -> ir.While:
        children = list(c.get_children())
        return ir.While(
            line=c.extent.start.line,
            info=self._loop_info(c),
            body=self._stmt(children[-1]),
            cond=self._expr(children[0]) if len(children) > 1 else None,
        )

    def _do(self, c) -> ir.DoWhile:
        children = list(c.get_children())
        return ir.DoWhile(
            line=c.extent.start.line,
            info=self._loop_info(c),
            body=self._stmt(children[0]),
            cond=self._expr(children[-1]) if len(children) > 1 else None,
        )

    def _if(self, c) -> ir.If:
        children = list(c.get_children())
        cond, rest = children[0], children[1:]
        return ir.If(
            line=c.extent.start.line,
            cond=self._expr(cond),
            then=self._stmt(rest[0]) if rest else ir.Block(line=cond.extent.start.line, stmts=[]),
            orelse=self._stmt(rest[1]) if len(rest) > 1 else None,
        )

    def _jump(self, c) -> ir.Jump:
        kind = {
            K.RETURN_STMT: "return",
            K.BREAK_STMT: "break",
            K.CONTINUE_STMT: "continue",
            K.GOTO_STMT: "goto",
            K.INDIRECT_GOTO_STMT: "goto",
        }[c.kind]
        children = list(c.get_children())
        value = self._expr(children[0]) if kind == "return" and children else None
        label = children[0].spelling if kind == "goto" and children else None
        return ir.Jump(line=c.extent.start.line, kind=kind, value=value, label=label)

    def _switch(self, c) -> ir.Switch:
        children = list(c.get_children())
        return ir.Switch(
            line=c.extent.start.line,
            cond=self._expr(children[0]),
            body=self._stmt(children[-1]),
        )

    def _labeled(self, c) -> ir.Labeled:
        children = [ch for ch in c.get_children() if _is_stmt(ch.kind) or _is_expr(ch.kind)]
        label = {K.CASE_STMT: "case", K.DEFAULT_STMT: "default"}.get(c.kind, c.spelling)
        inner = children[-1] if children else None
        if c.kind == K.CASE_STMT and len(children) < 2:
            inner = None
        return ir.Labeled(
            line=c.extent.start.line,
            label=label,
            stmt=self._stmt(inner) if inner is not None else None,
        )

    # ------------------------------------------------------------ expressions

    def _span(self, c) -> tuple[int, str]:
        """The line where `c` starts and its source text (one extent lookup)."""
        extent = c.extent
        start, end = extent.start, extent.end
        first, last = start.offset, end.offset
        if 0 <= first < last <= len(self.data) and last - first < 400:
            return start.line, self.data[first:last].decode("utf-8", errors="replace")
        return start.line, c.spelling or c.kind.name.lower()

    def _text(self, c) -> str:
        return self._span(c)[1]

    def _expr(self, c) -> ir.Expr:
        kind = c.kind
        if kind in _PASS_THROUGH:
            children = [ch for ch in c.get_children() if _is_expr(ch.kind)]
            if len(children) == 1 or (children and kind in _CASTS):
                # a cast to a variably modified type, `(double (*)[n]) p`, has the
                # size expressions as children before its operand, the last one
                return self._expr(children[-1])
            if not children and kind == K.UNEXPOSED_EXPR:
                return ir.OtherExpr(line=c.extent.start.line, text=self._text(c), kind="unexposed")
        line, text = self._span(c)
        handler = _EXPR_HANDLERS.get(kind)
        if handler is not None:
            node = handler(self, c, line, text)
            if kind in _TYPED_KINDS:
                canonical = c.type.get_canonical()
                node.ctype = canonical.spelling
                if node.ctype not in self.alias_types:
                    self.alias_types[node.ctype] = alias_type(canonical)
            return node
        parts = tuple(self._expr(ch) for ch in c.get_children() if _is_expr(ch.kind))
        return ir.OtherExpr(line=line, text=text, kind=kind.name.lower(), parts=parts)

    def _evaluate(self, c) -> int | float | None:
        lib = self.lib
        result = lib.clang_Cursor_Evaluate(c)
        if not result:
            return None
        try:
            kind = lib.clang_EvalResult_getKind(result)
            if kind == 1:  # CXEval_Int
                return int(lib.clang_EvalResult_getAsLongLong(result))
            if kind == 2:  # CXEval_Float
                return float(lib.clang_EvalResult_getAsDouble(result))
            return None
        finally:
            lib.clang_EvalResult_dispose(result)

    def _literal(self, c, line, text) -> ir.Const:
        value = self._evaluate(c) if c.kind in (K.INTEGER_LITERAL, K.FLOATING_LITERAL) else None
        if c.kind == K.CXX_BOOL_LITERAL_EXPR:
            value = 1 if text == "true" else 0
        return ir.Const(line=line, text=text, value=value)

    def _name(self, c, line, text) -> ir.Expr:
        ref = c.referenced
        text = c.spelling
        if ref is None:
            return ir.Name(line=line, text=text, name=text)
        if ref.kind in (K.VAR_DECL, K.PARM_DECL, K.FIELD_DECL):
            var = self._var(ref)
            value = None
            if ref.kind == K.VAR_DECL and var.is_const and var.is_scalar_number:
                value = self._evaluate(ref)
                value = value if isinstance(value, int) else None
            return ir.Name(line=line, text=text, name=text, var=var, value=value)
        if ref.kind == K.ENUM_CONSTANT_DECL:
            return ir.Name(line=line, text=text, name=text, value=ref.enum_value)
        return ir.Name(line=line, text=text, name=text)

    def _binary(self, c, line, text) -> ir.Expr:
        children = [ch for ch in c.get_children()]
        op = _BINARY_OPS.get(self.lib.clang_getCursorBinaryOperatorKind(c), "?")
        lhs, rhs = (self._expr(ch) for ch in children[:2])
        if op in _ASSIGN_OPS:
            return ir.Assign(line=line, text=text, op=op, target=lhs, value=rhs)
        return ir.Binary(line=line, text=text, op=op, lhs=lhs, rhs=rhs)

    def _unary(self, c, line, text) -> ir.Expr:
        children = [ch for ch in c.get_children() if _is_expr(ch.kind)]
        op = _UNARY_OPS.get(self.lib.clang_getCursorUnaryOperatorKind(c), "?")
        if not children:
            return ir.OtherExpr(line=line, text=text, kind="unary")
        return ir.Unary(line=line, text=text, op=op, operand=self._expr(children[0]))

    def _subscript(self, c, line, text) -> ir.Expr:
        base, index = list(c.get_children())[:2]
        return ir.Index(line=line, text=text, base=self._expr(base), index=self._expr(index))

    def _member(self, c, line, text) -> ir.Expr:
        children = [ch for ch in c.get_children() if _is_expr(ch.kind)]
        base = self._expr(children[0]) if children else None
        arrow = bool(children) and children[0].type.get_canonical().kind == ci.TypeKind.POINTER
        kind = c.type.get_canonical().kind
        points = kind == ci.TypeKind.POINTER
        is_integer = kind in _NUMBER_TYPES and kind not in _FLOAT_TYPES
        field = c.referenced
        record = memberwrites.record_of_field(field) if field is not None and field.kind == K.FIELD_DECL else None
        return ir.Member(line=line, text=text, base=base, field=c.spelling, arrow=arrow, points=points,
                         is_integer=is_integer, record=record or "")

    def _call(self, c, line, text) -> ir.Expr:
        name = c.spelling or text.split("(")[0].strip() or "a function pointer"
        children = [ch for ch in c.get_children() if _is_expr(ch.kind)]
        text = text
        if name == "operator[]" and len(children) >= 3:
            base, index = children[0], children[-1]
            return ir.Index(line=line, text=text, base=self._expr(base), index=self._expr(index))
        if name.startswith("operator") and len(children) >= 2 and name[8:] in _ASSIGN_OPS:
            return ir.Assign(
                line=line,
                text=text,
                op=name[8:],
                target=self._expr(children[0]),
                value=self._expr(children[-1]),
            )
        receiver = None
        args = [self._expr(a) for a in c.get_arguments()] if c.kind == K.CALL_EXPR else []
        if children and children[0].kind == K.MEMBER_REF_EXPR:
            member = children[0]
            inner = [ch for ch in member.get_children() if _is_expr(ch.kind)]
            receiver = self._expr(inner[0]) if inner else None
        call = ir.Call(line=line, text=text, name=name, args=tuple(args), receiver=receiver)
        ref = c.referenced
        if ref is not None:
            definition = ref.get_definition() or ref
            usr = definition.get_usr()
            if usr:
                self.calls.append((call, usr))
                call.usr = usr
                if ref.kind == K.FUNCTION_DECL and c.type.get_canonical().kind == ci.TypeKind.POINTER:
                    call.callee_malloc = self._declared_malloc(definition)
        return call

    def _conditional(self, c, line, text) -> ir.Expr:
        cond, then, orelse = (self._expr(ch) for ch in list(c.get_children())[:3])
        return ir.Conditional(line=line, text=text, cond=cond, then=then, orelse=orelse)


_STMT_HANDLERS = {
    K.FOR_STMT: _Converter._for,
    K.CXX_FOR_RANGE_STMT: _Converter._range_for,
    K.WHILE_STMT: _Converter._while,
    K.DO_STMT: _Converter._do,
    K.IF_STMT: _Converter._if,
    K.RETURN_STMT: _Converter._jump,
    K.BREAK_STMT: _Converter._jump,
    K.CONTINUE_STMT: _Converter._jump,
    K.GOTO_STMT: _Converter._jump,
    K.INDIRECT_GOTO_STMT: _Converter._jump,
    K.SWITCH_STMT: _Converter._switch,
    K.CASE_STMT: _Converter._labeled,
    K.DEFAULT_STMT: _Converter._labeled,
    K.LABEL_STMT: _Converter._labeled,
}

_EXPR_HANDLERS = {
    K.INTEGER_LITERAL: _Converter._literal,
    K.FLOATING_LITERAL: _Converter._literal,
    K.CHARACTER_LITERAL: _Converter._literal,
    K.STRING_LITERAL: _Converter._literal,
    K.CXX_BOOL_LITERAL_EXPR: _Converter._literal,
    K.DECL_REF_EXPR: _Converter._name,
    K.BINARY_OPERATOR: _Converter._binary,
    K.COMPOUND_ASSIGNMENT_OPERATOR: _Converter._binary,
    K.UNARY_OPERATOR: _Converter._unary,
    K.ARRAY_SUBSCRIPT_EXPR: _Converter._subscript,
    K.MEMBER_REF_EXPR: _Converter._member,
    K.CALL_EXPR: _Converter._call,
    K.CONDITIONAL_OPERATOR: _Converter._conditional,
}
