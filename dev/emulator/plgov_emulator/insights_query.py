"""A subset of the CloudWatch Logs Insights query language (Logs Insights QL).

moto's StartQuery understands only `fields`, `sort` and `limit` and ignores everything
else, so a `filter` or `stats` query silently returns every event. This module parses a
query into commands and runs them over log events; logs_insights.py wires it into
moto's StartQuery / GetQueryResults. What is not supported is a QueryError (reported
as MalformedQueryException), never a wrong answer. Sources: the CloudWatch Logs User
Guide pages "CloudWatch Logs Insights language query syntax", "Supported logs and
discovered fields", and the pages of the commands `dedup`, `sort` and `stats`.

Commands (separated by `|`; `#` starts a comment):

    fields  item ("," item)*            item := expr ["as" name]
    filter  expr
    parse   expr "glob with * wildcards" as name ("," name)*
    parse   expr /regex with (?<name>...) groups/
    stats   agg-item ("," agg-item)* ["by" item ("," item)*]
    sort    expr ("asc" | "desc") ("," expr ("asc" | "desc"))*
    limit   number
    dedup   field ("," field)*              only `limit` may follow it
    display field ("," field)*              the last display decides the columns

Expressions: numbers, "strings" / 'strings', field names (`@timestamp`, `fields.cost`,
`backticked-names`), + - * / % ^, unary -, = != < <= > >=, `and` `or` `not`,
`x like "substring"`, `x like /regex/`, `x =~ /regex/`, `not like`, `x in [..]`,
`x not in [..]`, and the functions ispresent, isempty, isblank, coalesce, abs, ceil,
floor, sqrt, log, greatest, least, concat, strlen, toupper, tolower, trim, ltrim, rtrim,
strcontains, replace, substr, bin, datefloor, toMillis, fromMillis. Aggregations in
stats (also inside arithmetic, `sum(a) / count(*)`): sum, avg, count, count(*),
count_distinct, min, max, latest, earliest. bin() takes ms, s, m, h or d units.

Semantics and choices:

* Each event has @timestamp, @message, @logStream, @log (`account-id:log-group`) and
  @ingestionTime. A message that is a JSON object (or, in /aws/lambda/ log groups, a
  message whose first JSON object fragment follows some text) has its keys discovered,
  nested keys flattened with dots and array items with their index (`a.b.0.c`); a
  discovered key starting with @ gets another @ in front. JSON null is an absent field.
* Events start in descending @timestamp order (the order `dedup` assumes when nothing
  sorted them). `sort` needs an explicit asc/desc (the emulator assumes no default) and
  uses CloudWatch's documented natural order: non-numbers (compared in chunks of digits
  and non-digits, digit chunks by length then value) before numbers; missing values go
  last in both directions.
* Comparisons are numeric when both sides are numbers or numeric strings, else they
  compare the text; a comparison with a missing field is false. Arithmetic on a
  missing or non-numeric value, or division by zero, gives a missing value.
* stats groups by the rendered values of its `by` items and returns the groups in the
  order of their first row; aggregations skip rows where their field is absent;
  latest/earliest take the value from the row with the latest/earliest @timestamp that
  has the field. Unaliased columns are named by their text as written (`count(*)`,
  `bin(1h)`), and after stats that text refers to the column (`sort count(*) desc`, or
  a second stats `stats max(count(*))`).
* Results: without `display`, the columns are the stats output (plus later `fields`),
  or the fields named by `fields` and `parse`, or @timestamp and @message; event rows
  (not stats rows) end with @ptr. A field a row lacks is left out of that row. Values
  are strings: timestamps as `YYYY-MM-DD HH:MM:SS.mmm` (UTC), booleans as 1/0, numbers
  without a trailing `.0`.

Not supported (QueryError): other commands (unnest, lookup, join, pattern, diff,
anomaly, SOURCE, ...), other functions (pct, stddev, sortsFirst, ...), bin() in weeks,
months, quarters or years, and queries in other query languages.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, Union

from .tokenizer import Token, TokenCursor, tokenize


class QueryError(ValueError):
    """A malformed or unsupported query; `start`/`end` locate it in the query string."""

    def __init__(self, message: str, start: int = 0, end: int | None = None):
        super().__init__(message)
        self.start = start
        self.end = start if end is None else end


class Time(int):
    """Milliseconds since the epoch that render as a CloudWatch timestamp."""

    def render(self) -> str:
        moment = dt.datetime.fromtimestamp(self / 1000, tz=dt.timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{int(self) % 1000:03d}"


# ---------------------------------------------------------------------------- lexer

_KEYWORDS = {"and", "or", "not", "like", "in", "as", "by", "asc", "desc"}
_NAME_START = re.compile(r"[@A-Za-z_]")
_NAME = re.compile(r"[@A-Za-z_][@A-Za-z0-9_.$]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_OPS = ("=~", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "^", "(", ")", "[", "]", ",")
_VALUE_END = ("num", "duration", "str", "regex")


def _regex_allowed(toks: list[Token]) -> bool:
    """A `/` starts a regex unless it follows a value (then it divides); `parse f /re/`."""
    if not toks:
        return True
    prev = toks[-1]
    if prev.kind == "name" and len(toks) >= 2 and toks[-2].kind == "name" and toks[-2].text.lower() == "parse":
        return True
    if prev.kind in _VALUE_END or (prev.kind == "op" and prev.text in (")", "]")):
        return False
    if prev.kind == "name":
        return prev.text.lower() in _KEYWORDS
    return True


def _quoted(source: str, i: int, quote: str, what: str) -> tuple[str, int]:
    out, j = [], i + 1
    while j < len(source):
        c = source[j]
        if c == "\\" and j + 1 < len(source):
            nxt = source[j + 1]
            out.append(nxt if (quote != "/" and nxt in (quote, "\\")) or nxt == "/" else c + nxt)
            j += 2
        elif c == quote:
            return "".join(out), j + 1
        else:
            out.append(c)
            j += 1
    raise QueryError(f"unterminated {what}", i, len(source))


def _scan(source: str, i: int, toks: list[Token]) -> int:
    """One token (num, duration, str, regex, name, op or pipe; for str and regex the content,
    for name the field name), or a comment."""
    c = source[i]
    if c == "#":
        while i < len(source) and source[i] != "\n":
            i += 1
        return i
    if c == "|":
        toks.append(Token("pipe", c, i, i + 1))
        return i + 1
    if c in "\"'":
        text, j = _quoted(source, i, c, "string")
        toks.append(Token("str", text, i, j))
        return j
    if c == "`":
        j = source.find("`", i + 1)
        if j < 0:
            raise QueryError("unterminated `name`", i, len(source))
        toks.append(Token("name", source[i + 1:j], i, j + 1))
        return j + 1
    if c == "/" and _regex_allowed(toks):
        text, j = _quoted(source, i, "/", "regular expression")
        toks.append(Token("regex", text, i, j))
        return j
    if c.isdigit():
        m = _NUMBER.match(source, i)
        assert m
        j = m.end()
        unit = re.match(r"[A-Za-z]+", source[j:])
        if unit:
            toks.append(Token("duration", source[i:j + unit.end()], i, j + unit.end()))
            return j + unit.end()
        toks.append(Token("num", m.group(), i, j))
        return j
    if _NAME_START.match(c):
        m = _NAME.match(source, i)
        assert m
        toks.append(Token("name", m.group(), i, m.end()))
        return m.end()
    op = next((o for o in _OPS if source.startswith(o, i)), None)
    if op is None:
        raise QueryError(f"unexpected character {c!r}", i, i + 1)
    toks.append(Token("op", op, i, i + len(op)))
    return i + len(op)


def lex(source: str) -> list[Token]:
    return tokenize(source, _scan)


# ---------------------------------------------------------------------------- syntax tree

@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Star:
    pass


@dataclass(frozen=True)
class Regex:
    pattern: Any  # compiled


@dataclass(frozen=True)
class Duration:
    millis: int
    text: str


@dataclass(frozen=True)
class Call:
    name: str  # lower case
    args: tuple["Expr", ...]
    start: int
    text: str  # as written: after stats, a column of that name stands for the call


@dataclass(frozen=True)
class Unary:
    op: str
    operand: "Expr"


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Match:
    """`like`, `not like`, `=~`: a substring (Lit) or a regex (Regex)."""
    subject: "Expr"
    pattern: Union[Lit, Regex]
    negate: bool


@dataclass(frozen=True)
class In:
    subject: "Expr"
    items: tuple["Expr", ...]
    negate: bool


Expr = Union[Lit, Field, Star, Regex, Duration, Call, Unary, Binary, Match, In]


@dataclass
class Item:
    expr: Expr
    name: str  # the alias, or the text as written


@dataclass
class Command:
    kind: str
    start: int
    items: list[Item] | None = None  # fields, stats (aggregations), display, dedup
    by: list[Item] | None = None  # stats
    condition: Expr | None = None  # filter
    keys: list[tuple[Expr, bool]] | None = None  # sort: (expr, descending)
    count: int | None = None  # limit
    source: Expr | None = None  # parse
    pattern: Any = None  # parse: compiled regex
    names: list[str] | None = None  # parse: field names, in group order


_AGGREGATES = {"sum", "avg", "count", "count_distinct", "min", "max", "latest", "earliest"}
_UNSUPPORTED_AGGREGATES = {"pct", "stddev", "sortsfirst", "sortslast"}
_UNITS = {"ms": 1, "msec": 1, "millisecond": 1, "s": 1000, "sec": 1000, "second": 1000,
          "m": 60_000, "min": 60_000, "minute": 60_000, "h": 3_600_000, "hr": 3_600_000, "hour": 3_600_000,
          "d": 86_400_000, "day": 86_400_000}
_CALENDAR_UNITS = {"w", "week", "mo", "mon", "month", "q", "qtr", "quarter", "y", "yr", "year"}
_COMMANDS = ("fields", "filter", "parse", "stats", "sort", "limit", "dedup", "display")


def _duration(tok: Token) -> Duration:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]+)", tok.text)
    assert m
    unit = m.group(2).lower()
    known = set(_UNITS) | _CALENDAR_UNITS
    base = unit[:-1] if unit not in known and unit.endswith("s") and unit[:-1] in known else unit
    if base in _CALENDAR_UNITS:
        raise QueryError(f"the time unit of {tok.text} is not supported by the emulator (use ms, s, m, h or d)",
                         tok.start, tok.end)
    if base not in _UNITS:
        raise QueryError(f"unknown time unit in {tok.text}", tok.start, tok.end)
    millis = float(m.group(1)) * _UNITS[base]
    if millis <= 0 or millis != int(millis):
        raise QueryError(f"{tok.text} is not a whole positive number of milliseconds", tok.start, tok.end)
    return Duration(int(millis), tok.text)


def _compile(pattern: str, tok: Token) -> Any:
    try:
        return re.compile(re.sub(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", pattern))
    except re.error as exc:
        raise QueryError(f"invalid regular expression /{pattern}/: {exc}", tok.start, tok.end) from None


class _Parser(TokenCursor):
    """Parses the tokens of one command (between pipes)."""

    def __init__(self, source: str, toks: list[Token]):
        super().__init__(toks)
        self.source = source

    def at_keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "name" and tok.text.lower() in words

    def take_keyword(self, *words: str) -> str | None:
        """Takes the next token if it is one of these keywords (any case), and returns it in lower case."""
        return self.take().text.lower() if self.at_keyword(*words) else None

    def expected(self, op: str, found: Token) -> QueryError:
        return QueryError(f"expected {op!r}, found {found.text or 'the end of the command'!r}", found.start, found.end)

    def fail(self, message: str) -> QueryError:
        tok = self.peek()
        return QueryError(message, tok.start, tok.end)

    # -- expressions

    def expr(self) -> Expr:
        node = self.and_()
        while (op := self.take_keyword("or")) is not None:
            node = Binary(op, node, self.and_())
        return node

    def and_(self) -> Expr:
        node = self.not_()
        while (op := self.take_keyword("and")) is not None:
            node = Binary(op, node, self.not_())
        return node

    def not_(self) -> Expr:
        if self.at_keyword("not"):
            self.take()
            return Unary("not", self.not_())
        return self.comparison()

    def comparison(self) -> Expr:
        node = self.additive()
        negate = False
        if self.at_keyword("not") and self.toks[self.i + 1].kind == "name" and \
                self.toks[self.i + 1].text.lower() in ("like", "in"):
            self.take()
            negate = True
        if self.at_keyword("like"):
            self.take()
            tok = self.take()
            if tok.kind == "str":
                return Match(node, Lit(tok.text), negate)
            if tok.kind == "regex":
                return Match(node, Regex(_compile(tok.text, tok)), negate)
            raise QueryError("like needs a \"string\" or a /regex/", tok.start, tok.end)
        if self.at_keyword("in"):
            self.take()
            self.expect_op("[")
            items = [] if self.at_op("]") else [self.additive()]
            while self.take_op(",") is not None:
                items.append(self.additive())
            self.expect_op("]")
            return In(node, tuple(items), negate)
        if self.at_op("=~"):
            self.take()
            tok = self.take()
            if tok.kind != "regex":
                raise QueryError("=~ needs a /regex/", tok.start, tok.end)
            return Match(node, Regex(_compile(tok.text, tok)), False)
        if self.at_op("=", "!=", "<", "<=", ">", ">="):
            op = self.take().text
            return Binary(op, node, self.additive())
        return node

    def additive(self) -> Expr:
        node = self.multiplicative()
        while (op := self.take_op("+", "-")) is not None:
            node = Binary(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Expr:
        node = self.unary()
        while (op := self.take_op("*", "/", "%")) is not None:
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Expr:
        if self.at_op("-"):
            self.take()
            return Unary("-", self.unary())
        node = self.primary()
        if self.at_op("^"):
            self.take()
            node = Binary("^", node, self.unary())
        return node

    def primary(self) -> Expr:
        tok = self.take()
        if tok.kind == "num":
            return Lit(float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "str":
            return Lit(tok.text)
        if tok.kind == "regex":
            return Regex(_compile(tok.text, tok))
        if tok.kind == "duration":
            return _duration(tok)
        if tok.kind == "op" and tok.text == "(":
            node = self.expr()
            self.expect_op(")")
            return node
        if tok.kind == "op" and tok.text == "*":
            return Star()
        if tok.kind == "name":
            if self.at_op("(") and not tok.text.startswith("@") and "." not in tok.text:
                self.take()
                args: list[Expr] = [] if self.at_op(")") else [self.expr()]
                while self.take_op(",") is not None:
                    args.append(self.expr())
                close = self.expect_op(")")
                return Call(tok.text.lower(), tuple(args), tok.start, self.source[tok.start:close.end])
            if tok.text.lower() in _KEYWORDS and self.source[tok.start] != "`":
                raise QueryError(f"unexpected {tok.text!r}", tok.start, tok.end)
            return Field(tok.text)
        raise QueryError(f"unexpected {tok.text or 'end of the command'!r}", tok.start, tok.end)

    # -- command pieces

    def item(self, allow_alias: bool = True) -> Item:
        start = self.peek().start
        node = self.expr()
        end = self.toks[self.i - 1].end
        name = self.source[start:end]
        if isinstance(node, Field):
            name = node.name
        if allow_alias and self.at_keyword("as"):
            self.take()
            alias = self.take()
            if alias.kind != "name":
                raise QueryError("expected a field name after as", alias.start, alias.end)
            name = alias.text
        return Item(node, name)

    def items(self, allow_alias: bool = True, stop: Sequence[str] = ()) -> list[Item]:
        out = [self.item(allow_alias)]
        while self.take_op(",") is not None:
            out.append(self.item(allow_alias))
        if not self.at_end() and not self.at_keyword(*stop):
            raise self.fail(f"unexpected {self.peek().text!r}")
        return out

    def field_names(self) -> list[Item]:
        out = []
        while True:
            tok = self.take()
            if tok.kind != "name":
                raise QueryError("expected a field name", tok.start, tok.end)
            out.append(Item(Field(tok.text), tok.text))
            if self.at_end():
                return out
            self.expect_op(",")

    def command(self) -> Command:
        head = self.take()
        kind = head.text.lower() if head.kind == "name" else ""
        if kind not in _COMMANDS:
            raise QueryError(f"{head.text!r} is not a query command the emulator supports "
                             f"({', '.join(_COMMANDS)})", head.start, head.end)
        cmd = Command(kind, head.start)
        if self.at_end():
            raise QueryError(f"{kind} needs arguments", head.start, head.end)
        if kind == "fields":
            cmd.items = self.items()
        elif kind in ("display", "dedup"):
            cmd.items = self.field_names()
        elif kind == "filter":
            cmd.condition = self.expr()
            if not self.at_end():
                raise self.fail(f"unexpected {self.peek().text!r}")
        elif kind == "stats":
            cmd.items = self.items(stop=("by",))
            for item in cmd.items:
                _check_aggregation(item.expr, self.source, head)
            if self.at_keyword("by"):
                self.take()
                cmd.by = self.items()
        elif kind == "sort":
            cmd.keys = []
            while True:
                node = self.expr()
                if not self.at_keyword("asc", "desc"):
                    raise self.fail("sort needs asc or desc after each field (the emulator assumes no default)")
                cmd.keys.append((node, self.take().text.lower() == "desc"))
                if self.at_end():
                    break
                self.expect_op(",")
        elif kind == "limit":
            tok = self.take()
            if tok.kind != "num" or not tok.text.isdigit() or int(tok.text) <= 0 or not self.at_end():
                raise QueryError("limit needs one positive whole number", tok.start, tok.end)
            cmd.count = int(tok.text)
        elif kind == "parse":
            self.parse_command(cmd)
        return cmd

    def parse_command(self, cmd: Command) -> None:
        cmd.source = self.additive()
        tok = self.take()
        if tok.kind == "regex":
            cmd.pattern = _compile(tok.text, tok)
            cmd.names = list(cmd.pattern.groupindex)
            if not cmd.names:
                raise QueryError("a parse regex needs named groups (?<name>...)", tok.start, tok.end)
        elif tok.kind == "str":
            parts = tok.text.split("*")
            if len(parts) < 2:
                raise QueryError("a parse pattern needs at least one *", tok.start, tok.end)
            # Each * matches as little as it can, except a * that ends the pattern: the rest.
            groups = ["(.*?)"] * (len(parts) - 2) + ["(.*)" if parts[-1] == "" else "(.*?)", ""]
            body = "".join(re.escape(p) + g for p, g in zip(parts, groups))
            cmd.pattern = re.compile(body, re.DOTALL)
            if not self.at_keyword("as"):
                raise self.fail("a parse pattern with * needs `as` and a field name for each *")
            self.take()
            cmd.names = [item.name for item in self.field_names()]
            if len(cmd.names) != len(parts) - 1:
                raise QueryError(f"the pattern has {len(parts) - 1} * but {len(cmd.names)} names follow as",
                                 tok.start, tok.end)
            return
        else:
            raise QueryError("parse needs a \"pattern\" or a /regex/", tok.start, tok.end)
        if not self.at_end():
            raise self.fail(f"unexpected {self.peek().text!r}")


def _contains_aggregate(node: Expr) -> bool:
    if isinstance(node, Call):
        return node.name in _AGGREGATES or any(_contains_aggregate(a) for a in node.args)
    if isinstance(node, Unary):
        return _contains_aggregate(node.operand)
    if isinstance(node, Binary):
        return _contains_aggregate(node.left) or _contains_aggregate(node.right)
    return False


def _check_aggregation(node: Expr, source: str, head: Token) -> None:
    """A stats item is an aggregation, or arithmetic and functions over aggregations."""
    if isinstance(node, Call) and node.name in _UNSUPPORTED_AGGREGATES:
        raise QueryError(f"{node.name}() is not supported by the emulator", node.start, node.start + len(node.name))
    if isinstance(node, Call) and node.name in _AGGREGATES:
        return
    if isinstance(node, (Lit, Duration)):
        return
    if isinstance(node, Unary):
        return _check_aggregation(node.operand, source, head)
    if isinstance(node, Binary):
        _check_aggregation(node.left, source, head)
        return _check_aggregation(node.right, source, head)
    if isinstance(node, Call) and _contains_aggregate(node):
        for arg in node.args:
            _check_aggregation(arg, source, head)
        return
    raise QueryError("every stats item must be an aggregation such as count(*), sum(x) or avg(x)",
                     head.start, head.end)


@dataclass
class Query:
    text: str
    commands: list[Command]


def parse_query(text: str) -> Query:
    toks = lex(text)
    segments: list[list[Token]] = [[]]
    for tok in toks:
        if tok.kind == "pipe":
            segments.append([])
        elif tok.kind != "end":
            segments[-1].append(tok)
    commands = []
    for segment in segments:
        if not segment:
            where = toks[-1].start
            raise QueryError("empty command between pipes", where, where)
        end = Token("end", "", segment[-1].end, segment[-1].end)
        commands.append(_Parser(text, segment + [end]).command())
    for before, after in zip(commands, commands[1:]):
        if before.kind == "dedup" and after.kind != "limit":
            raise QueryError("only limit can follow dedup", after.start, after.start + len(after.kind))
    after_stats = False
    for cmd in commands:
        aggregations = [i.expr for i in cmd.items or []] if cmd.kind == "stats" else []
        for node in _expressions(cmd):
            # After a stats, count(*) and the like name its columns.
            _check_functions(node, aggregates_ok=after_stats or any(node is a for a in aggregations))
        after_stats = after_stats or cmd.kind == "stats"
    return Query(text, commands)


def _expressions(cmd: Command) -> list[Expr]:
    nodes = [i.expr for i in (cmd.items or []) + (cmd.by or [])]
    nodes += [n for n in (cmd.condition, cmd.source) if n is not None]
    nodes += [k for k, _ in cmd.keys or []]
    return nodes


def _check_functions(node: Expr, aggregates_ok: bool) -> None:
    """Rejects unknown functions, misplaced aggregations, `*`, regexes and durations
    before anything runs, so that a query with no matching events fails as well."""
    if isinstance(node, (Star, Regex, Duration)):
        what = {Star: "*", Regex: "a /regex/", Duration: f"the duration {getattr(node, 'text', '')}"}[type(node)]
        raise QueryError(f"{what} is not valid there (only in count(*), like / =~, and bin())")
    if isinstance(node, Call):
        known = _SCALAR_FUNCTIONS.keys() | {"ispresent", "isempty", "isblank", "coalesce", "bin", "datefloor"}
        if node.name in _AGGREGATES:
            if not aggregates_ok:
                raise QueryError(f"{node.name}() is only valid as a stats aggregation (or, after stats, as the "
                                 "name of its column)", node.start, node.start + len(node.name))
        elif node.name not in known:
            raise QueryError(f"the function {node.name}() is not supported by the emulator",
                             node.start, node.start + len(node.name))
        for arg in node.args:
            allowed = (isinstance(arg, Star) and node.name == "count") or (
                isinstance(arg, Duration) and node.name in ("bin", "datefloor"))
            if not allowed:
                _check_functions(arg, aggregates_ok)
    elif isinstance(node, Unary):
        _check_functions(node.operand, aggregates_ok)
    elif isinstance(node, Binary):
        _check_functions(node.left, aggregates_ok)
        _check_functions(node.right, aggregates_ok)
    elif isinstance(node, Match):
        _check_functions(node.subject, aggregates_ok)
    elif isinstance(node, In):
        for child in (node.subject, *node.items):
            _check_functions(child, aggregates_ok)


# ---------------------------------------------------------------------------- values

_NUMERIC = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def to_number(value: Any) -> float | int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _NUMERIC.fullmatch(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return None


def render(value: Any) -> str:
    if isinstance(value, Time):
        return value.render()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    return str(value)


def _truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    number = to_number(value)
    if number is not None:
        return number != 0
    return value != ""


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    x, y = to_number(a), to_number(b)
    if x is None or y is None:
        x, y = render(a), render(b)
    if op == "=":
        return x == y
    if op == "!=":
        return x != y
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    return x >= y


def _arith(op: str, a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if x is None or y is None:
        return None
    try:
        if op == "+":
            result = x + y
        elif op == "-":
            result = x - y
        elif op == "*":
            result = x * y
        elif op == "/":
            result = x / y
        elif op == "%":
            result = x % y
        else:
            result = x ** y
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    if isinstance(result, complex) or (isinstance(result, float) and not math.isfinite(result)):
        return None
    return result


def _natural_compare(a: Any, b: Any) -> int:
    """CloudWatch's sort order: non-numbers (chunked) before numbers (by value)."""
    x, y = to_number(a), to_number(b)
    if x is not None and y is not None:
        return (x > y) - (x < y)
    if x is not None:
        return 1
    if y is not None:
        return -1
    ca, cb = re.findall(r"\d+|\D+", render(a)), re.findall(r"\d+|\D+", render(b))
    for p, q in zip(ca, cb):
        if p.isdigit() and q.isdigit():
            key_p, key_q = (len(p), int(p)), (len(q), int(q))
        else:
            key_p, key_q = p, q  # type: ignore[assignment]
        if key_p != key_q:
            return -1 if key_p < key_q else 1
    return (len(ca) > len(cb)) - (len(ca) < len(cb))


