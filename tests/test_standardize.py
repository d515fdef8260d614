"""Tests for workbench.standardize: ground truth on tiny Series, invariants by hypothesis.

The timing smoke at the end prints seconds per function and asserts nothing;
it uses 20,000 rows (1,000 distinct) by default so the suite stays fast; set
WORKBENCH_BENCH_ROWS=1000000 for the full-size figures (1,000,000 rows drawn
from 50,000 distinct values).
"""

from __future__ import annotations

import datetime as dt
import os
import time

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.schema import Field, Role, Schema
from workbench.standardize import (
    MATCH_KEYS,
    PHONE_STATUSES,
    add_match_keys,
    clean_text,
    email_domain,
    email_local,
    first_initial,
    load_nicknames,
    name_suffix,
    phone_digits,
    read_phones,
    region_for_country,
    standardize_date,
    standardize_email,
    standardize_frame,
    standardize_name,
    standardize_phone,
    standardize_postcode,
    standardize_street,
)

SERIES_FUNCTIONS = [
    clean_text,
    standardize_name,
    name_suffix,
    first_initial,
    standardize_email,
    email_domain,
    email_local,
    standardize_phone,
    phone_digits,
    standardize_date,
    standardize_street,
    standardize_postcode,
]


def S(*values, **kw) -> pd.Series:
    return pd.Series(list(values), dtype=object, **kw)


def out(func, *values, **kw) -> list:
    return func(S(*values), **kw).tolist()


# ---------------------------------------------------------------------------
# Contract shared by every function
# ---------------------------------------------------------------------------

