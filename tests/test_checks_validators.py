"""Customer-field validators: known answers on tiny Series, missing values untested."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.checks import validators as v

HOSTILE = ["<script>alert(1)</script>", '=HYPERLINK("http://evil","x")']


def test_map_distinct_calls_fn_once_per_distinct_value():
    seen = []

    def fn(u: pd.Series) -> pd.Series:
        seen.append(list(u))
        return u.str.upper()

    out = v.map_distinct(pd.Series(["a", "b", "a", None, "  ", "b"], index=list("pqrstu")), fn)
    assert seen == [["a", "b"]]
    assert out.index.tolist() == list("pqrstu")
    assert out.tolist()[:3] == ["A", "B", "A"] and out.iloc[3:5].isna().all()


def test_is_missing_counts_blank_text_as_missing():
    assert v.is_missing(pd.Series(["x", "", "   ", None, 0])).tolist() == [False, True, True, True, False]
    assert v.is_missing(pd.Series([1.0, None])).tolist() == [False, True]


def test_emails_valid_and_normalized():
    s = pd.Series(["Ann@Example.COM", " bob@x.org ", "no-at-sign", "a@@b.com", "a@b", None, "", *HOSTILE])
    valid, normalized = v.validate_emails(s)
    assert valid.tolist()[:5] == [True, True, False, False, False]
    assert valid.iloc[5:7].isna().all()
    assert valid.iloc[7:].tolist() == [False, False]
    assert normalized.iloc[0] == "Ann@example.com"
    assert normalized.iloc[1] == "bob@x.org"
    assert normalized.iloc[2] is None


def test_phones_valid_with_default_region_and_e164():
    s = pd.Series(["(212) 555-0123", "+44 20 7946 0958", "212.555.0123", "12345", None, 2125550123.0, *HOSTILE])
    valid, e164 = v.validate_phones(s, region="US")
    assert valid.tolist()[:4] == [True, True, True, False]
    assert pd.isna(valid.iloc[4])
    assert valid.iloc[5] and e164.iloc[5] == "+12125550123"
    assert valid.iloc[6:].tolist() == [False, False]
    assert e164.iloc[0] == "+12125550123" and e164.iloc[1] == "+442079460958"


@pytest.mark.parametrize(
    ("country", "good", "bad"),
    [
        ("US", ["02134", "02134-1234"], ["2134", "ABCDE"]),
        ("CA", ["K1A 0B1", "k1a0b1"], ["12345"]),
        ("GB", ["SW1A 1AA", "EC1A1BB"], ["12345"]),
        ("DE", ["10115"], ["1011"]),
        ("FR", ["75008"], ["99999"]),
        ("NL", ["1012 AB"], ["1012 SA"]),
        ("AU", ["2000"], ["20000"]),
        ("IN", ["110001"], ["010001"]),
        ("BR", ["01310-100"], ["0131-100"]),
        ("JP", ["100-0001"], ["1000-001"]),
    ],
)
def test_postcode_patterns_per_country(country, good, bad):
    out = v.valid_postcodes(pd.Series(good + bad), country)
    assert out.tolist() == [True] * len(good) + [False] * len(bad)


def test_postcode_country_from_column_names_and_unknown_country_untested():
    codes = pd.Series(["02134", "SW1A 1AA", "12345", "ABC", None])
    countries = pd.Series(["USA", "United Kingdom", "Narnia", "US", "US"])
    out = v.valid_postcodes(codes, countries)
    assert out.iloc[0] and out.iloc[1]
    assert not out.iloc[3]
    assert pd.isna(out.iloc[2]) and pd.isna(out.iloc[4])


def test_postal_country_names_and_codes():
    assert v.postal_country("United States") == "US"
    assert v.postal_country(" de ") == "DE"
    assert v.postal_country("Narnia") is None
    assert v.postal_country(None) is None


def test_parse_dates_several_formats():
    s = pd.Series(["2020-01-02", "01/02/2020", "2 Jan 2020", "2020/01/02", "2020-01-02T10:00:00+02:00",
                   "junk", None, "", "2020-02-30", *HOSTILE])
    out = v.parse_dates(s)
    assert (out.iloc[:4] == pd.Timestamp("2020-01-02")).all()
    assert out.iloc[4] == pd.Timestamp("2020-01-02 08:00")
    assert out.iloc[5:].isna().all()


def test_parse_dates_dayfirst_and_datetime_passthrough():
    assert v.parse_dates(pd.Series(["01/02/2020"]), dayfirst=True).iloc[0] == pd.Timestamp("2020-02-01")
    aware = pd.Series(pd.to_datetime(["2020-01-01T05:00:00+05:00"]))
    assert v.parse_dates(aware).iloc[0] == pd.Timestamp("2020-01-01")


def test_age_years_counts_completed_years():
    dob = pd.Series(["2000-06-15", "2000-06-16", "2030-01-01", None, "junk"])
    age = v.age_years(dob, as_of="2020-06-15")
    assert age.iloc[:3].tolist() == [20.0, 19.0, -10.0]
    assert age.iloc[3:].isna().all()


def test_consent_flags_domain():
    s = pd.Series(["Y", "n", "YES", "No", "true", "FALSE", "1", 0, True, "maybe", None, " "])
    out = v.consent_flags(s)
    assert out.iloc[:9].tolist() == [True, False, True, False, True, False, True, False, True]
    assert out.iloc[9:].isna().all()


@pytest.mark.parametrize(
    ("value", "region", "status"),
    [
        ("(212) 555-0123", "US", "valid"),
        ("555-0123", "US", "local"),        # 7 digits: dialable inside its area code
        ("5550123", "US", "local"),
        ("(212) 123-4567", "US", "possible"),  # right length, but no exchange starts with 1
        ("+44 20 7946 0958", "US", "valid"),  # +code wins over the region
        ("020 7946 0958", "GB", "valid"),
        ("020 7946 0958", "US", "invalid"),
        ("12", "US", "invalid"),
        ("call me", "US", "invalid"),
    ],
)
def test_phone_status_table(value, region, status):
    assert v.phone_status(pd.Series([value]), region).iloc[0] == status


def test_phone_status_per_row_region_and_missing():
    s = pd.Series(["020 7946 0958", "020 7946 0958", None, "  "])
    out = v.phone_status(s, pd.Series(["GB", "US", "GB", "GB"]))
    assert out.tolist() == ["valid", "invalid", None, None]


def test_validate_phones_local_numbers():
    s = pd.Series(["555-0123", "(212) 555-0123"])
    valid, e164 = v.validate_phones(s, "US")
    assert valid.tolist() == [True, True] and e164.tolist() == [None, "+12125550123"]  # local: no E.164
    assert v.validate_phones(s, "US", local=False).valid.tolist() == [False, True]


def test_parse_dates_reads_what_standardization_reads():
    s = pd.Series(["13/02/2020", "March 7th, 1985", "07.03.1985", "19850307", "2020-01-02 10:30", "01/02/30"])
    out = v.parse_dates(s)
    assert out.tolist()[:4] == [pd.Timestamp("2020-02-13"), pd.Timestamp("1985-03-07"),
                                pd.Timestamp("1985-03-07"), pd.Timestamp("1985-03-07")]
    assert out.iloc[4] == pd.Timestamp("2020-01-02 10:30")  # the time of day is kept
    assert out.iloc[5] == pd.Timestamp("2030-01-02")
    assert v.parse_dates(s.iloc[5:], past=True).iloc[0] == pd.Timestamp("1930-01-02")  # birth dates
    assert v.parse_dates(pd.Series(["13/02/2020"]), formats=["%m/%d/%Y"]).isna().all()  # explicit formats only