_natural_key = functools.cmp_to_key(_natural_compare)


# ---------------------------------------------------------------------------- functions

Row = dict[str, Any]


def _text(value: Any) -> str | None:
    return None if value is None else render(value)


def _string_fn(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        try:
            return fn(*[render(a) for a in args])
        except ValueError:  # e.g. substr with an index that is not a whole number
            return None

    return wrapped


def _number_fn(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any) -> Any:
        numbers = [to_number(a) for a in args]
        if any(n is None for n in numbers):
            return None
        try:
            result = fn(*numbers)
        except (ValueError, OverflowError, ZeroDivisionError):
            return None
        return result

    return wrapped


def _trim(side: str) -> Callable[..., Any]:
    def fn(text: Any, chars: Any = None) -> Any:
        text = render(text)
        chars = None if chars is None else render(chars)
        return {"l": text.lstrip, "r": text.rstrip, "": text.strip}[side](chars)

    return _string_fn(fn)


def _substr(text: str, start: Any, length: Any = None) -> str:
    start = int(start)
    return text[start:] if length is None else text[start:start + int(length)]


_SCALAR_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    # name: (function over evaluated arguments, min args, max args)
    "abs": (_number_fn(abs), 1, 1),
    "ceil": (_number_fn(math.ceil), 1, 1),
    "floor": (_number_fn(math.floor), 1, 1),
    "sqrt": (_number_fn(math.sqrt), 1, 1),
    "log": (_number_fn(math.log), 1, 1),
    "greatest": (_number_fn(max), 1, 100),
    "least": (_number_fn(min), 1, 100),
    "concat": (_string_fn(lambda *parts: "".join(parts)), 1, 100),
    "strlen": (_string_fn(len), 1, 1),
    "toupper": (_string_fn(str.upper), 1, 1),
    "tolower": (_string_fn(str.lower), 1, 1),
    "trim": (_trim(""), 1, 2),
    "ltrim": (_trim("l"), 1, 2),
    "rtrim": (_trim("r"), 1, 2),
    "strcontains": (_string_fn(lambda s, part: int(part in s)), 2, 2),
    "replace": (_string_fn(lambda s, old, new: s.replace(old, new)), 3, 3),
    "substr": (_string_fn(_substr), 2, 3),
    "tomillis": (_number_fn(int), 1, 1),
    "frommillis": (_number_fn(lambda ms: Time(int(ms))), 1, 1),
}