MESSY = pd.Series(
    ["  José Müller ", None, np.nan, "", "   ", pd.NA, "Bob", "n/a", 12.0, "(212) 555-0101"],
    index=[10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    name="col",
    dtype=object,
)


@pytest.mark.parametrize("func", SERIES_FUNCTIONS, ids=lambda f: f.__name__)
def test_contract_missing_stays_none_input_unchanged(func):
    before = MESSY.copy()
    result = func(MESSY)
    pd.testing.assert_series_equal(MESSY, before)  # input never modified
    assert result.dtype == object
    assert result.index.equals(MESSY.index) and result.name == "col"
    values = result.tolist()
    assert values[1] is None and values[2] is None and values[5] is None
    assert values[3] is None and values[4] is None  # blank is missing
    assert all(v is None or (isinstance(v, str) and v != "") for v in values)


@pytest.mark.parametrize("func", SERIES_FUNCTIONS, ids=lambda f: f.__name__)
def test_contract_empty_and_all_missing(func):
    assert func(pd.Series([], dtype=object)).tolist() == []
    assert func(pd.Series([None, np.nan], dtype=object)).tolist() == [None, None]
    assert func(pd.Series([np.nan, np.nan])).tolist() == [None, None]  # float dtype


def test_mixed_types_are_not_merged():
    # True == 1 for hashing; factorizing must not give 1 the result of True
    assert out(clean_text, True, 1, 1.0, "1", False, 0) == ["true", "1", "1", "1", "false", "0"]


@pytest.mark.parametrize("func", SERIES_FUNCTIONS, ids=lambda f: f.__name__)
def test_contract_other_dtypes(func):
    for s in (
        pd.Series(["Bob", None, "Bob"], dtype="string"),
        pd.Series(["Bob", None, "Bob"], dtype="category"),
    ):
        r = func(s)
        assert r.dtype == object and r.iloc[1] is None and r.iloc[0] == r.iloc[2]


# ---------------------------------------------------------------------------
# clean_text
# ---------------------------------------------------------------------------


def test_clean_text_ground_truth():
    assert out(clean_text, "José Müller", "  JOSÉ   müller\t") == ["jose muller", "jose muller"]
    assert out(clean_text, "O'Brien", "Smith-Jones", "Smith, John.") == [
        "o brien",
        "smith jones",
        "smith john",
    ]
    assert out(clean_text, "U.S.A.", "P.O. Box 5", "St.John") == ["usa", "po box 5", "st john"]
    assert out(clean_text, "Straße", "İstanbul", "Ångström") == ["strasse", "istanbul", "angstrom"]
    assert out(clean_text, "", "  ", "...", "-") == [None, None, None, None]


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------


def test_standardize_name_ground_truth():
    assert out(standardize_name, "Bob", "bobby", "Robert", "ROB") == ["robert"] * 4
    assert out(standardize_name, "José Müller") == ["jose muller"]
    assert (
        out(standardize_name, "Mr. Bob Smith Jr.", "Dr Robert Smith, PhD") == ["robert smith"] * 2
    )
    assert out(standardize_name, "J.") == ["j"]
    assert out(standardize_name, "Mrs", "N/A", "Unknown") == [None, None, None]
    # only the first (given) token is mapped
    assert out(standardize_name, "Bob Rich") == ["robert rich"]
    # a leading "Junior" is a given name, not a suffix
    assert out(standardize_name, "Junior Silva") == ["junior silva"]


def test_standardize_name_nickname_options():
    assert out(standardize_name, "Bob", nicknames=False) == ["bob"]
    assert out(standardize_name, "Bob", "Beto", nicknames={"Beto": "Alberto"}) == ["bob", "alberto"]
    with pytest.raises(ValueError, match="canonical"):
        standardize_name(S("a"), nicknames={"a": "b", "b": "c"})


def test_ambiguous_nicknames_stay_themselves():
    for nick in ["chris", "alex", "sam", "pat", "jo", "terry", "fran"]:
        assert out(standardize_name, nick.title()) == [nick]


def test_name_suffix_and_first_initial():
    assert out(name_suffix, "John Smith Jr.", "John Smith Sr", "John Smith III", "John Smith") == [
        "jr",
        "sr",
        "iii",
        None,
    ]
    assert out(name_suffix, "Smith Junior", "Junior") == ["jr", None]
    # father and son differ only by the suffix
    assert out(standardize_name, "John Smith Jr.", "John Smith Sr.") == ["john smith"] * 2
    assert out(first_initial, "J.", "John", "Mr. J Smith", "Bob", None) == [
        "j",
        "j",
        "j",
        "r",
        None,
    ]
    assert out(first_initial, "Bob", nicknames=False) == ["b"]


def test_nickname_table():
    table = load_nicknames()
    assert len(table) >= 300
    expected = {
        "bob": "robert", "rob": "robert", "robbie": "robert", "bobby": "robert",
        "bill": "william", "will": "william", "billy": "william", "willy": "william",
        "liam": "william", "liz": "elizabeth", "beth": "elizabeth", "betty": "elizabeth",
        "eliza": "elizabeth", "lizzie": "elizabeth", "elsie": "elizabeth", "kate": "katherine",
        "katie": "katherine", "kathy": "katherine", "kat": "katherine",
        "catherine": "katherine", "kathryn": "katherine", "mike": "michael", "mick": "michael",
        "mikey": "michael", "jim": "james", "jimmy": "james", "jamie": "james",
        "jen": "jennifer", "jenny": "jennifer", "tom": "thomas", "tommy": "thomas",
        "dick": "richard", "rick": "richard", "rich": "richard", "richie": "richard",
        "chuck": "charles", "charlie": "charles", "chas": "charles", "tony": "anthony",
        "peggy": "margaret", "maggie": "margaret", "meg": "margaret", "sue": "susan",
        "susie": "susan", "dave": "david", "dan": "daniel", "danny": "daniel",
        "chris": "chris", "alex": "alex", "sam": "sam", "pat": "pat", "jo": "jo",
        "terry": "terry", "fran": "fran", "matt": "matthew", "steve": "steven",
        "stephen": "steven", "joe": "joseph", "joey": "joseph", "nick": "nicholas",
        "ben": "benjamin", "andy": "andrew", "drew": "andrew", "greg": "gregory",
        "jeff": "jeffrey", "ron": "ronald", "don": "donald", "ken": "kenneth",
        "larry": "lawrence", "jerry": "gerald", "hank": "henry", "jack": "john",
        "ted": "edward", "ed": "edward", "eddie": "edward", "abby": "abigail",
        "becky": "rebecca", "patty": "patricia", "trish": "patricia", "debbie": "deborah",
        "cindy": "cynthia", "vicky": "victoria", "mandy": "amanda", "jess": "jessica",
        "nate": "nathan", "tim": "timothy", "zach": "zachary",
    }  # fmt: skip
    for nick, canonical in expected.items():
        assert table[nick] == canonical, nick
    for nick, canonical in table.items():
        assert nick == nick.lower().strip() and " " not in nick and nick.isascii()
        assert table.get(canonical, canonical) == canonical, (nick, canonical)  # closed
    assert load_nicknames() is not load_nicknames()  # callers get a copy


# ---------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------


def test_standardize_email_ground_truth():
    assert out(standardize_email, "John.Smith+shop@GMail.com", " johnsmith@googlemail.com ") == [
        "johnsmith@gmail.com",
        "johnsmith@gmail.com",
    ]
    # dots matter outside gmail, tags are dropped everywhere
    assert out(standardize_email, "John.Smith+x@Example.ORG") == ["john.smith@example.org"]
    assert (
        out(standardize_email, "n/a", "none", "no at sign", "a@b", "@x.com", "a@@x.com")
        == [None] * 6
    )
    assert out(standardize_email, "+tag@x.com", "Jane Doe <Jane@X.com>", "mailto:jane@x.com") == [
        None,
        "jane@x.com",
        "jane@x.com",
    ]


def test_email_parts():
    assert out(email_domain, "John.Smith+shop@GMail.com", "bad") == ["gmail.com", None]
    assert out(email_local, "John.Smith+shop@GMail.com", "bad") == ["johnsmith", None]


# ---------------------------------------------------------------------------
# Phone
# ---------------------------------------------------------------------------


def test_standardize_phone_ground_truth():
    forms = [
        "(212) 555-0101",
        "212.555.0101",
        "+1 212 555 0101",
        "1-212-555-0101",
        2125550101,
        2125550101.0,
    ]
    assert out(standardize_phone, *forms) == ["+12125550101"] * len(forms)
    assert out(standardize_phone, "212-555-0101 ext. 7") == ["+12125550101"]
    assert (
        out(standardize_phone, "555-0101", "abc", "12", "n/a") == [None] * 4
    )  # no area code: not possible
    assert out(standardize_phone, "020 7946 0958", region="GB") == ["+442079460958"]
    assert out(standardize_phone, "+44 20 7946 0958") == ["+442079460958"]
    with pytest.raises(ValueError, match="region"):
        standardize_phone(S("1"), region="XX")


def _reference_phone(value: str, region: str) -> str | None:
    try:
        num = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if (
        phonenumbers.is_possible_number_with_reason(num)
        != phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize("region", ["US", "CA", "GB"])
def test_phone_fast_path_agrees_with_phonenumbers(region):
    rng = np.random.default_rng(1)
    values = []
    for _ in range(1500):
        digits = "".join(rng.choice(list("0123456789"), size=int(rng.integers(9, 13))))
        fmt = rng.integers(0, 4)
        if fmt == 0:
            values.append(digits)
        elif fmt == 1:
            values.append("+" + digits)
        elif fmt == 2:
            values.append(f"({digits[:3]}) {digits[3:6]}-{digits[6:]}")
        else:
            values.append("+1 " + digits[:10])
    got = standardize_phone(pd.Series(values), region).tolist()
    want = [_reference_phone(v, region) for v in values]
    assert got == want


def test_read_phones_statuses_and_e164():
    s = pd.Series(["(212) 555-0101", "555-0101", "(212) 123-4567", "12", None, "  "], index=list("abcdef"))
    read = read_phones(s, "US", strict=True)
    assert read.index.tolist() == list("abcdef")
    assert read["status"].tolist() == ["valid", "local", "possible", "invalid", None, None]
    assert read["e164"].tolist() == ["+12125550101", None, "+12121234567", None, None, None]
    # not strict: no metadata lookup, so a possible number is only "possible"
    assert read_phones(s, "US")["status"].tolist()[:3] == ["possible", "local", "possible"]
    assert set(read["status"].dropna()) <= set(PHONE_STATUSES)


def test_standardize_phone_reads_each_row_in_its_region():
    s = pd.Series(["020 7946 0958", "020 7946 0958", "(212) 555-0101"], index=[10, 11, 12])
    regions = region_for_country(pd.Series(["UK", "USA", None], index=[10, 11, 12]), default="US")
    assert standardize_phone(s, regions).tolist() == ["+442079460958", None, "+12125550101"]
    assert standardize_phone(s, regions).index.tolist() == [10, 11, 12]
    with pytest.raises(ValueError, match="one per value"):
        standardize_phone(s, pd.Series(["GB"]))


def test_phone_digits():
    assert out(phone_digits, "+1 (212) 555-0101", "212-555-0101 x12", "+12125550101", "123") == [
        "2125550101",
        "2125550101",
        "2125550101",
        None,
    ]


def test_region_for_country():
    assert out(region_for_country, "USA", "United Kingdom", "U.K.", "de", "Narnia", None) == [
        "US",
        "GB",
        "GB",
        "DE",
        "US",
        "US",
    ]
    assert out(region_for_country, None, default="GB") == ["GB"]


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------


def test_standardize_date_ground_truth():
    forms = [
        "03/07/1985",
        "3/7/1985",
        "1985-03-07",
        "7 Mar 1985",
        "7 MARCH 1985",
        "March 7th, 1985",
        "Mar 7, 1985",
        "07-Mar-1985",
        "1985/03/07",
        "19850307",
        "1985-03-07T10:30:00Z",
        "1985-03-07 00:00:00",
        "03/07/85",
        "07.03.1985",
        dt.date(1985, 3, 7),
        dt.datetime(1985, 3, 7, 23, 59),
        pd.Timestamp("1985-03-07"),
        np.datetime64("1985-03-07"),
    ]
    assert out(standardize_date, *forms) == ["1985-03-07"] * len(forms)


def test_standardize_date_ambiguity_and_junk():
    assert out(standardize_date, "25/12/1985") == ["1985-12-25"]  # only day-first fits
    assert out(standardize_date, "03/07/1985", dayfirst=True) == ["1985-07-03"]
    assert out(standardize_date, "02/30/1985", "13/13/1985", "1985037", "soon", "n/a") == [None] * 5
    assert out(standardize_date, "03/07/45", past=True) == ["1945-03-07"]
    s = pd.Series(pd.to_datetime(["1985-03-07 12:00", None]))
    assert standardize_date(s).tolist() == ["1985-03-07", None]


# ---------------------------------------------------------------------------
# Street and postcode
# ---------------------------------------------------------------------------


def test_standardize_street_ground_truth():
    a, b = out(standardize_street, "123 Main Street", "123 main st.")
    assert a == b == "123 main st"
    assert (
        out(
            standardize_street, "45 North Avenue, Apt #4", "45 N Ave Unit 4", "45 north av. suite 4"
        )
        == ["45 n ave apt 4"] * 3
    )
    assert out(standardize_street, "9 Elm Boulevard", "9 Elm Blvd", "10 Downing Road") == [
        "9 elm blvd",
        "9 elm blvd",
        "10 downing rd",
    ]
    assert out(standardize_street, "n/a") == [None]


def test_standardize_postcode_ground_truth():
    assert out(
        standardize_postcode, "sw1a 1aa", "SW1A1AA", "12345-6789", "123456789", " 10001 "
    ) == [
        "SW1A1AA",
        "SW1A1AA",
        "12345",
        "12345",
        "10001",
    ]
    assert out(standardize_postcode, 10001.0, "N/A", "-") == ["10001", None, None]


# ---------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------


def _schema() -> Schema:
    roles = {
        "customer_id": Role.ID,
        "first_name": Role.FIRST_NAME,
        "last_name": Role.LAST_NAME,
        "email": Role.EMAIL,
        "phone": Role.PHONE,
        "dob": Role.DATE_OF_BIRTH,
        "street": Role.STREET,
        "city": Role.CITY,
        "zip": Role.POSTCODE,
        "country": Role.COUNTRY,
        "notes": Role.OTHER,
    }
    return Schema(tuple(Field(n, r, False) for n, r in roles.items()), key="customer_id")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array([7, 8, 9], dtype="Int64"),
            "first_name": ["Bob", "  Jöse ", None],
            "last_name": ["Rich Jr.", "Müller", ""],
            "email": ["Bob.Rich+x@gmail.com", "n/a", None],
            "phone": ["(212) 555-0101", "020 7946 0958", None],
            "dob": ["03/07/85", "1985-03-07", "garbage"],
            "street": ["123 Main Street", "1 High St.", None],
            "city": ["New  York", "London", None],
            "zip": ["10001-1234", "sw1a 1aa", None],
            "country": ["USA", "United Kingdom", None],
            "notes": ["VIP!", None, ""],
            "unmapped": [1.5, 2.5, None],
        },
        index=["a", "b", "c"],
    )


