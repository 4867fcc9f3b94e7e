"""Every way one translation unit can set a pointer member of a struct: the
front end's half of field-sensitive allocation provenance (program.py merges).

Part of the front end: it walks libclang cursors (of the main file and of
project headers, not of system headers) and hands over `ir.MemberWrite`s.
For `struct T` and its pointer member `f` it reports:

- plain stores `x->f = e`, `x.f = e`, `(*x).f = e`, initialisers
  (`{ .f = e }`, positional, nested, compound literals), with `e` as ir;
- stores that are not plain: `x->f += k`, `x->f++`, `&x->f` (a pointer to the
  member, through which anything may be stored);
- whole objects written by other means, for every struct a T object reaches
  (by containment or through pointer members): its address converted to
  another pointer type (`memcpy(&a, buf, n)`, `fread(&a, ...)`, `(char *) &a`)
  other than for a few library calls that only read it or copy a T onto a T;
  other memory viewed as a T (`(struct T *) p`: harmless only when `p` is
  fresh memory, decided with the program's allocators); a brace-elided or
  nested-designator initialiser; a union holding it; a T pointer passed to a
  function pointer or a library function;
- calls of functions declared in the project but possibly defined nowhere
  (`unless_defined`): harmless when some file of the program defines them.

Copying a whole T from another T (`*a = b`, `struct T c = *p`) keeps every
member's value among the values stored to it, so it is not reported.
"""

from __future__ import annotations

import clang.cindex as ci

from . import ir

K = ci.CursorKind
T = ci.TypeKind

#: library calls that only read what their pointer arguments point to
_READ_ONLY_CALLS = {
    "free", "printf", "fprintf", "sprintf", "snprintf", "puts", "fputs", "fwrite", "memcmp", "strlen",
    "write", "send",
}  # fmt: skip
_COPY_CALLS = {"memcpy", "memmove"}  # harmless when the source is a T too (argument 0 is the target)
_CAST_KINDS = {K.CSTYLE_CAST_EXPR, K.UNEXPOSED_EXPR}
_SKIP_KINDS = {K.CXX_UNARY_EXPR}  # sizeof / alignof: not evaluated


def _unqualified_record(t: ci.Type) -> str | None:
    t = t.get_canonical()
    if t.kind != T.RECORD:
        return None
    spelling = t.get_declaration().type.get_canonical().spelling
    return None if "(unnamed" in spelling or "(anonymous" in spelling else spelling


def record_of_field(field_cursor) -> str | None:
    """`struct csr` for the member `val` of `struct csr`; None for members of
    anonymous structs (their spelling is not the same in every file)."""
    parent = field_cursor.semantic_parent
    if parent is None or parent.kind not in (K.STRUCT_DECL, K.UNION_DECL):
        return None
    return _unqualified_record(parent.type)