# ---------------------------------------------------------------------------- evaluation

class Evaluator:
    """Evaluates expressions over a row, or (for stats) over a group of rows."""

    def value(self, node: Expr, row: Row, group: Sequence[Row] | None = None) -> Any:
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Field):
            return row.get(node.name)
        if isinstance(node, Unary):
            if node.op == "not":
                return not _truthy(self.value(node.operand, row, group))
            return _arith("*", -1, self.value(node.operand, row, group))
        if isinstance(node, Binary):
            if node.op == "and":
                return _truthy(self.value(node.left, row, group)) and _truthy(self.value(node.right, row, group))
            if node.op == "or":
                return _truthy(self.value(node.left, row, group)) or _truthy(self.value(node.right, row, group))
            left, right = self.value(node.left, row, group), self.value(node.right, row, group)
            if node.op in ("=", "!=", "<", "<=", ">", ">="):
                return _compare(node.op, left, right)
            return _arith(node.op, left, right)
        if isinstance(node, Match):
            subject = _text(self.value(node.subject, row, group))
            if subject is None:
                return False
            if isinstance(node.pattern, Regex):
                found = node.pattern.pattern.search(subject) is not None
            else:
                found = render(node.pattern.value) in subject
            return found != node.negate
        if isinstance(node, In):
            subject = self.value(node.subject, row, group)
            if subject is None:
                return False
            found = any(_compare("=", subject, self.value(item, row, group)) for item in node.items)
            return found != node.negate
        if isinstance(node, Call):
            return self.call(node, row, group)
        if isinstance(node, (Star, Regex, Duration)):
            raise QueryError("* , a /regex/ or a duration is not valid here")
        raise QueryError(f"cannot evaluate {node}")

    def call(self, node: Call, row: Row, group: Sequence[Row] | None) -> Any:
        name, args = node.name, node.args
        if group is None and node.text in row:  # a stats column such as count(*) or bin(1h)
            return row[node.text]
        if name in _AGGREGATES:
            if group is None:
                raise QueryError(f"{name}() is only valid in stats", node.start, node.start + len(name))
            return self.aggregate(node, group)
        if name == "ispresent":
            if len(args) != 1 or not isinstance(args[0], Field):
                raise QueryError("ispresent takes one field name", node.start)
            return row.get(args[0].name) is not None
        if name in ("isempty", "isblank"):
            if len(args) != 1:
                raise QueryError(f"{name} takes one argument", node.start)
            value = self.value(args[0], row, group)
            text = "" if value is None else render(value)
            return int(text == "" or (name == "isblank" and text.strip() == ""))
        if name == "coalesce":
            return next((v for v in (self.value(a, row, group) for a in args) if v is not None), None)
        if name in ("bin", "datefloor"):
            return self.bin(node, row, group)
        if name not in _SCALAR_FUNCTIONS:
            raise QueryError(f"the function {name}() is not supported by the emulator",
                             node.start, node.start + len(name))
        fn, least, most = _SCALAR_FUNCTIONS[name]
        if not least <= len(args) <= most:
            raise QueryError(f"{name}() takes {least}" + (f" to {most}" if most != least else "") + " arguments",
                             node.start)
        return fn(*[self.value(a, row, group) for a in args])

    def bin(self, node: Call, row: Row, group: Sequence[Row] | None) -> Any:
        args = node.args
        if node.name == "bin":
            if len(args) != 1 or not isinstance(args[0], Duration):
                raise QueryError("bin takes a period such as 5m or 1h", node.start)
            stamp, period = row.get("@timestamp"), args[0]
        else:
            if len(args) != 2 or not isinstance(args[1], Duration):
                raise QueryError("datefloor takes a timestamp and a period such as 1h", node.start)
            stamp, period = self.value(args[0], row, group), args[1]
        number = to_number(stamp)
        if number is None:
            return None
        return Time(int(number) // period.millis * period.millis)

    def aggregate(self, node: Call, group: Sequence[Row]) -> Any:
        name, args = node.name, node.args
        if name == "count" and (not args or isinstance(args[0], Star)):
            return len(group)
        if len(args) != 1 or isinstance(args[0], Star):
            raise QueryError(f"{name}() takes one field or expression", node.start)
        pairs = [(row, v) for row in group if (v := self.value(args[0], row)) is not None]
        values = [v for _, v in pairs]
        if name == "count":
            return len(values)
        if name == "count_distinct":
            return len({render(v) for v in values})
        if name in ("latest", "earliest"):
            if any(row.get("@timestamp") is None for row, _ in pairs):
                raise QueryError(f"{name}() needs @timestamp, which rows of an earlier stats lack", node.start)
            if not pairs:
                return None
            pick = max if name == "latest" else min
            return pick(pairs, key=lambda rv: int(rv[0]["@timestamp"]))[1]
        if name in ("min", "max"):
            if not values:
                return None
            pick = min if name == "min" else max
            return pick(values, key=_natural_key)
        numbers = [n for n in (to_number(v) for v in values) if n is not None]
        if name == "sum":
            return sum(numbers) if numbers else None
        return sum(numbers) / len(numbers) if numbers else None  # avg


# ---------------------------------------------------------------------------- running a query

@dataclass
class Event:
    timestamp: int  # ms
    ingestion_time: int  # ms
    message: str
    log_stream: str
    log_group: str
    account: str
    ptr: str


@dataclass
class Result:
    rows: list[list[dict[str, str]]]
    records_matched: int
    records_scanned: int
    bytes_scanned: int


def _flatten(value: Any, prefix: str, out: Row) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else (f"@{key}" if key.startswith("@") else key), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}.{index}" if prefix else str(index), out)
    elif value is None:
        return
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    else:
        out[prefix] = value


