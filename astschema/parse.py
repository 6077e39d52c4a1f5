"""Parse stage: one libcst pass per file into a plain, cross-file-free module summary.

The summary keeps only what a schema can depend on: imports, module-level bindings and
expression statements, and classes (bases, keywords, decorators, body bindings, methods that
plainly return something).  Expressions become a small frozen IR (`Expr`); nothing is ever
evaluated, so a summary is a pure function of the file's bytes and path.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from typing import Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .diagnostics import Diagnostic, Location

# Deeper expressions become Unknown: no input can make the IR walk exhaust the stack.
MAX_DEPTH = 60
# Folded string constants longer than this stay Unknown ("x" * 10**10 costs nothing).
MAX_CONST = 100_000


@dataclass(frozen=True, slots=True)
class Const:
    value: object
    loc: Location


@dataclass(frozen=True, slots=True)
class Name:
    id: str
    loc: Location


@dataclass(frozen=True, slots=True)
class Attribute:
    value: "Expr"
    attr: str
    loc: Location


@dataclass(frozen=True, slots=True)
class Call:
    func: "Expr"
    args: tuple["Expr", ...]
    kwargs: tuple[tuple[str, "Expr"], ...]
    loc: Location
    starred: bool = False  # **kwargs, or *args not known: the argument list is not fully known


@dataclass(frozen=True, slots=True)
class Seq:
    kind: str  # "tuple", "list" or "set"
    items: tuple["Expr", ...]
    loc: Location


@dataclass(frozen=True, slots=True)
class Mapping:
    items: tuple[tuple["Expr", "Expr"], ...]
    loc: Location


@dataclass(frozen=True, slots=True)
class Subscript:
    value: "Expr"
    index: tuple["Expr", ...]
    loc: Location


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"
    loc: Location


@dataclass(frozen=True, slots=True)
class Starred:
    """`*value` among a call's positional arguments: spliced in once `value` is a known sequence."""

    value: "Expr"
    loc: Location


@dataclass(frozen=True, slots=True)
class Unknown:
    """An expression astschema does not model (lambda, comprehension, f-string with names...)."""

    text: str
    loc: Location


Expr = Union[Const, Name, Attribute, Call, Seq, Mapping, Subscript, BinOp, Starred, Unknown]


@dataclass(frozen=True, slots=True)
class Import:
    local: str  # the name bound in the importing module
    module: str  # absolute or relative ("." prefixes) module path
    name: str | None  # None for `import x.y`, which binds the module itself
    loc: Location


@dataclass(frozen=True, slots=True)
class Binding:
    """`target = value`, `target: annotation = value` or a bare `target: annotation`."""

    target: str
    value: Expr | None
    annotation: Expr | None
    loc: Location


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    decorators: tuple[Expr, ...]
    returns: Expr | None  # the expression of a body that is just `return <expr>` (docstring allowed)
    loc: Location
    first_param: str | None = None  # `cls` of a declared_attr
    annotation: Expr | None = None  # the return annotation (`-> Mapped[int]`)


@dataclass(frozen=True, slots=True)
class ClassInfo:
    name: str
    bases: tuple[Expr, ...]
    keywords: tuple[tuple[str, Expr], ...]
    decorators: tuple[Expr, ...]
    body: tuple[Binding, ...]
    methods: tuple[Method, ...]
    loc: Location


@dataclass(frozen=True, slots=True)
class ModuleSummary:
    path: str
    module: str
    is_package: bool
    imports: tuple[Import, ...] = ()
    bindings: tuple[Binding, ...] = ()
    classes: tuple[ClassInfo, ...] = ()
    functions: tuple[Method, ...] = ()
    expressions: tuple[Expr, ...] = ()  # module-level expression statements, e.g. Index(...)
    diagnostics: tuple[Diagnostic, ...] = ()
    parsed: bool = True
    suppressions: tuple[tuple[int, int, tuple[str, ...]], ...] = ()  # (line, col, codes; () = all)