def test_standardize_frame():
    frame = _frame()
    before = frame.copy()
    std = standardize_frame(frame, _schema())
    pd.testing.assert_frame_equal(frame, before)  # originals untouched
    assert (
        std is not frame
        and list(std.columns) == list(frame.columns)
        and std.index.equals(frame.index)
    )
    pd.testing.assert_series_equal(std["customer_id"], frame["customer_id"])
    pd.testing.assert_series_equal(std["unmapped"], frame["unmapped"])
    assert std.loc["a"].drop(["customer_id", "unmapped"]).tolist() == [
        "robert", "rich", "bobrich@gmail.com", "+12125550101", "1985-03-07",
        "123 main st", "new york", "10001", "usa", "vip",
    ]  # fmt: skip
    assert std.loc["b", "first_name"] == "jose"
    assert std.loc["b", "phone"] == "+442079460958"  # read as GB from the country column
    assert std.loc["b", "email"] is None
    row_c = std.loc["c"].drop(["customer_id", "unmapped"]).tolist()
    assert row_c == [None] * len(row_c)


def test_standardize_frame_without_country_uses_default_region():
    frame = _frame().drop(columns=["country"])
    schema = Schema(tuple(f for f in _schema().fields if f.name != "country"))
    std = standardize_frame(frame, schema, default_region="GB")
    assert std.loc["b", "phone"] == "+442079460958"
    pd.testing.assert_series_equal(std["phone"], standardize_phone(frame["phone"], "GB"))