def discover(event: Event) -> Row:
    """The fields of one event: the system fields and those of its JSON message."""
    row: Row = {}
    text = event.message.strip()
    document = None
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
    elif event.log_group.startswith("/aws/lambda/") and "{" in text:
        try:
            document, _ = json.JSONDecoder().raw_decode(text[text.index("{"):])
        except ValueError:
            document = None
    if isinstance(document, dict):
        _flatten(document, "", row)
    row.update({"@timestamp": Time(event.timestamp), "@ingestionTime": Time(event.ingestion_time),
                "@message": event.message, "@logStream": event.log_stream,
                "@log": f"{event.account}:{event.log_group}", "@ptr": event.ptr})
    return row


def execute(query: Query, events: Iterable[Event], max_rows: int) -> Result:
    """Runs a parsed query over the events already chosen by log group and time range."""
    events = list(events)
    evaluator = Evaluator()
    rows = [discover(e) for e in sorted(events, key=lambda e: -e.timestamp)]
    named: list[str] = []  # fields named by `fields` and `parse`, in order
    display: list[str] | None = None
    aggregated = False
    matched = len(rows)  # events that pass the filters before the first stats
    for cmd in query.commands:
        if cmd.kind == "fields":
            assert cmd.items is not None
            for row in rows:
                for item in cmd.items:
                    value = evaluator.value(item.expr, row, None)
                    if value is None:
                        row.pop(item.name, None)
                    else:
                        row[item.name] = value
            named.extend(i.name for i in cmd.items if i.name not in named)
        elif cmd.kind == "parse":
            assert cmd.source is not None and cmd.names is not None
            for row in rows:
                subject = _text(evaluator.value(cmd.source, row, None))
                m = cmd.pattern.search(subject) if subject is not None else None
                if m:
                    for index, name in enumerate(cmd.names):
                        row[name] = m.group(name) if cmd.pattern.groupindex else m.group(index + 1)
            named.extend(n for n in cmd.names if n not in named)
        elif cmd.kind == "filter":
            assert cmd.condition is not None
            rows = [row for row in rows if _truthy(evaluator.value(cmd.condition, row, None))]
            if not aggregated:
                matched = len(rows)
        elif cmd.kind == "stats":
            rows, named = _stats(evaluator, cmd, rows), [i.name for i in (cmd.by or []) + (cmd.items or [])]
            aggregated = True
        elif cmd.kind == "sort":
            assert cmd.keys is not None
            for node, descending in reversed(cmd.keys):
                present = [(r, v) for r in rows if (v := evaluator.value(node, r, None)) is not None]
                absent = [r for r in rows if evaluator.value(node, r, None) is None]
                present.sort(key=lambda rv: _natural_key(rv[1]), reverse=descending)
                rows = [r for r, _ in present] + absent
        elif cmd.kind == "limit":
            rows = rows[:cmd.count]
        elif cmd.kind == "dedup":
            assert cmd.items is not None
            names = [i.name for i in cmd.items]
            seen: set[tuple[str, ...]] = set()
            kept = []
            for row in rows:
                if any(row.get(n) is None for n in names):
                    kept.append(row)  # null values are never duplicates
                    continue
                key = tuple(render(row[n]) for n in names)
                if key not in seen:
                    seen.add(key)
                    kept.append(row)
            rows = kept
        elif cmd.kind == "display":
            assert cmd.items is not None
            display = [i.name for i in cmd.items]
    columns = display or named or ["@timestamp", "@message"]
    if not aggregated:
        columns = [c for c in columns if c != "@ptr"] + ["@ptr"]
    out = [[{"field": c, "value": render(row[c])} for c in columns if row.get(c) is not None]
           for row in rows[:max_rows]]
    return Result(out, matched, len(events),
                  sum(len(e.message.encode()) for e in events))


def _stats(evaluator: Evaluator, cmd: Command, rows: list[Row]) -> list[Row]:
    by = cmd.by or []
    groups: dict[tuple[str | None, ...], tuple[Row, list[Row]]] = {}
    for row in rows:
        values = [evaluator.value(item.expr, row, None) for item in by]
        key = tuple(None if v is None else render(v) for v in values)
        if key not in groups:
            groups[key] = ({item.name: v for item, v in zip(by, values) if v is not None}, [])
        groups[key][1].append(row)
    if not by and not groups:
        groups[()] = ({}, [])  # stats without by over no rows still gives its one row
    out = []
    for head, members in groups.values():
        result = dict(head)
        for item in cmd.items or []:
            value = evaluator.value(item.expr, {}, members)
            if value is not None:
                result[item.name] = value
        out.append(result)
    return out