# libcst's native parser overflows its stack on a few thousand nested brackets (a crash no
# handler can catch), and its Python side recurses once per level of a chain such as
# `a.b.b...`, `1+1+...` or `f(f(...))`, slowing quadratically past a few hundred. Measured
# (libcst 1.9): 1,000 nested brackets parse; 3,000 crash the interpreter; a chain of 300 calls
# already exceeds the recursion limit. Real model code stays far below these bounds.
MAX_BRACKET_DEPTH = 100
MAX_OPERATORS_PER_STATEMENT = 200
_WORD_OPERATORS = frozenset({"and", "or", "not", "in", "is", "if", "else", "lambda", "await"})
_NOT_CHAINING = frozenset(",:;=)]}") | {"->", ":=", "**=", "//=", ">>=", "<<="}


def nesting_problem(source: bytes) -> tuple[int, str] | None:
    """(line, message) when the source nests deeper than libcst can safely take, else None.

    Python's own tokenizer (a pure-Python lexer; nothing is compiled) measures, per
    statement, the bracket depth and the number of operators and adjacent strings, each of
    which can add a level of nesting to the tree libcst builds.
    """
    depth = chain = 0
    try:
        for token in tokenize.tokenize(io.BytesIO(source).readline):
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                chain = 0
            elif token.type == tokenize.OP:
                if token.string in "([{":
                    depth += 1
                elif token.string in ")]}":
                    depth = max(depth - 1, 0)
                if token.string not in _NOT_CHAINING or token.string in "([{":
                    chain += 1
            elif token.type == tokenize.STRING or (token.type == tokenize.NAME and token.string in _WORD_OPERATORS):
                chain += 1
            if depth > MAX_BRACKET_DEPTH:
                return token.start[0], f"nesting too deep: more than {MAX_BRACKET_DEPTH} levels of brackets"
            if chain > MAX_OPERATORS_PER_STATEMENT:
                return token.start[0], (f"statement too complex: more than {MAX_OPERATORS_PER_STATEMENT} "
                                        "operators, calls or strings in one expression")
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        pass  # what the tokenizer refuses, libcst reports as a syntax error (within the bounds seen)
    return None


def parse_source(source: bytes, path: str, module: str, is_package: bool = False) -> ModuleSummary:
    """Parse one file's bytes. Never raises for bad input: problems become diagnostics.

    libcst builds the tree that is read. Its positions come from the stdlib's `ast` of the
    same bytes, paired node by node as the tree is read: libcst's own PositionProvider
    regenerates the whole file and costs twice the parse. `ast.parse` (the compiler's parser
    run alone: nothing is compiled or executed) also bounds nesting before libcst sees it.
    Only where the two trees cannot be paired (syntax newer than this Python, or a file
    `ast` refuses) does libcst's PositionProvider give the positions.
    """
    python_tree, refused = _python_ast(source)
    if refused is not None:
        line, message = refused
        return _failed(path, module, is_package, "AS101", message, Location(path, line, 1))
    if python_tree is None:
        too_deep = nesting_problem(source)
        if too_deep is not None:
            line, message = too_deep
            return _failed(path, module, is_package, "AS101", message, Location(path, line, 1))
    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        # The native parser's own "error at L:C" is where the bad token is; raw_line can be
        # the next line.
        where = re.search(r"error at (\d+):(\d+)", exc.message)
        line, col = (int(where.group(1)), int(where.group(2))) if where else (exc.raw_line, exc.raw_column + 1)
        return _failed(path, module, is_package, "AS101", f"cannot parse: {exc.message}", Location(path, line, col))
    except RecursionError:
        return _failed(path, module, is_package, "AS101", "cannot parse: nesting too deep", None)
    except Exception as exc:  # bad encodings and the like; libcst raises several types
        reason = str(exc)
        if "encoding" in reason or isinstance(exc, UnicodeError):
            reason = f"not UTF-8 and no valid PEP 263 coding cookie ({reason})"
        return _failed(path, module, is_package, "AS101", f"cannot parse: {reason}", None)
    try:
        collector = None
        if python_tree is not None:
            try:
                collector = _Collector(path, _AstPositions(path, source, tree.encoding))
                collector.module_body(tree.body, python_tree.body)
            except _Mismatch:
                collector = None
        if collector is None:
            positions = MetadataWrapper(tree, unsafe_skip_copy=True).resolve(PositionProvider)
            collector = _Collector(path, _CstPositions(path, positions))
            collector.module_body(tree.body, None)
    except RecursionError:
        return _failed(path, module, is_package, "AS101", "cannot read: nesting too deep", None)
    return ModuleSummary(
        path=path,
        module=module,
        is_package=is_package,
        imports=tuple(collector.imports),
        bindings=tuple(collector.bindings),
        classes=tuple(collector.classes),
        functions=tuple(collector.functions),
        expressions=tuple(collector.expressions),
        suppressions=suppressions(source),
    )


