"""Tokens, the tokenizing loop and the token cursor that the emulator's three parsers share.

Three small languages are parsed in this package: metric math (metric_math), the query of
SEARCH() (metric_search) and the Logs Insights query language (insights_query). Each has its
own tokens, grammar and error type; what they have in common lives here, so that it is written
once: a token (its kind, its text, where it stands in the source), a loop that skips white
space, lets the language scan each token and ends the list with an `end` token, and a
recursive-descent cursor over such a list (look at the next token, take it, take or expect
an operator). The cursor has no helper that calls back into a grammar (a comma-separated list,
a chain of binary operators): each would add a stack frame per level of nesting, so deeply
nested expressions would reach Python's recursion limit sooner than they do.
No moto behaviour is patched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass
class Token:
    kind: str  # the language's own kinds, and "end" after the last token
    text: str  # what the token stands for (a quoted string without its quotes)
    start: int  # where it starts in the source
    end: int  # where it ends in the source


def tokenize(source: str, scan: Callable[[str, int, list[Token]], int]) -> list[Token]:
    """The tokens of `source`, ending with an `end` token. White space separates tokens;
    `scan(source, i, tokens)` reads what starts at `i` (a token, which it appends, or
    something it skips), and returns where it stopped; it raises the language's error."""
    toks: list[Token] = []
    i = 0
    while i < len(source):
        if source[i].isspace():
            i += 1
        else:
            i = scan(source, i, toks)
    toks.append(Token("end", "", len(source), len(source)))
    return toks


class TokenCursor:
    """A recursive-descent parser's place in a list of tokens that ends with an `end` token."""

    error: Callable[[str], Exception] = ValueError  # the language's error, from a message

    def __init__(self, toks: list[Token]):
        self.toks = toks
        self.i = 0

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at_end(self) -> bool:
        return self.peek().kind == "end"

    def at_op(self, *ops: str) -> bool:
        tok = self.peek()
        return tok.kind == "op" and tok.text in ops

    def take_op(self, *ops: str) -> str | None:
        """Takes the next token if it is one of these operators, and returns its text."""
        return self.take().text if self.at_op(*ops) else None

    def expect_op(self, op: str) -> Token:
        tok = self.take()
        if tok.kind != "op" or tok.text != op:
            raise self.expected(op, tok)
        return tok

    def expected(self, op: str, found: Token) -> Exception:
        """The error for a missing operator `op` where `found` stands."""
        return self.error(f"expected {op!r} at position {found.start}, found {found.text or 'the end'!r}")
