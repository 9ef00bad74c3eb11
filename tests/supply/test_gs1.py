"""GS1 syntaxes: check digits, GTIN normalisation, element strings with and without
parentheses / GS separators, Digital Link URIs, YYMMDD — and bad input named precisely."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medchain.errors import InvalidInput
from medchain.supply import (
    GS,
    GS1Error,
    ProductIdentifier,
    check_digit,
    make_gtin,
    normalize_gtin,
    normalize_sscc,
    parse_element_string,
    parse_yymmdd,
    product_identifier,
)
from support.fuzzing import property_settings

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


def assert_gs1_error(parse, text: str, ai: str, fragment: str) -> GS1Error:
    """`parse(text)` raises a GS1Error naming the application identifier `ai`, whose
    message contains `fragment`; the error is returned for further checks."""
    with pytest.raises(GS1Error) as err:
        parse(text)
    assert err.value.ai == ai, str(err.value)
    assert fragment in str(err.value), str(err.value)
    return err.value


@pytest.mark.parametrize(
    ("gtin", "normalized"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("4006381333931", "04006381333931"),  # GTIN-13 (EAN)
        ("09506000134352", "09506000134352"),  # GTIN-14 (GS1 example)
    ],
)
def test_gtin_normalization_known_values(gtin, normalized):
    assert normalize_gtin(gtin) == normalized
    assert check_digit(normalized[:-1]) == int(normalized[-1])


def test_sscc_known_value():
    assert normalize_sscc("106141411234567897") == "106141411234567897"


PID = ProductIdentifier("09506000134352", "ABC123", "LOT-1", "261231")


def test_element_string_forms():
    hri = "(01)09506000134352(21)ABC123(10)LOT-1(17)261231"
    raw = "010950600013435217261231" + "10LOT-1" + GS + "21ABC123"
    assert PID.element_string() == hri
    assert PID.element_string(parentheses=False) == raw
    for text in (hri, raw, "]d2" + raw, GS + raw, "]Q3" + raw + "\r\n"):
        assert product_identifier(text) == PID
    # Any order, GS after a fixed-length field tolerated, serial last without GS.
    assert (
        product_identifier("0109506000134352" + GS + "21ABC123" + GS + "17261231" + "10LOT-1")
        == PID
    )


def test_variable_length_termination():
    # Without GS the lot would swallow the serial: named as a missing separator.
    assert_gs1_error(
        parse_element_string,
        "0109506000134352" + "10LOT-1" + "21ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "10",
        "GS separator is missing",
    )
    # Exactly 20 characters at the end is fine.
    found = parse_element_string("0109506000134352" + "21" + "A" * 20)
    assert found["21"] == "A" * 20


def test_digital_link_forms():
    assert PID.digital_link() == "https://id.gs1.org/01/09506000134352/10/LOT-1/21/ABC123?17=261231"
    query_form = PID.digital_link(lot_in_path=False)
    assert query_form == "https://id.gs1.org/01/09506000134352/21/ABC123?10=LOT-1&17=261231"
    for uri in (PID.digital_link(), query_form):
        assert product_identifier(uri) == PID
    # Custom domain with a path prefix, GTIN-13 in the URI, percent-encoded serial.
    odd = ProductIdentifier("04006381333931", "A/B%C?D", "L1", "270600")
    uri = "https://brand.example/dl/01/4006381333931/21/A%2FB%25C%3FD?17=270600&10=L1"
    assert product_identifier(uri) == odd
    assert product_identifier(odd.digital_link("https://brand.example/")) == odd


@pytest.mark.parametrize(
    ("kind", "text", "ai", "fragment"),
    [
        ("sscc", "106141411234567890", "00", "expected 7"),
        ("gtin", "09506000134353", "01", "check digit 3, expected 2"),
        ("gtin", "0950600013435", "01", "check digit"),
        ("gtin", "123456789", "01", "has 9 digits"),
        ("gtin", "09506000l34352", "01", "not all digits"),
        ("scan", "(01)09506000134352(21)ABC123(10)LOT-1", "17", "is missing"),
        ("scan", "(01)09506000134352(21)ABC123(10)LOT-1(17)261331", "17", "month 13"),
        ("scan", "(01)09506000134352(21)ABC123(10)LOT-1(17)250229", "17", "day 29 does not exist"),
        ("scan", "(01)09506000134352(21)ABC123(10)LOT-1(17)2612", "17", "expected 6"),
        ("scan", "(01)09506000134353(21)ABC123(10)LOT-1(17)261231", "01", "check digit"),
        ("scan", "(01)09506000134352(21)ABC 123(10)LOT-1(17)261231", "21", "character set 82"),
        (
            "scan",
            "(01)09506000134352(21)" + "X" * 21 + "(10)LOT-1(17)261231",
            "21",
            "longer than 20",
        ),
        ("scan", "(01)09506000134352(21)ABC(21)DEF(10)L(17)261231", "21", "appears twice"),
        ("scan", "(01)09506000134352(99)ABC", "99", "not an application identifier"),
        ("scan", "01095060001343", "01", "shorter than its fixed length"),
        ("scan", "(01)09506000134352(21)(10)L(17)261231", "21", "is empty"),
        ("scan", "https://id.gs1.org/01/09506000134352/21", "21", "no value"),
        ("scan", "https://id.gs1.org/gtin/09506000134352", "01", "no /01/"),
        ("scan", "ftp://id.gs1.org/01/09506000134352", "", "not an http"),
        ("scan", "https://id.gs1.org/01/9506000134353/21/A?10=L&17=261231", "01", "check digit"),
        ("scan", "junk(01)09506000134352", "ju", "not an application identifier"),
        ("scan", "(9)junk(01)09506000134352", "", "before the first"),
    ],
)
def test_bad_input_named_precisely(kind, text, ai, fragment):
    """Bad SSCCs, GTINs and scans: a GS1Error (an InvalidInput) naming the AI and the fault."""
    parse = {"sscc": normalize_sscc, "gtin": normalize_gtin, "scan": product_identifier}[kind]
    assert isinstance(assert_gs1_error(parse, text, ai, fragment), InvalidInput)


def test_yymmdd():
    assert parse_yymmdd("240200") == dt.date(2024, 2, 29)  # DD=00: last day, leap year
    assert parse_yymmdd("250200") == dt.date(2025, 2, 28)
    assert parse_yymmdd("261231") == dt.date(2026, 12, 31)
    assert PID.expiry_date == dt.date(2026, 12, 31)


serial_text = st.text(alphabet=CSET82, min_size=1, max_size=20)


@property_settings(150)
@given(
    body=st.text(alphabet=string.digits, min_size=13, max_size=13),
    serial=serial_text,
    lot=serial_text,
    date=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
)
def test_roundtrip_every_form(body, serial, lot, date):
    gtin = body + str(check_digit(body))
    pid = ProductIdentifier(gtin, serial, lot, date.strftime("%y%m%d"))
    assert product_identifier(pid.element_string(parentheses=False)) == pid
    assert product_identifier(pid.digital_link()) == pid
    assert product_identifier(pid.digital_link(lot_in_path=False)) == pid
    if "(" not in serial + lot:  # HRI is ambiguous when values contain "(NN)"
        assert product_identifier(pid.element_string()) == pid
    assert make_gtin(gtin[1:8], gtin[8:13], gtin[0]) == gtin


def test_every_gtin_and_sscc_in_the_supply_docs_is_valid():
    """Every GTIN (14 digits, after (01), /01/, --gtin or before :<lot>) and every SSCC
    (18 digits) in docs/supply.md carries a correct check digit."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "supply.md").read_text()
    gtins = set(re.findall(r"(?<!\d)(\d{14})(?!\d)", text))
    ssccs = set(re.findall(r"(?<!\d)(\d{18})(?!\d)", text))
    assert gtins and ssccs
    for gtin in gtins:
        assert normalize_gtin(gtin) == gtin
    for code in ssccs:
        assert normalize_sscc(code) == code