# Past these, libcst slows quadratically (a chain of 3,000 subscripts takes 30 s) or overflows.
MAX_AST_DEPTH = 200
MAX_ADJACENT_STRINGS = 200


def _python_ast(source: bytes) -> tuple[ast.Module | None, tuple[int, str] | None]:
    """(the stdlib's tree, None), or (None, (line, why)) when the file nests deeper than libcst
    can safely take, or (None, None) when `ast` refuses it for another reason (libcst then
    says why, or reads syntax newer than this Python)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings: "\d" and friends
            tree = ast.parse(source)
    except (RecursionError, MemoryError):
        # the compiler's own limits: the tokenizer tells where
        return None, nesting_problem(source) or (1, "nesting too deep")
    except SyntaxError as exc:
        if "too many nested" in str(exc.msg):
            return None, (exc.lineno or 1, "nesting too deep: more levels of brackets than Python's parser takes")
        return None, None
    except ValueError:
        return None, None
    return tree, _too_deep(tree, source)


def _too_deep(tree: ast.Module, source: bytes) -> tuple[int, str] | None:
    """(line, why) for the first statement that nests deeper than MAX_AST_DEPTH as libcst
    builds it: `a or b or c` and `"a" "b" "c"` are flat in `ast`, one level per operand in
    libcst. Each level takes a character or two, so short one-line statements are skipped."""
    lines = None
    statements = list(tree.body)
    while statements:
        statement = statements.pop()
        if statement.end_lineno == statement.lineno and statement.end_col_offset - statement.col_offset <= MAX_AST_DEPTH // 2:
            continue
        line = getattr(statement, "lineno", 1)
        stack = []
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                statements.append(child)
            else:
                stack.append((child, 2))
        while stack:
            node, depth = stack.pop()
            if isinstance(node, ast.BoolOp):
                depth += len(node.values) - 1
            elif isinstance(node, (ast.Constant, ast.JoinedStr)) and (
                node.end_lineno != node.lineno or node.end_col_offset - node.col_offset > 2 * MAX_ADJACENT_STRINGS
            ):
                lines = lines or source.removeprefix(codecs.BOM_UTF8).splitlines(keepends=True)
                if _adjacent_strings(lines, node) > MAX_ADJACENT_STRINGS:
                    return line, (f"statement too complex: more than {MAX_ADJACENT_STRINGS} "
                                  "operators, calls or strings in one expression")
            if depth > MAX_AST_DEPTH:
                return line, f"statement too complex: nested more than {MAX_AST_DEPTH} levels deep"
            if getattr(node, "end_lineno", None) == getattr(node, "lineno", 0) and \
                    node.end_col_offset - node.col_offset + depth <= MAX_AST_DEPTH // 2:
                continue  # too short to nest deeper than the bound
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None


def _adjacent_strings(lines: list[bytes], node) -> int:
    """How many string tokens make up one string constant (only long ones are measured)."""
    span = b"".join(lines[node.lineno - 1 : node.end_lineno])
    if span.count(b"'") + span.count(b'"') <= 2 * MAX_ADJACENT_STRINGS:
        return 1
    count = 0
    try:
        for token in tokenize.tokenize(io.BytesIO(span).readline):
            count += token.type == tokenize.STRING or token.type == getattr(tokenize, "FSTRING_START", -1)
    except (tokenize.TokenError, SyntaxError):
        return MAX_ADJACENT_STRINGS + 1  # the span is not whole statements: take no risk
    return count


class _Mismatch(Exception):
    """The libcst and ast trees did not pair up here: positions come from libcst instead."""


class _CstPositions:
    """Positions from libcst's PositionProvider (the fallback)."""

    def __init__(self, path: str, positions):
        self.path, self.positions = path, positions

    def of(self, node, partner) -> Location:
        start = self.positions[node].start
        return Location(self.path, start.line, start.column + 1)

    def name(self, node, partner) -> Location:
        return self.of(node.name, None)


