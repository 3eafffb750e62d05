"""The query language of CloudWatch's SEARCH() metric math function.

moto answers `SEARCH(...)` with no data. This module parses the first argument of
SEARCH (`'{Namespace,DimName,...} SearchTerm'`) and tells whether a metric
(namespace, metric name, dimensions) matches it, following the CloudWatch User Guide
pages "CloudWatch search expression syntax" and "CloudWatch search expression examples".

Grammar (what is supported):

    search    := [schema] [","] [or_expr]            (at least one of the two)
    schema    := "{" name ("," name)* "}"            the namespace, then dimension names
    name      := bare word | "double-quoted"
    or_expr   := and_expr ("OR" and_expr)*
    and_expr  := not_expr (["AND"] not_expr)*        juxtaposition is an implicit AND
    not_expr  := "NOT" not_expr | primary
    primary   := "(" or_expr ")" | term
    term      := [property "="] (bare word | "double-quoted")
               | property "=" "(" or_expr ")"          the property applies to each term inside
    property  := MetricName | Namespace | any dimension name (bare word or quoted)

Semantics:

* A schema matches metrics of exactly that namespace whose set of dimension NAMES is
  exactly the set given (`{AWS/EC2}` matches only metrics without dimensions).
* A double-quoted term is an exact, case-sensitive match of a whole string; a bare
  word is a partial match by tokens (below). Without a property, a term matches if it
  matches the metric name, the namespace, any dimension name or any dimension value;
  `MetricName=`, `Namespace=` and `DimName=` restrict it to that string (for
  `DimName=`, the metric must have that dimension and its value must match).
* Partial matches, as documented: strings are split into tokens at non-alphanumeric
  characters, at lower-to-upper camel-case changes and where digits start or stop
  (`SDBFailure` -> SDB, Failure; `Project2-trial333` -> Project, 2, trial, 333), and the
  whole alphanumeric string is a token too. A search word that is a single token
  matches any token case-insensitively (`sdbfailure` finds `SDBFailure`). A search word
  that splits into several tokens is a composite: it must match consecutive tokens, and
  the pieces split off by case or digit changes must match case-sensitively (`Count1`
  finds `CustomCount1`, `count1` and `couNT` do not), while pieces separated by
  punctuation match case-insensitively (`network/errors` finds `Network-Errors-2`).
* Boolean operators are upper case only; in exact matches `\\"`, `\\\\`, `\\(`, `\\)`
  are escapes.

Not supported (a SearchError, reported to the caller as a ValidationError):
`:aws.AccountId` / cross-account terms and any other syntax outside the grammar. Search
in CloudWatch only finds metrics with data in the last two weeks; here every metric
the account ever put is a candidate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence, Union

from .tokenizer import Token, TokenCursor, tokenize

# One metric as SEARCH sees it: namespace, metric name, dimensions (name, value) in order.
MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]


class SearchError(ValueError):
    """The search string is malformed, or uses syntax the emulator does not support."""


# ---------------------------------------------------------------------------- tokens

_PIECE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_WORD = re.compile(r"[A-Za-z0-9]+")


def _pieces(word: str) -> list[str]:
    """Splits one alphanumeric word at camel-case and digit boundaries."""
    return _PIECE.findall(word)


def _string_tokens(text: str) -> tuple[list[str], set[str]]:
    """The ordered pieces of a metric string and its case-insensitive token set."""
    words = _WORD.findall(text)
    pieces = [p for w in words for p in _pieces(w)]
    tokens = {p.lower() for p in pieces}
    if words:
        tokens.add("".join(words).lower())
    return pieces, tokens


def partial_match(term: str, text: str) -> bool:
    """True if the bare search word `term` partially matches `text` (see module doc)."""
    words = _WORD.findall(term)
    if not words:
        raise SearchError(f"search term {term!r} has no letters or digits")
    pieces, tokens = _string_tokens(text)
    # (piece, case_sensitive): pieces from splitting inside one word compare by case.
    wanted = [(p, len(_pieces(w)) > 1) for w in words for p in _pieces(w)]
    if len(wanted) == 1:
        return wanted[0][0].lower() in tokens
    for start in range(len(pieces) - len(wanted) + 1):
        window = pieces[start:start + len(wanted)]
        if all(have == want if exact else have.lower() == want.lower()
               for have, (want, exact) in zip(window, wanted)):
            return True
    return False


# ---------------------------------------------------------------------------- lexer

def _scan(source: str, i: int, toks: list[Token]) -> int:
    """One token: an op ({ } ( ) , =), a "quoted" name or value (unescaped), or a word."""
    c = source[i]
    if c in "{}(),=":
        toks.append(Token("op", c, i, i + 1))
        return i + 1
    if c == '"':
        start, i, out = i, i + 1, []
        while True:
            if i >= len(source):
                raise SearchError(f"unterminated double quote at position {start}")
            if source[i] == "\\" and i + 1 < len(source):
                out.append(source[i + 1])
                i += 2
            elif source[i] == '"':
                i += 1
                break
            else:
                out.append(source[i])
                i += 1
        toks.append(Token("quoted", "".join(out), start, i))
        return i
    start = i
    while i < len(source) and not source[i].isspace() and source[i] not in '{}(),="':
        i += 1
    word = source[start:i]
    if word.startswith(":"):
        raise SearchError(f"{word!r}: cross-account search terms are not supported by the emulator")
    toks.append(Token("word", word, start, i))
    return i


# ---------------------------------------------------------------------------- syntax tree

@dataclass(frozen=True)
class Term:
    value: str
    exact: bool
    prop: str | None  # None, "MetricName", "Namespace" or a dimension name


@dataclass(frozen=True)
class Not:
    operand: "Node"


@dataclass(frozen=True)
class BoolOp:
    op: str  # "AND" / "OR"
    operands: tuple["Node", ...]


Node = Union[Term, Not, BoolOp]


@dataclass(frozen=True)
class Search:
    namespace: str | None
    dimension_names: tuple[str, ...] | None  # None without a schema
    condition: Node | None

    def matches(self, metric: MetricKey) -> bool:
        namespace, name, dims = metric
        if self.namespace is not None:
            if namespace != self.namespace:
                return False
            if sorted(d for d, _ in dims) != sorted(self.dimension_names or ()):
                return False
        return self.condition is None or _evaluate(self.condition, metric)


def _term_matches(term: Term, metric: MetricKey) -> bool:
    namespace, name, dims = metric
    test: Callable[[str], bool] = ((lambda s: s == term.value) if term.exact
                                   else (lambda s: partial_match(term.value, s)))
    if term.prop is None:
        return test(name) or test(namespace) or any(test(d) or test(v) for d, v in dims)
    if term.prop == "MetricName":
        return test(name)
    if term.prop == "Namespace":
        return test(namespace)
    return any(d == term.prop and test(v) for d, v in dims)


def _evaluate(node: Node, metric: MetricKey) -> bool:
    if isinstance(node, Term):
        return _term_matches(node, metric)
    if isinstance(node, Not):
        return not _evaluate(node.operand, metric)
    results = (_evaluate(n, metric) for n in node.operands)
    return all(results) if node.op == "AND" else any(results)


# ---------------------------------------------------------------------------- parser

class _Parser(TokenCursor):
    error = SearchError

    def __init__(self, source: str):
        super().__init__(tokenize(source, _scan))

    def parse(self) -> Search:
        namespace, dimension_names = None, None
        if self.take_op("{") is not None:
            names = [self.name()]
            while self.take_op(",") is not None:
                names.append(self.name())
            self.expect_op("}")
            namespace, dimension_names = names[0], tuple(names[1:])
            self.take_op(",")
        condition = None if self.at_end() else self.or_expr()
        if not self.at_end():
            tok = self.peek()
            raise SearchError(f"unexpected {tok.text!r} at position {tok.start}")
        if namespace is None and condition is None:
            raise SearchError("a search needs a metric schema, a search term, or both")
        return Search(namespace, dimension_names, condition)

    def name(self) -> str:
        tok = self.take()
        if tok.kind not in ("word", "quoted") or not tok.text:
            raise SearchError(f"expected a namespace or dimension name at position {tok.start}")
        return tok.text

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.peek().kind == "word" and self.peek().text == "OR":
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("OR", tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.not_expr()]
        while True:
            tok = self.peek()
            if tok.kind == "word" and tok.text == "AND":
                self.take()
            elif tok.kind == "end" or (tok.kind == "op" and tok.text == ")") or (
                    tok.kind == "word" and tok.text == "OR"):
                break
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else BoolOp("AND", tuple(operands))

    def not_expr(self) -> Node:
        tok = self.peek()
        if tok.kind == "word" and tok.text == "NOT":
            self.take()
            return Not(self.not_expr())
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "op" and tok.text == "(":
            node = self.or_expr()
            self.expect_op(")")
            return node
        if tok.kind not in ("word", "quoted"):
            raise SearchError(f"unexpected {tok.text or 'end of search'!r} at position {tok.start}")
        if tok.kind == "word" and tok.text in ("AND", "OR"):
            raise SearchError(f"{tok.text} at position {tok.start} has no left operand")
        if self.take_op("=") is not None:
            if self.take_op("(") is not None:  # Prop=(a OR "b"): the property applies to every term inside
                group = self.or_expr()
                self.expect_op(")")
                return _with_property(group, tok.text)
            value = self.take()
            if value.kind not in ("word", "quoted"):
                raise SearchError(f"expected a value after {tok.text}= at position {value.start}")
            return Term(value.text, value.kind == "quoted", tok.text)
        return Term(tok.text, tok.kind == "quoted", None)


def _with_property(node: Node, prop: str) -> Node:
    if isinstance(node, Term):
        if node.prop is not None:
            raise SearchError(f"{node.prop}= inside {prop}=( ... )")
        return Term(node.value, node.exact, prop)
    if isinstance(node, Not):
        return Not(_with_property(node.operand, prop))
    return BoolOp(node.op, tuple(_with_property(n, prop) for n in node.operands))


def parse_search(source: str) -> Search:
    """Parses the first argument of SEARCH (the text between its single quotes)."""
    return _Parser(source).parse()


def default_labels(search: Search, metrics: Sequence[MetricKey]) -> list[str]:
    """Labels of the series a search returns: their dimension values separated by spaces
    (schema order first), or the metric name for a metric without dimensions; when the
    matched metrics have several names, the metric name is appended."""
    several_names = len({name for _, name, _ in metrics}) > 1
    order = {d: i for i, d in enumerate(search.dimension_names or ())}
    labels = []
    for _, name, dims in metrics:
        values = [v for d, v in sorted(dims, key=lambda dv: order.get(dv[0], len(order)))]
        label = " ".join(values) if values else name
        if values and several_names:
            label = f"{label} {name}"
        labels.append(label)
    return labels
