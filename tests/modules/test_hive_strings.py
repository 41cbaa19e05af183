"""A catalog description in the on-prem metastore's SQL (modules/catalog/onprem.py `hive_string`) is data:
no quote, backslash or semicolon of it can end the literal or the statement, and Hive reads the text back.

`unescape` follows Hive's `BaseSemanticAnalyzer.unescapeSQLString` (Apache Hive, ql/parse): inside a
quoted literal, `\\uXXXX` is a UTF-16 code unit, `\\ooo` an octal byte and `\\x` a known escape or `x`."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_blueprint.modules.catalog.onprem import hive_string

ESCAPES = {"0": "\0", "'": "'", '"': '"', "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "\\": "\\"}


def unescape(literal: str) -> str:
    """Hive's reading of one single-quoted literal (the quotes included)."""
    assert literal[0] == literal[-1] == "'"
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and body[i + 1 : i + 2] == "u" and i + 6 <= len(body):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif c == "\\":
            n = body[i + 1]
            out.append(ESCAPES.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out).encode("utf-16-be", "surrogatepass").decode("utf-16-be")


# HiveLexer's StringLiteral: a quote, then (anything but a quote or backslash | a backslash and any char)*
LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'", re.S)


@settings(max_examples=400, deadline=None)
@given(
    st.text(
        alphabet=st.one_of(st.sampled_from(list("'\";\\$%{}`\n\t -_aZ9")), st.characters(blacklist_categories=("Cs",))),
        max_size=40,
    )
)
def test_a_description_is_one_literal_that_reads_back(text):
    sql = f"CREATE DATABASE IF NOT EXISTS sales COMMENT '{hive_string(text)}';"
    literal = LITERAL.search(sql)
    assert literal is not None and sql[literal.end() :] == ";"  # the literal ends where the statement does
    assert sql.count(";") == 1 and unescape(literal.group(0)) == text


def test_plain_text_stays_as_written():
    assert hive_string("sequencing runs and variant calls (v2): 10-20/day") == (
        "sequencing runs and variant calls (v2): 10-20/day"
    )
    assert hive_string("x\\'; DROP DATABASE sales; --") == "x\\u005c\\u0027\\u003b DROP DATABASE sales\\u003b --"
