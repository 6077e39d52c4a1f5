"""Parse stage: one libcst pass per file into a plain, cross-file-free module summary.

The summary keeps only what a schema can depend on: imports, module-level bindings and
expression statements, and classes (bases, keywords, decorators, body bindings, methods that
plainly return something).  Expressions become a small frozen IR (`Expr`); nothing is ever
evaluated, so a summary is a pure function of the file's bytes and path.
"""

from __future__ import annotations

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
    starred: bool = False  # *args or **kwargs present: the argument list is not fully known


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
class Unknown:
    """An expression astschema does not model (lambda, comprehension, f-string with names...)."""

    text: str
    loc: Location


Expr = Union[Const, Name, Attribute, Call, Seq, Mapping, Subscript, BinOp, Unknown]


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
    """Parse one file's bytes. Never raises for bad input: problems become diagnostics."""
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
    wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    try:
        positions = wrapper.resolve(PositionProvider)
        collector = _Collector(path, positions)
        collector.module_body(tree.body)
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


@dataclass
class _Collector:
    path: str
    positions: object
    imports: list[Import] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    functions: list[Method] = field(default_factory=list)
    expressions: list[Expr] = field(default_factory=list)

    def loc(self, node: cst.CSTNode) -> Location:
        start = self.positions[node].start
        return Location(self.path, start.line, start.column + 1)

    # -- statements -------------------------------------------------------------------------

    def module_body(self, body) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self.small_statement(small)
            elif isinstance(stmt, cst.ClassDef):
                self.classes.append(self.class_def(stmt))
            elif isinstance(stmt, cst.FunctionDef):
                self.functions.append(self.method(stmt))
            elif isinstance(stmt, cst.If):
                # `if TYPE_CHECKING:` and version switches: the first branch is what tools see.
                self.module_body(stmt.body.body)
            elif isinstance(stmt, cst.Try):
                # `try: from a import X / except ImportError: X = None`: the try body wins.
                self.module_body(stmt.body.body)

    def small_statement(self, small) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                dotted = _dotted(alias.name)
                if alias.asname is not None:
                    local = alias.asname.name.value
                    self.imports.append(Import(local, dotted, None, self.loc(small)))
                else:
                    root = dotted.split(".")[0]  # `import a.b` binds `a`; a.b is reached through it
                    self.imports.append(Import(root, root, None, self.loc(small)))
        elif isinstance(small, cst.ImportFrom):
            if isinstance(small.names, cst.ImportStar):
                return
            level = "." * len(small.relative)
            module = level + (_dotted(small.module) if small.module is not None else "")
            for alias in small.names:
                name = _dotted(alias.name)
                local = alias.asname.name.value if alias.asname is not None else name
                self.imports.append(Import(local, module, name, self.loc(small)))
        else:
            binding = self.binding(small)
            if binding is not None:
                self.bindings.append(binding)
            elif isinstance(small, cst.Expr):
                self.expressions.append(self.expr(small.value))

    def binding(self, small) -> Binding | None:
        if isinstance(small, cst.Assign):
            value = self.expr(small.value)
            targets = [t.target for t in small.targets if isinstance(t.target, cst.Name)]
            if targets:
                return Binding(targets[0].value, value, None, self.loc(small))
        elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
            value = self.expr(small.value) if small.value is not None else None
            return Binding(small.target.value, value, self.expr(small.annotation.annotation), self.loc(small))
        return None

    def class_def(self, node: cst.ClassDef) -> ClassInfo:
        body: list[Binding] = []
        methods: list[Method] = []
        for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    binding = self.binding(small)
                    if binding is not None:
                        body.append(binding)
            elif isinstance(stmt, cst.FunctionDef):
                methods.append(self.method(stmt))
        if isinstance(node.body, cst.SimpleStatementSuite):
            for small in node.body.body:
                binding = self.binding(small)
                if binding is not None:
                    body.append(binding)
        bases = tuple(self.expr(a.value) for a in node.bases if a.star == "")
        keywords = tuple((a.keyword.value, self.expr(a.value)) for a in node.keywords if a.keyword is not None)
        return ClassInfo(
            name=node.name.value,
            bases=bases,
            keywords=keywords,
            decorators=tuple(self.expr(d.decorator) for d in node.decorators),
            body=tuple(body),
            methods=tuple(methods),
            loc=self.loc(node.name),
        )

    def method(self, node: cst.FunctionDef) -> Method:
        returns = None
        statements = list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else []
        if isinstance(node.body, cst.SimpleStatementSuite):
            statements = [cst.SimpleStatementLine(body=node.body.body)]
        if statements and _is_docstring(statements[0]):
            statements = statements[1:]
        if len(statements) == 1 and isinstance(statements[0], cst.SimpleStatementLine):
            smalls = statements[0].body
            if len(smalls) == 1 and isinstance(smalls[0], cst.Return) and smalls[0].value is not None:
                returns = self.expr(smalls[0].value)
        params = node.params.posonly_params or node.params.params
        return Method(
            name=node.name.value,
            decorators=tuple(self.expr(d.decorator) for d in node.decorators),
            returns=returns,
            loc=self.loc(node.name),
            first_param=params[0].name.value if params else None,
            annotation=self.expr(node.returns.annotation) if node.returns is not None else None,
        )

    # -- expressions ------------------------------------------------------------------------

    def expr(self, node: cst.BaseExpression, depth: int = 0) -> Expr:
        loc = self.loc(node)
        if depth > MAX_DEPTH:
            return Unknown("expression nested too deeply", loc)
        d = depth + 1
        if isinstance(node, cst.Name):
            return Name(node.value, loc)
        if isinstance(node, cst.Attribute):
            return Attribute(self.expr(node.value, d), node.attr.value, loc)
        if isinstance(node, cst.Call):
            args, kwargs, starred = [], [], False
            for arg in node.args:
                if arg.star:
                    starred = True
                elif arg.keyword is not None:
                    kwargs.append((arg.keyword.value, self.expr(arg.value, d)))
                else:
                    args.append(self.expr(arg.value, d))
            return Call(self.expr(node.func, d), tuple(args), tuple(kwargs), loc, starred)
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return self.string(node, loc)
        if isinstance(node, cst.Integer):
            return Const(_int(node.value), loc)
        if isinstance(node, cst.Float):
            return Const(float(node.value.replace("_", "")), loc)
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            kind = {cst.Tuple: "tuple", cst.List: "list", cst.Set: "set"}[type(node)]
            if any(isinstance(e, cst.StarredElement) for e in node.elements):
                return Unknown("starred element", loc)
            return Seq(kind, tuple(self.expr(e.value, d) for e in node.elements), loc)
        if isinstance(node, cst.Dict):
            items = []
            for element in node.elements:
                if not isinstance(element, cst.DictElement):
                    return Unknown("dict unpacking", loc)
                items.append((self.expr(element.key, d), self.expr(element.value, d)))
            return Mapping(tuple(items), loc)
        if isinstance(node, cst.Subscript):
            index = []
            for element in node.slice:
                if not isinstance(element.slice, cst.Index):
                    return Unknown("slice", loc)
                index.append(self.expr(element.slice.value, d))
            return Subscript(self.expr(node.value, d), tuple(index), loc)
        if isinstance(node, cst.BinaryOperation):
            op = type(node.operator).__name__
            return _fold(BinOp(op, self.expr(node.left, d), self.expr(node.right, d), loc))
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            operand = self.expr(node.expression, d)
            if isinstance(operand, Const) and type(operand.value) in (int, float):
                return Const(-operand.value, loc)
        if isinstance(node, cst.Lambda) and _is_enum_values_lambda(node):
            return Unknown(ENUM_VALUES, loc)
        return Unknown(type(node).__name__, loc)

    def string(self, node, loc: Location) -> Expr:
        if isinstance(node, cst.FormattedString):
            # f"{A}.id" becomes "" + Format(A) + ".id": folded once A is known to be a constant.
            result: Expr = Const("", loc)
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    piece: Expr = Const(part.value, loc)
                elif part.conversion is None and part.format_spec is None:
                    piece = BinOp("Format", self.expr(part.expression), Const("", loc), loc)
                else:
                    return Unknown("f-string with a conversion or format spec", loc)
                result = _fold(BinOp("Add", result, piece, loc))
            return result
        if isinstance(node, cst.ConcatenatedString):
            left, right = self.string(node.left, loc), self.string(node.right, loc)
            return _fold(BinOp("Add", left, right, loc))
        value = string_literal(node.value)
        return Unknown("string literal", loc) if value is None else Const(value, loc)


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


def _dotted(node) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _is_docstring(stmt) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