def test_add_match_keys():
    frame = _frame()
    schema = _schema()
    std = standardize_frame(frame, schema)
    keys = add_match_keys(std, schema, raw=frame)
    assert list(keys.columns) == list(MATCH_KEYS) and keys.index.equals(std.index)
    assert keys.loc["a"].tolist() == ["r", "jr", "bobrich", "5550101", "1985"]
    assert keys.loc["c"].tolist() == [None] * len(MATCH_KEYS)
    assert keys.map(lambda v: v is None or (isinstance(v, str) and v != "")).all().all()
    without_raw = add_match_keys(std, schema)
    assert without_raw["name_suffix"].tolist() == [None, None, None]
    joined = std.join(keys)
    assert len(joined.columns) == len(std.columns) + len(MATCH_KEYS)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30
) | st.sampled_from(
    [
        "José Müller",
        "Mr. Bob Smith Jr.",
        "J.R. Smith",
        "U.S.A.",
        "apt #4 apt",
        "İ",
        "ß",
        "ǅ",
        "ﬁ",
        "½",
    ]
)
EMAILISH = st.builds(
    lambda a, b, c: f"{a}@{b}.{c}",
    st.text(alphabet="aB.+-_x9 ", min_size=0, max_size=12),
    st.sampled_from(["gmail", "GoogleMail", "example", "x-y", "ß"]),
    st.sampled_from(["com", "org", "co.uk", "c", ""]),
)