# `class` / `def` / `async def` up to the name (ast's position is the keyword's).
_DEFINITION = re.compile(rb"(?:async[ \t\f]+)?(?:class|def)[ \t\f]+")
_BLANK = re.compile(rb"[ \t\f]*(?:#[^\r\n]*)?")


class _AstPositions:
    """Positions from the stdlib ast, in libcst's conventions: 1-based columns in characters,
    a parenthesized tuple starting after its parenthesis, a definition at its name."""

    def __init__(self, path: str, source: bytes, encoding: str):
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            source = source.decode(encoding).encode("utf-8")  # ast's columns count UTF-8 bytes
        self.path = path
        # ast counts lines as bytes.splitlines does (\r\n, \r, \n); its columns skip a BOM
        self.lines = source.removeprefix(codecs.BOM_UTF8).splitlines(keepends=True)
        self.ascii = source.isascii()  # then byte columns are character columns throughout

    def _at(self, line: int, col: int) -> Location:
        if not self.ascii:
            text = self.lines[line - 1]
            if not text.isascii():
                col = len(text[:col].decode("utf-8", "replace"))
        return Location(self.path, line, col + 1)

    def of(self, node, partner) -> Location:
        if partner is None:
            raise _Mismatch
        if isinstance(partner, (ast.Tuple, ast.GeneratorExp)) and node.lpar:
            return self._after_parenthesis(partner.lineno, partner.col_offset + 1)
        return self._at(partner.lineno, partner.col_offset)

    def name(self, node, partner) -> Location:
        found = _DEFINITION.match(self.lines[partner.lineno - 1], partner.col_offset)
        if found is None:  # a line continuation before the name
            raise _Mismatch
        return self._at(partner.lineno, found.end())

    def _after_parenthesis(self, line: int, col: int) -> Location:
        while line <= len(self.lines):
            text = self.lines[line - 1]
            col = _BLANK.match(text, col).end()
            if text[col:].strip(b"\r\n") not in (b"", b"\\"):
                return self._at(line, col)
            line, col = line + 1, 0
        raise _Mismatch


SUPPRESSION = re.compile(r"#\s*astschema:\s*ignore(?:\[([^\]]*)\])?")


def suppressions(source: bytes) -> tuple[tuple[int, int, tuple[str, ...]], ...]:
    """`# astschema: ignore[AS301, AS302]` / `# astschema: ignore` comments, found with the
    tokenizer (a pure-Python lexer: nothing is compiled), so strings never count."""
    if b"astschema:" not in source:
        return ()
    found = []
    try:
        for token in tokenize.tokenize(io.BytesIO(source).readline):
            if token.type == tokenize.COMMENT:
                match = SUPPRESSION.search(token.string)
                if match:
                    codes = tuple(c.strip().upper() for c in (match.group(1) or "").split(",") if c.strip())
                    found.append((token.start[0], token.start[1] + match.start() + 1, codes))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        pass  # the file parsed with libcst; what the tokenizer refuses has no suppressions
    return tuple(found)


def _failed(path, module, is_package, code, message, loc) -> ModuleSummary:
    return ModuleSummary(
        path=path,
        module=module,
        is_package=is_package,
        diagnostics=(Diagnostic(code, message, loc or Location(path, 1, 1)),),
        parsed=False,
    )


def _flat(statements) -> list:
    """Statements as `ast` lists them: a line's small statements one by one."""
    flat = []
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            flat.extend(statement.body)
        else:
            flat.append(statement)
    return flat