class _Collector:
    def __init__(self, converter) -> None:
        self.conv = converter
        self.writes: list[ir.MemberWrite] = []
        self.callees: dict[str, str] = {}  # usr -> name of functions declared in the project
        self.defined_objects: set[str] = set()
        self._reach: dict[str, frozenset[str]] = {}
        self._files: dict[str, bytes] = {}

    def _file(self, name: str) -> bytes:
        if name not in self._files:
            try:
                with open(name, "rb") as f:
                    self._files[name] = f.read()
            except OSError:
                self._files[name] = b""
        return self._files[name]

    # ------------------------------------------------------------ types

    def reach(self, t: ci.Type) -> frozenset[str]:
        """Records an object of type `t` holds or points to, transitively."""
        t = t.get_canonical()
        while t.kind in (T.POINTER, T.CONSTANTARRAY, T.INCOMPLETEARRAY, T.VARIABLEARRAY):
            t = (t.get_pointee() if t.kind == T.POINTER else t.element_type).get_canonical()
        if t.kind != T.RECORD:
            return frozenset()
        spelling = t.get_declaration().type.get_canonical().spelling
        if spelling in self._reach:
            return self._reach[spelling]
        self._reach[spelling] = frozenset({spelling})  # cycles (struct node *next) end here
        found = {spelling}
        for child in t.get_declaration().get_children():
            if child.kind == K.FIELD_DECL:
                found |= self.reach(child.type)
        self._reach[spelling] = frozenset(found)
        return self._reach[spelling]

    # ----------------------------------------------------------- output

    def add(self, c, record, field, text, value=None, function=None, reach=(), unless_defined="") -> None:
        loc = c.extent.start
        self.writes.append(ir.MemberWrite(
            record=record, field=field, file=loc.file.name if loc.file else self.conv.path, line=loc.line,
            text=text, value=value, function=function, reach=tuple(sorted(reach)), unless_defined=unless_defined,
        ))  # fmt: skip

    def taint(self, c, reach, text) -> None:
        for record in sorted(reach):
            self.add(c, record, None, text)

    def text(self, c) -> str:
        start, end = c.extent.start, c.extent.end
        name = start.file.name if start.file is not None else self.conv.path
        data = self.conv.data if name == self.conv.path else self._file(name)
        text = c.spelling
        if 0 <= start.offset < end.offset <= len(data):
            text = data[start.offset:end.offset].decode("utf-8", errors="replace")
        text = " ".join(text.split())
        return text if len(text) <= 70 else text[:67] + "..."

    # ------------------------------------------------------------- walk

    def run(self, root) -> None:
        for c in root.get_children():
            loc = c.location
            if loc.file is not None and loc.is_in_system_header:
                continue
            self.top(c)

    def top(self, c) -> None:
        if c.kind in (K.FUNCTION_DECL,) and c.is_definition():
            fn = self.conv.functions_by_usr.get(c.get_usr()) if self.conv.lib.clang_Location_isFromMainFile(c.location) else None
            for child in c.get_children():
                self.walk(child, fn, None)
            return
        if c.kind == K.VAR_DECL:
            if c.is_definition() and c.storage_class != ci.StorageClass.EXTERN:
                self.defined_objects.add(c.get_usr())
            elif self.reach(c.type):
                self.add(c, "", None, f"{c.spelling}, declared extern", reach=self.reach(c.type), unless_defined=c.get_usr())
            for child in c.get_children():
                self.walk(child, None, None)
            return
        if c.kind == K.UNION_DECL and c.is_definition():
            self.union(c)
        for child in c.get_children():
            if child.kind in (K.STRUCT_DECL, K.UNION_DECL, K.TYPEDEF_DECL, K.VAR_DECL, K.FUNCTION_DECL):
                self.top(child)

    def union(self, c) -> None:
        name = _unqualified_record(c.type)
        inside = set()
        for child in c.get_children():
            if child.kind == K.FIELD_DECL:
                inside |= self.reach(child.type)
        if name:
            inside.add(name)
        self.taint(c, inside, f"{c.type.spelling}, a union: its members share storage")

    def walk(self, c, fn, call) -> None:
        """`call`: (call cursor, argument index) when `c` is an argument."""
        kind = c.kind
        if kind in _SKIP_KINDS:
            return
        if kind == K.DECL_STMT:
            for child in c.get_children():
                if child.kind == K.UNION_DECL and child.is_definition():
                    self.union(child)
        if kind == K.BINARY_OPERATOR or kind == K.COMPOUND_ASSIGNMENT_OPERATOR:
            self.assignment(c, fn)
        elif kind == K.UNARY_OPERATOR:
            self.unary(c)
        elif kind == K.INIT_LIST_EXPR:
            self.init_list(c, fn)
        elif kind == K.CALL_EXPR:
            self.call(c)
            args = list(c.get_arguments())
            for child in c.get_children():
                index = next((i for i, a in enumerate(args) if a == child), None)
                self.walk(child, fn, (c, index) if index is not None else None)
            return
        elif kind in _CAST_KINDS:
            self.conversion(c, fn, call)
        for child in c.get_children():
            self.walk(child, fn, call if kind in (K.PAREN_EXPR,) or (kind in _CAST_KINDS and call) else None)

    # ---------------------------------------------------------- stores

    def member(self, c):
        """(record, field) when `c` (parentheses aside) names a pointer member."""
        while c.kind == K.PAREN_EXPR:
            c = next(iter(c.get_children()))
        if c.kind != K.MEMBER_REF_EXPR or c.referenced is None or c.referenced.kind != K.FIELD_DECL:
            return None
        if c.type.get_canonical().kind != T.POINTER:
            return None
        record = record_of_field(c.referenced)
        return (record or "", c.spelling)

    def assignment(self, c, fn) -> None:
        children = list(c.get_children())
        if len(children) != 2:
            return
        is_assign = c.kind == K.COMPOUND_ASSIGNMENT_OPERATOR or self.conv.lib.clang_getCursorBinaryOperatorKind(c) == 22
        if not is_assign:
            return
        target = self.member(children[0])
        if target is None:
            return
        record, field = target
        if c.kind == K.COMPOUND_ASSIGNMENT_OPERATOR:
            self.add(c, record, field, f"{self.text(c)} (pointer arithmetic)")
        else:
            self.add(c, record, field, self.text(c), value=self.conv._expr(children[1]), function=fn)

    def unary(self, c) -> None:
        children = [ch for ch in c.get_children()]
        if not children:
            return
        op = self.conv.lib.clang_getCursorUnaryOperatorKind(c)
        target = self.member(children[0])
        if target is None:
            return
        record, field = target
        if op in (1, 2, 3, 4):
            self.add(c, record, field, f"{self.text(c)} (pointer arithmetic)")
        elif op == 5:
            self.add(c, record, field, f"{self.text(c)} (its address is taken)")

    def init_list(self, c, fn) -> None:
        t = c.type.get_canonical()
        children = [ch for ch in c.get_children()]
        if t.kind == T.RECORD:
            record = _unqualified_record(t)
            fields = [f for f in t.get_declaration().get_children() if f.kind == K.FIELD_DECL]
            if t.get_declaration().kind == K.UNION_DECL:
                return  # unions are reported whole (self.union)
            position = 0
            for child in children:
                designated = self.designated(child)
                if designated is not None:
                    names, value = designated
                    if len(names) != 1 or value is None:
                        self.taint(child, self.reach(t), f"{self.text(child)} (a nested designator)")
                        return
                    field = next((f for f in fields if f.spelling == names[0]), None)
                    if field is None:
                        self.taint(child, self.reach(t), self.text(child))
                        return
                    position = fields.index(field) + 1
                    self.field_value(child, record, field, value, fn, t)
                    continue
                if position >= len(fields):
                    self.taint(child, self.reach(t), f"{self.text(c)} (more initialisers than members)")
                    return
                field = fields[position]
                position += 1
                self.field_value(child, record, field, child, fn, t)
            return
        if t.kind in (T.CONSTANTARRAY, T.INCOMPLETEARRAY):
            element = t.element_type.get_canonical()
            if not self.reach(element):
                return
            for child in children:
                designated = self.designated(child)
                value = designated[1] if designated is not None else child
                if designated is not None and designated[0]:
                    value = None  # `[1].f = e`
                if value is None or value.type.get_canonical().spelling != element.spelling:
                    self.taint(child, self.reach(element), f"{self.text(c)} (a brace-elided initialiser)")
                    return

    def designated(self, child):
        """(member names, value cursor) of `.f = e` / `[i] = e` (no names), else None."""
        if child.kind != K.UNEXPOSED_EXPR or child.type.kind != T.VOID:
            return None
        parts = list(child.get_children())
        if not parts:
            return None
        names = [p.spelling for p in parts[:-1] if p.kind == K.MEMBER_REF]
        if len([p for p in parts[:-1] if p.kind == K.MEMBER_REF]) != len(parts) - 1 and names:
            return names + ["[]"], None  # `.a[2] = e` and the like
        return names, parts[-1]

    def field_value(self, child, record, field, value, fn, t) -> None:
        """One member's initialiser inside the init list of `t`."""
        expected = field.type.get_canonical()
        got = value.type.get_canonical()
        if got.spelling != expected.spelling:
            if value.kind == K.INIT_LIST_EXPR:
                return  # walked on its own
            self.taint(child, self.reach(t), f"{self.text(child)} (a brace-elided initialiser)")
            return
        if expected.kind == T.POINTER and record:
            text = f"{field.spelling} = {self.text(value)} (an initialiser)"
            self.add(child, record, field.spelling, text, value=self.conv._expr(value), function=fn)

    # ------------------------------------------------- calls, conversions

    def call(self, c) -> None:
        ref = c.referenced
        if ref is not None and ref.kind == K.FUNCTION_DECL:
            if ref.location.file is not None and not ref.location.is_in_system_header:
                usr = ref.get_usr()
                if usr:
                    self.callees[usr] = ref.spelling
                return
            if c.spelling in _READ_ONLY_CALLS:
                return
        # a library function or a function pointer: what T objects it is handed
        for arg in c.get_arguments():
            inner = _strip_implicit(arg)
            if inner.type.get_canonical().kind == T.POINTER and self.reach(inner.type):
                if inner is arg:  # (a conversion is reported by `conversion`)
                    self.taint(arg, self.reach(inner.type), f"{self.text(c)} (a T pointer handed to code not in view)")
        if c.type.get_canonical().kind == T.POINTER and self.reach(c.type):
            self.taint(c, self.reach(c.type), f"{self.text(c)} (returns a struct made by code not in view)")

    def conversion(self, c, fn, call) -> None:
        children = [ch for ch in c.get_children() if ch.kind not in (K.TYPE_REF,) and not ch.kind.is_reference()]
        if not children:
            return
        operand = children[-1]
        to, frm = c.type.get_canonical(), operand.type.get_canonical()
        if to.kind != T.POINTER or to.spelling == frm.spelling:
            return
        to_record = _unqualified_record(to.get_pointee()) if to.get_pointee().get_canonical().kind == T.RECORD else None
        from_record = None
        if frm.kind == T.POINTER and frm.get_pointee().get_canonical().kind == T.RECORD:
            from_record = _unqualified_record(frm.get_pointee())
        if frm.kind in (T.CONSTANTARRAY, T.INCOMPLETEARRAY, T.VARIABLEARRAY, T.FUNCTIONPROTO, T.FUNCTIONNOPROTO):
            return  # array decay, function to pointer: same object, same type
        if to_record is not None and to_record == from_record:
            return  # qualifiers only
        if frm.kind == T.POINTER and self.reach(frm) and not self.harmless_argument(call, frm):
            what = f"the address of a {frm.get_pointee().spelling} converted to {to.spelling}"
            if call is not None:
                what = f"{self.text(call[0])}: {what}"
            self.taint(c, self.reach(frm), f"{self.text(c)} ({what})" if call is None else what)
        if to_record is not None and self.reach(to):
            # other memory viewed as a T: harmless only when it is fresh (program.py decides)
            self.add(c, to_record, None, f"{self.text(c)} (other memory viewed as a {to_record})",
                     value=self.conv._expr(operand), function=fn, reach=self.reach(to))

    def harmless_argument(self, call, frm: ci.Type) -> bool:
        """The converted pointer is an argument of a library call that leaves
        T objects as they are, or copies a T onto a T."""
        if call is None:
            return False
        cursor, index = call
        name = cursor.spelling
        ref = cursor.referenced
        if ref is None or ref.location.file is None or not ref.location.is_in_system_header:
            return False
        if name in _READ_ONLY_CALLS or (name == "realloc" and index == 0):
            return True  # (realloc moves whole objects: their members keep their values)
        args = list(cursor.get_arguments())
        if name == "memset" and len(args) == 3:
            return self.conv._evaluate(args[1]) == 0 if args[1].kind in (K.INTEGER_LITERAL,) else _is_zero(args[1], self.conv)
        if name in _COPY_CALLS and len(args) == 3:
            if index == 1:
                return True  # only read
            source = _strip_implicit(args[1]).type.get_canonical()
            return source.kind == T.POINTER and source.get_pointee().get_canonical().spelling.replace("const ", "") == \
                frm.get_pointee().get_canonical().spelling.replace("const ", "")
        return False


def _strip_implicit(c):
    while c.kind in (K.UNEXPOSED_EXPR, K.PAREN_EXPR):
        children = [ch for ch in c.get_children()]
        if len(children) != 1:
            break
        c = children[0]
    return c


def _is_zero(c, conv) -> bool:
    c = _strip_implicit(c)
    return c.kind == K.INTEGER_LITERAL and conv._evaluate(c) == 0


def collect(converter, root) -> ir.MemberWrites:
    """The member writes of one translation unit (C only: C++ constructors,
    references and operators are not followed)."""
    if converter.is_cpp:
        return ir.MemberWrites(complete=False, problem=f"{converter.path} is C++, whose member stores are not followed")
    collector = _Collector(converter)
    collector.run(root)
    return ir.MemberWrites(
        writes=tuple(collector.writes),
        callees=tuple(sorted(collector.callees.items())),
        defined_objects=frozenset(collector.defined_objects),
    )
