"""The subset of Intuit's query language the fake understands.

`SELECT * | COUNT(*) FROM Entity [WHERE a op v [AND ...]] [ORDERBY f [ASC|DESC]]
[STARTPOSITION n] [MAXRESULTS n]`, with =, <, >, <=, >=, IN (...) and LIKE '%x%'. String literals
escape a quote as \\' (the documented escaping). Name-list entities return only active rows unless
the query mentions Active, as QuickBooks does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal, InvalidOperation

NAME_LISTS = {"Customer", "Vendor", "Employee", "Item", "Account", "Class", "PaymentMethod"}
MAX_RESULTS = 1000


class QueryError(ValueError):
    pass


@dataclasses.dataclass
class Condition:
    field: str
    op: str
    value: object


@dataclasses.dataclass
class Query:
    entity: str
    count: bool = False
    conditions: list[Condition] = dataclasses.field(default_factory=list)
    order_by: str = ""
    descending: bool = False
    start: int = 1
    max_results: int = 100


_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),*])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<number>-?\d+(?:\.\d+)?))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip().rstrip(";")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"Error parsing query near: {text[pos : pos + 20]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, raw: str) -> object:
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if kind == "number":
        return Decimal(raw)
    if kind == "word" and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise QueryError(f"Expected a value, got {raw!r}")


def parse(text: str) -> Query:
    toks = _tokens(text)
    i = 0

    def peek(offset=0) -> tuple[str, str]:
        return toks[i + offset] if i + offset < len(toks) else ("", "")

    def expect_word(word: str) -> None:
        nonlocal i
        kind, value = peek()
        if kind != "word" or value.upper() != word:
            raise QueryError(f"Expected {word}, got {value!r}")
        i += 1

    expect_word("SELECT")
    count = False
    if peek()[1].upper() == "COUNT":
        count = True
        i += 4  # COUNT ( * )
    else:
        while peek()[1].upper() != "FROM":  # '*' or a field list: the fake returns whole rows
            if not peek()[0]:
                raise QueryError("Missing FROM")
            i += 1
    expect_word("FROM")
    kind, entity = peek()
    if kind != "word":
        raise QueryError("Missing entity name")
    i += 1
    query = Query(entity=entity, count=count)
    if peek()[1].upper() == "WHERE":
        i += 1
        while True:
            kind, field = peek()
            if kind != "word":
                raise QueryError(f"Expected a field name, got {field!r}")
            i += 1
            kind, op = peek()
            if kind == "op":
                i += 1
                value = _literal(*peek())
                i += 1
            elif op.upper() in ("IN", "LIKE"):
                op = op.upper()
                i += 1
                if op == "LIKE":
                    value = _literal(*peek())
                    i += 1
                else:
                    if peek()[1] != "(":
                        raise QueryError("IN needs a list")
                    i += 1
                    value = []
                    while peek()[1] != ")":
                        if peek()[1] == ",":
                            i += 1
                            continue
                        value.append(_literal(*peek()))
                        i += 1
                    i += 1
            else:
                raise QueryError(f"Unknown operator {op!r}")
            query.conditions.append(Condition(field, op, value))
            if peek()[1].upper() == "AND":
                i += 1
                continue
            break
    while i < len(toks):
        word = peek()[1].upper()
        if word in ("ORDERBY", "ORDER"):
            i += 2 if word == "ORDER" else 1  # ORDER BY or ORDERBY
            query.order_by = peek()[1]
            i += 1
            if peek()[1].upper() in ("ASC", "DESC"):
                query.descending = peek()[1].upper() == "DESC"
                i += 1
        elif word == "STARTPOSITION":
            query.start = max(1, int(peek(1)[1]))
            i += 2
        elif word == "MAXRESULTS":
            query.max_results = min(MAX_RESULTS, max(1, int(peek(1)[1])))
            i += 2
        else:
            raise QueryError(f"Unexpected {peek()[1]!r}")
    return query


def _get(row: dict, path: str) -> object:
    value: object = row
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        # Intuit field names are case-insensitive in queries (Metadata vs MetaData).
        match = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(match) if match else None
    return value


def _comparable(value: object) -> object:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    text = str(value)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return Decimal(text)
    except InvalidOperation:
        return text.lower()


def _matches(row: dict, cond: Condition) -> bool:
    actual = _comparable(_get(row, cond.field))
    if cond.op == "IN":
        return actual in [_comparable(v) for v in cond.value]
    if cond.op == "LIKE":
        pattern = re.escape(str(cond.value).lower()).replace("%", ".*")
        return actual is not None and re.fullmatch(pattern, str(actual)) is not None
    expected = _comparable(cond.value)
    if actual is None:
        return False
    if (
        isinstance(expected, dt.datetime)
        and isinstance(actual, dt.datetime)
        and expected.tzinfo is None
    ):
        expected = expected.replace(tzinfo=dt.UTC)
    try:
        return {
            "=": actual == expected,
            "!=": actual != expected,
            "<": actual < expected,
            ">": actual > expected,
            "<=": actual <= expected,
            ">=": actual >= expected,
        }[cond.op]
    except TypeError:
        return False


def run(query: Query, rows: list[dict]) -> dict:
    """The QueryResponse body for these rows."""
    selected = [r for r in rows if all(_matches(r, c) for c in query.conditions)]
    if query.entity in NAME_LISTS and not any(
        c.field.lower() == "active" for c in query.conditions
    ):
        selected = [r for r in selected if r.get("Active", True)]
    if query.count:
        return {"totalCount": len(selected)}
    if query.order_by:
        selected.sort(
            key=lambda r: (_get(r, query.order_by) is None, str(_get(r, query.order_by) or "")),
            reverse=query.descending,
        )
    page = selected[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}