def _paired(statements, partners) -> list:
    """Each libcst statement with its `ast` partner (None when positions come from libcst)."""
    flat = _flat(statements)
    if partners is None:
        return [(statement, None) for statement in flat]
    if len(flat) != len(partners):
        raise _Mismatch
    return list(zip(flat, partners, strict=True))


def _part(partner, name: str, kind):
    """The partner's child `name`, checking the partner is a `kind`; a fixed Location or None
    (no pairing) passes down unchanged."""
    if partner is None or isinstance(partner, Location):
        return partner
    if not isinstance(partner, kind):
        raise _Mismatch
    return getattr(partner, name)


def _split(items, partners, plain) -> list:
    """Partners for the items `plain` keeps, out of ast's list where the others also appear
    (a starred base or argument, `**kwargs`)."""
    kept = [item for item in items if plain(item)]
    if partners is None or isinstance(partners, Location):
        return [(item, partners) for item in kept]
    if len(kept) != len(partners):
        raise _Mismatch
    return list(zip(kept, partners, strict=True))


@dataclass
class _Collector:
    path: str
    positions: _AstPositions | _CstPositions
    imports: list[Import] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    functions: list[Method] = field(default_factory=list)
    expressions: list[Expr] = field(default_factory=list)

    def loc(self, node: cst.CSTNode, partner) -> Location:
        if isinstance(partner, Location):
            return partner
        return self.positions.of(node, partner)

    # -- statements -------------------------------------------------------------------------

    def module_body(self, body, partners) -> None:
        for stmt, partner in _paired(body, partners):
            if isinstance(stmt, cst.ClassDef):
                self.classes.append(self.class_def(stmt, partner))
            elif isinstance(stmt, cst.FunctionDef):
                self.functions.append(self.method(stmt, partner))
            elif isinstance(stmt, cst.If):
                # `if TYPE_CHECKING:` and version switches: the first branch is what tools see.
                self.module_body(stmt.body.body, _part(partner, "body", ast.If))
            elif isinstance(stmt, cst.Try):
                # `try: from a import X / except ImportError: X = None`: the try body wins.
                self.module_body(stmt.body.body, _part(partner, "body", ast.Try))
            elif isinstance(stmt, cst.BaseSmallStatement):
                self.small_statement(stmt, partner)

    def small_statement(self, small, partner) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                dotted = dotted_name(alias.name)
                if alias.asname is not None:
                    local = alias.asname.name.value
                    self.imports.append(Import(local, dotted, None, self.loc(small, partner)))
                else:
                    root = dotted.split(".")[0]  # `import a.b` binds `a`; a.b is reached through it
                    self.imports.append(Import(root, root, None, self.loc(small, partner)))
        elif isinstance(small, cst.ImportFrom):
            if isinstance(small.names, cst.ImportStar):
                return
            level = "." * len(small.relative)
            module = level + (dotted_name(small.module) if small.module is not None else "")
            for alias in small.names:
                name = dotted_name(alias.name)
                local = alias.asname.name.value if alias.asname is not None else name
                self.imports.append(Import(local, module, name, self.loc(small, partner)))
        else:
            binding = self.binding(small, partner)
            if binding is not None:
                self.bindings.append(binding)
            elif isinstance(small, cst.Expr):
                self.expressions.append(self.expr(small.value, _part(partner, "value", ast.Expr)))

    def binding(self, small, partner) -> Binding | None:
        if isinstance(small, cst.Assign):
            targets = [t.target for t in small.targets if isinstance(t.target, cst.Name)]
            if targets:
                value = self.expr(small.value, _part(partner, "value", ast.Assign))
                return Binding(targets[0].value, value, None, self.loc(small, partner))
        elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
            value = self.expr(small.value, _part(partner, "value", ast.AnnAssign)) if small.value is not None else None
            annotation = self.expr(small.annotation.annotation, _part(partner, "annotation", ast.AnnAssign))
            return Binding(small.target.value, value, annotation, self.loc(small, partner))
        return None

    def class_def(self, node: cst.ClassDef, partner) -> ClassInfo:
        body: list[Binding] = []
        methods: list[Method] = []
        for stmt, part in _paired(node.body.body, _part(partner, "body", ast.ClassDef)):
            if isinstance(stmt, cst.FunctionDef):
                methods.append(self.method(stmt, part))
            elif isinstance(stmt, cst.BaseSmallStatement):
                binding = self.binding(stmt, part)
                if binding is not None:
                    body.append(binding)
        bases = _split(node.bases, _plain(_part(partner, "bases", ast.ClassDef)), lambda a: a.star == "")
        keywords = _split(node.keywords, _named(_part(partner, "keywords", ast.ClassDef)), lambda a: a.keyword is not None)
        return ClassInfo(
            name=node.name.value,
            bases=tuple(self.expr(a.value, part) for a, part in bases),
            keywords=tuple((a.keyword.value, self.expr(a.value, part)) for a, part in keywords),
            decorators=self.decorators(node, partner),
            body=tuple(body),
            methods=tuple(methods),
            loc=self.positions.name(node, partner),
        )

    def decorators(self, node, partner) -> tuple[Expr, ...]:
        pairs = _split(node.decorators, _part(partner, "decorator_list", (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)), bool)
        return tuple(self.expr(d.decorator, part) for d, part in pairs)

    def method(self, node: cst.FunctionDef, partner) -> Method:
        returns = None
        statements = _paired(node.body.body, _part(partner, "body", (ast.FunctionDef, ast.AsyncFunctionDef)))
        if statements and _is_docstring(statements[0][0]):
            statements = statements[1:]
        if len(statements) == 1 and isinstance(statements[0][0], cst.Return) and statements[0][0].value is not None:
            returns = self.expr(statements[0][0].value, _part(statements[0][1], "value", ast.Return))
        params = node.params.posonly_params or node.params.params
        annotation = None
        if node.returns is not None:
            annotation = self.expr(node.returns.annotation, _part(partner, "returns", (ast.FunctionDef, ast.AsyncFunctionDef)))
        return Method(
            name=node.name.value,
            decorators=self.decorators(node, partner),
            returns=returns,
            loc=self.positions.name(node, partner),
            first_param=params[0].name.value if params else None,
            annotation=annotation,
        )

    # -- expressions ------------------------------------------------------------------------

    def expr(self, node: cst.BaseExpression, partner, depth: int = 0) -> Expr:
        """The IR of `node`; `partner` is its `ast` node, a Location every part takes, or None."""
        # the hot path of a cold run: exact class checks first, for the common node types
        loc = partner if partner.__class__ is Location else self.positions.of(node, partner)
        if depth > MAX_DEPTH:
            return Unknown("expression nested too deeply", loc)
        d = depth + 1
        kind = node.__class__
        if kind is cst.Name:
            return Name(node.value, loc)
        if kind is cst.Attribute:
            return Attribute(self.expr(node.value, _part(partner, "value", ast.Attribute), d), node.attr.value, loc)
        if kind is cst.Call:
            return self.call(node, partner, loc, d)
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            _part(partner, "col_offset", (ast.Constant, ast.JoinedStr))
            if isinstance(partner, ast.Constant) and (isinstance(node, cst.SimpleString) or len(partner.value) <= MAX_CONST):
                return Const(partner.value, loc)  # decoded by Python's own tokenizer
            return self.string(node, loc)
        if isinstance(node, cst.Integer):
            return Const(_int(node.value), loc)
        if isinstance(node, cst.Float):
            return Const(float(node.value.replace("_", "")), loc)
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            kind = {cst.Tuple: "tuple", cst.List: "list", cst.Set: "set"}[type(node)]
            if any(isinstance(e, cst.StarredElement) for e in node.elements):
                return Unknown("starred element", loc)
            pairs = _split(node.elements, _part(partner, "elts", (ast.Tuple, ast.List, ast.Set)), bool)
            return Seq(kind, tuple(self.expr(e.value, part, d) for e, part in pairs), loc)
        if isinstance(node, cst.Dict):
            if not all(isinstance(element, cst.DictElement) for element in node.elements):
                return Unknown("dict unpacking", loc)
            keys = _split(node.elements, _part(partner, "keys", ast.Dict), bool)
            values = _split(node.elements, _part(partner, "values", ast.Dict), bool)
            return Mapping(tuple((self.expr(e.key, k, d), self.expr(e.value, v, d)) for (e, k), (_, v) in zip(keys, values, strict=True)), loc)
        if isinstance(node, cst.Subscript):
            if not all(isinstance(element.slice, cst.Index) for element in node.slice):
                return Unknown("slice", loc)
            pairs = _split(node.slice, _indexes(node.slice, _part(partner, "slice", ast.Subscript)), bool)
            index = tuple(self.expr(element.slice.value, part, d) for element, part in pairs)
            return Subscript(self.expr(node.value, _part(partner, "value", ast.Subscript), d), index, loc)
        if isinstance(node, cst.BinaryOperation):
            op = type(node.operator).__name__
            left = self.expr(node.left, _part(partner, "left", ast.BinOp), d)
            return _fold(BinOp(op, left, self.expr(node.right, _part(partner, "right", ast.BinOp), d), loc))
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            operand = self.expr(node.expression, _part(partner, "operand", ast.UnaryOp), d)
            if isinstance(operand, Const) and type(operand.value) in (int, float):
                return Const(-operand.value, loc)
        if isinstance(node, cst.Lambda) and _is_enum_values_lambda(node):
            return Unknown(ENUM_VALUES, loc)
        return Unknown(type(node).__name__, loc)

    def call(self, node: cst.Call, partner, loc: Location, d: int) -> Call:
        """Positional arguments (`*x` too) pair with ast's `args`, named ones with its named
        `keywords`; `**x` only marks the call as not fully known."""
        if partner is None or partner.__class__ is Location:
            positional = named = None
        else:
            _part(partner, "args", ast.Call)
            positional, named = partner.args, [k.value for k in partner.keywords if k.arg is not None]
        args, kwargs, starred = [], [], False
        for arg in node.args:
            if arg.star == "**":
                starred = True
            elif arg.keyword is None:
                part = partner if positional is None else _next(positional, len(args))
                if arg.star:
                    value = self.expr(arg.value, _part(part, "value", ast.Starred), d)
                    args.append(Starred(value, value.loc))
                else:
                    args.append(self.expr(arg.value, part, d))
            else:
                part = partner if named is None else _next(named, len(kwargs))
                kwargs.append((arg.keyword.value, self.expr(arg.value, part, d)))
        if positional is not None and (len(positional), len(named)) != (len(args), len(kwargs)):
            raise _Mismatch
        return Call(self.expr(node.func, _part(partner, "func", ast.Call), d), tuple(args), tuple(kwargs), loc, starred)

    def string(self, node, loc: Location) -> Expr:
        """A string's IR; the names in an f-string take the string's position."""
        if isinstance(node, cst.FormattedString):
            # f"{A}.id" becomes "" + Format(A) + ".id": folded once A is known to be a constant.
            result: Expr = Const("", loc)
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    piece: Expr = Const(part.value, loc)
                elif part.conversion is None and part.format_spec is None:
                    piece = BinOp("Format", self.expr(part.expression, loc), Const("", loc), loc)
                else:
                    return Unknown("f-string with a conversion or format spec", loc)
                result = _fold(BinOp("Add", result, piece, loc))
            return result
        if isinstance(node, cst.ConcatenatedString):
            left, right = self.string(node.left, loc), self.string(node.right, loc)
            return _fold(BinOp("Add", left, right, loc))
        value = string_literal(node.value)
        return Unknown("string literal", loc) if value is None else Const(value, loc)