def _no_empty(values) -> bool:
    return all(v is None or (isinstance(v, str) and v != "") for v in values)


@pytest.mark.parametrize(
    "func",
    [clean_text, standardize_email, standardize_street, standardize_name],
    ids=lambda f: f.__name__,
)
@settings(max_examples=150, deadline=None)
@given(values=st.lists(TEXT | EMAILISH | st.none(), max_size=8))
def test_idempotent_and_never_empty(func, values):
    once = func(pd.Series(values, dtype=object))
    twice = func(once)
    assert twice.tolist() == once.tolist()
    assert _no_empty(once.tolist())


@settings(max_examples=100, deadline=None)
@given(values=st.lists(TEXT | st.none(), max_size=8))
def test_never_empty_everywhere(values):
    s = pd.Series(values, dtype=object)
    for func in SERIES_FUNCTIONS:
        assert _no_empty(func(s).tolist()), func.__name__


# ---------------------------------------------------------------------------
# Timing smoke (prints, asserts nothing)
# ---------------------------------------------------------------------------


def test_timing_smoke(capsys):
    rows = int(os.environ.get("WORKBENCH_BENCH_ROWS", "20000"))
    distinct = min(50_000, max(1, rows // 20))  # 1,000,000 rows -> 50,000 distinct
    rng = np.random.default_rng(0)
    k = np.arange(distinct)
    firsts = np.array(
        ["Bob", "Robert", "José", "Kate", "Mike", "Liz", "Jennifer", "Tom", "Chris", "Sue"]
    )
    lasts = np.array(
        ["Smith", "Müller", "O'Brien", "Jones", "Garcia", "Nguyen", "Lee", "Brown Jr."]
    )
    names = np.array([f"{firsts[i % 10]} {lasts[i % 8]}{i}" for i in k], dtype=object)
    emails = np.array(
        [f"{firsts[i % 10]}.X{i}+t@{'GMail.com' if i % 3 else 'ex.org'}" for i in k], dtype=object
    )
    phones = np.array(
        [
            f"({200 + i % 700}) 555-{i % 10000:04d}"
            if i % 2
            else f"+1 {200 + i % 700}.{300 + i % 600}.{i % 10000:04d}"
            for i in k
        ],
        dtype=object,
    )
    days = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 25_000, distinct), unit="D")
    date_formats = ["%m/%d/%Y", "%Y-%m-%d", "%d %b %Y", "%m/%d/%y"]
    dates = np.array([d.strftime(date_formats[i % 4]) for i, d in enumerate(days)], dtype=object)
    streets = np.array(
        [
            f"{i} {['Main', 'Oak', 'Elm'][i % 3]} {['Street', 'St.', 'Avenue', 'Rd'][i % 4]} Apt #{i % 50}"
            for i in k
        ],
        dtype=object,
    )
    posts = np.array(
        [f"{i % 100000:05d}-{i % 9999:04d}" if i % 2 else f"SW{i % 9}A {i % 10}AA" for i in k],
        dtype=object,
    )
    pick = rng.integers(0, distinct, rows)
    cases = [
        (clean_text, names), (standardize_name, names), (name_suffix, names), (first_initial, names),
        (standardize_email, emails), (email_domain, emails), (email_local, emails),
        (standardize_phone, phones), (phone_digits, phones), (standardize_date, dates),
        (standardize_street, streets), (standardize_postcode, posts),
    ]  # fmt: skip
    lines = [f"standardize timing: {rows:,} rows from {distinct:,} distinct values"]
    for func, pool in cases:
        s = pd.Series(pool[pick])
        start = time.perf_counter()
        func(s)
        lines.append(f"  {func.__name__:22s} {time.perf_counter() - start:6.2f} s")
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_phone_regions_and_phone_key_are_the_one_phone_rule():
    from workbench.standardize import phone_key, phone_regions

    countries = pd.Series(["GB", None, "United Kingdom", "DE"])
    assert phone_regions(countries).tolist() == ["GB", "GB", "GB", "DE"]  # unknown rows: the most common
    assert phone_regions(countries, "FR").tolist() == ["GB", "FR", "GB", "DE"]
    assert phone_regions(None) == "US" and phone_regions(None, "NL") == "NL"
    phones = pd.Series(["020 7946 0958", "(212) 555-0101", "555-0101 x9", None])
    assert phone_key(phones, pd.Series(["GB", "US", "US", "US"])).tolist() == [
        "+442079460958", "+12125550101", "5550101", None]  # a local number without area code: its digits
    local = phone_key(pd.Series(["8765 4321"]), "US")  # not a US number: its digits still join its copies
    assert local.tolist() == ["87654321"]