def _next(partners: list, index: int):
    if index >= len(partners):
        raise _Mismatch
    return partners[index]


def _plain(partners):
    """ast's positional items, without the starred ones libcst marks on the item itself."""
    if partners is None or isinstance(partners, Location):
        return partners
    return [p for p in partners if not isinstance(p, ast.Starred)]


def _named(partners):
    """ast's keywords, without `**kwargs` (keyword None)."""
    if partners is None or isinstance(partners, Location):
        return partners
    return [p.value for p in partners if p.arg is not None]


def _indexes(elements, partner):
    """`a[x, y]` is one ast Tuple of two and two libcst elements; `a[x]` one of each."""
    if partner is None or isinstance(partner, Location):
        return partner
    if isinstance(partner, ast.Tuple) and (len(elements) > 1 or elements[0].comma != cst.MaybeSentinel.DEFAULT):
        return partner.elts
    return [partner]


def _fold(expr: BinOp) -> Expr:
    """Fold operations on constants: string concatenation, f-string parts, integer arithmetic.

    Every result is size-capped, so `"x" * 10**10` or `2 ** 10**10` costs nothing.
    """
    left, right = expr.left, expr.right
    if not (isinstance(left, Const) and isinstance(right, Const)):
        return expr
    a, b = left.value, right.value
    if expr.op == "Format":
        return Const(str(a), expr.loc) if type(a) in (str, int) else expr
    if expr.op == "Add" and type(a) is type(b) and isinstance(a, (str, bytes)):
        if len(a) + len(b) > MAX_CONST:
            return Unknown("constant too large", expr.loc)
        return Const(a + b, expr.loc)
    if type(a) is int and type(b) is int and expr.op in _INT_OPS:
        if expr.op == "Power" and (b < 0 or b * max(a.bit_length(), 1) > 64):
            return Unknown("constant too large", expr.loc)
        if expr.op in ("FloorDivide", "Modulo") and b == 0:
            return Unknown("division by zero", expr.loc)
        value = _INT_OPS[expr.op](a, b)
        return Const(value, expr.loc) if abs(value) < 2**63 else Unknown("constant too large", expr.loc)
    return expr


_INT_OPS = {
    "Add": lambda a, b: a + b,
    "Subtract": lambda a, b: a - b,
    "Multiply": lambda a, b: a * b,
    "FloorDivide": lambda a, b: a // b,
    "Modulo": lambda a, b: a % b,
    "Power": lambda a, b: a**b,
}


# `Enum(E, values_callable=lambda e: [m.value for m in e])`, the documented idiom, is
# recognised by shape: it is the one lambda whose meaning matters to DDL.
ENUM_VALUES = "lambda returning the enum's member values"


def _is_enum_values_lambda(node: cst.Lambda) -> bool:
    params = node.params.params
    body = node.body
    if len(params) != 1 or not isinstance(body, cst.ListComp) or body.for_in.inner_for_in or body.for_in.ifs:
        return False
    target, element = body.for_in.target, body.elt
    return (
        isinstance(target, cst.Name)
        and isinstance(body.for_in.iter, cst.Name)
        and body.for_in.iter.value == params[0].name.value
        and isinstance(element, cst.Attribute)
        and isinstance(element.value, cst.Name)
        and element.value.value == target.value
        and element.attr.value == "value"
    )


def string_literal(token: str) -> str | bytes | None:
    """The value of a (non-f) string literal token, decoded by hand: nothing is compiled."""
    prefix_length = len(token) - len(token.lstrip("rRbBuU"))
    prefix, body = token[:prefix_length].lower(), token[prefix_length:]
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    if len(body) < 2 * len(quote) or not body.endswith(quote):
        return None
    body = body[len(quote) : -len(quote)]
    try:
        if "b" in prefix:
            raw = body.encode("ascii")
            return raw if "r" in prefix else codecs.escape_decode(raw)[0]
        if "r" in prefix:
            return body
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "\d" and friends: kept as written, as Python does
            return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except (UnicodeError, ValueError):
        return None


def _int(text: str) -> int | str:
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:  # e.g. "0777" (Python 2 octal) never gets here as libcst rejects it
        return text


def dotted_name(node) -> str:
    """`a.b.c` for a name or attribute chain, else ""."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted_name(node.value)}.{node.attr.value}"
    return ""


def _is_docstring(small) -> bool:
    return isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))
