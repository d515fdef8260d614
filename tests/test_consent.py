"""Consent: the vocabulary, the YAML override, statements from any column names, golden-record survivorship."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import consent
from workbench.checks import validators as v
from workbench.errors import ConfigError, WorkbenchError
from workbench.schema import Role, infer_schema

# -- the vocabulary ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "status"), [
    ("Y", "granted"), ("N", "denied"), ("yes please", "granted"), ("YES, please!", "granted"),
    ("opt-in", "granted"), ("Opt_In", "granted"), ("opted in", "granted"), ("1", "granted"), (1, "granted"),
    (1.0, "granted"), ("1.0", "granted"), (True, "granted"), (np.bool_(True), "granted"), ("0", "denied"),
    (0, "denied"), (False, "denied"), ("unsubscribed", "denied"), ("Opted Out!", "denied"), ("STOP", "denied"),
    ("no thanks", "denied"), (" true ", "granted"), ("✔", "granted"), ("?", "unknown"), ("??", "unknown"),
    ("n/a", "unknown"), ("maybe", "unknown"), ("2", "unknown"), ("blue", "unknown"),
])
def test_messy_values_map_to_one_vocabulary(value, status):
    assert consent.read_status(pd.Series([value], dtype=object)).tolist() == [status]


def test_missing_is_no_statement_not_unknown():
    out = consent.read_status(pd.Series([None, "", "  ", np.nan, "Y"], dtype=object))
    assert out.tolist() == [None, None, None, None, "granted"]


def test_an_inverted_column_flips_answers_but_not_words_that_say_what_they_mean():
    values = pd.Series(["Y", "N", "1", "opted out", "opt-in", "?", "unsubscribed"], dtype=object)
    assert consent.read_status(values, inverted=True).tolist() == [
        "denied", "granted", "denied", "denied", "granted", "unknown", "denied"]


def test_a_date_as_the_value_is_consent_on_that_date():
    frame = pd.DataFrame({"id": ["a", "b"], "newsletter_opt_in": ["2021-03-04", "N"],
                          "unsubscribed_email": ["2022-05-06", None]})
    t = consent.statements(frame, infer_schema(frame, key="id")).table.set_index(["record_key", "column"])
    assert t.loc[("a", "newsletter_opt_in"), "status"] == "granted"
    assert t.loc[("a", "newsletter_opt_in"), "at"] == pd.Timestamp("2021-03-04")
    assert t.loc[("a", "unsubscribed_email"), "status"] == "denied"  # an unsubscribe date: withdrawn then
    assert t.loc[("b", "newsletter_opt_in"), "status"] == "denied"


def test_mapping_table_shows_each_raw_value_with_counts_and_flags_unknowns():
    s = pd.Series(["Y", "y", "Y", "yes please", "?", "blue", None, "", 1, "1"], name="consent_email", dtype=object)
    m = consent.mapping_table(s).set_index("value")
    assert list(consent.mapping_table(s).columns) == consent.MAPPING_COLUMNS
    assert m.loc["Y", "records"] == 2 and m.loc["y", "records"] == 1  # raw values as written
    assert m.loc["1", "records"] == 2 and m.loc["1", "status"] == "granted"  # 1 and "1" are one value as text
    assert m.loc["?", "flagged"] and m.loc["blue", "flagged"] and not m.loc["Y", "flagged"]
    assert "not in the vocabulary" in m.loc["blue", "how"] and "default vocabulary" in m.loc["?", "how"]
    missing = m[m.index.isna()]
    assert missing["records"].tolist() == [2] and missing["status"].isna().all() and not missing["flagged"].any()


def test_mapping_table_of_a_frame_covers_consent_columns_even_those_left_out():
    frame = pd.DataFrame({"id": ["a", "b"], "sms_opt_in": ["Y", "maybe"], "marketing_ok": ["affirmative", "N"]})
    m = consent.mapping_table(frame, infer_schema(frame, key="id"))
    assert set(m["column"]) == {"sms_opt_in", "marketing_ok"}
    assert m.loc[m["value"] == "affirmative", "flagged"].all()
    yaml_cfg = {"consent": {"values": {"Affirmative": "granted"}}}
    m = consent.mapping_table(frame, infer_schema(frame, key="id"), yaml_cfg)
    row = m[m["value"] == "affirmative"].iloc[0]
    assert row["status"] == "granted" and not row["flagged"] and "your consent YAML" in row["how"]


def test_the_validator_uses_the_same_vocabulary_and_keeps_its_boolean_contract():
    s = pd.Series(["Y", "n", "yes please", "opt-in", "unsubscribed", "stop", "?", "maybe", None, 1, 0, True],
                  dtype=object)
    out = v.consent_flags(s)
    assert str(out.dtype) == "boolean" and out.index.equals(s.index)
    assert out.iloc[:6].tolist() == [True, False, True, True, False, False]
    assert out.iloc[6:9].isna().all() and out.iloc[9:].tolist() == [True, False, True]
    assert v.consent_flags(pd.Series(["Y", "N"], name="Unsubscribed")).tolist() == [False, True]
    assert v.consent_flags(pd.Series(["Y"], name="Unsubscribed"), inverted=False).tolist() == [True]
    assert {"y", "yes", "true", "1"} <= v.CONSENT_TRUE and {"n", "no", "false", "0"} <= v.CONSENT_FALSE
    for value in v.CONSENT_TRUE:  # every word of the validator's set is the vocabulary's
        assert consent.read_status(pd.Series([value])).iloc[0] == "granted"


# -- column names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "channels", "purpose", "inverted"), [
    ("consent_email", ("email",), None, False),
    ("EmailOptIn", ("email",), None, False),
    ("E-Mail Consent", ("email",), None, False),
    ("SMS Opt-In", ("sms",), None, False),
    ("SMSConsent", ("sms",), None, False),
    ("sms_opt_in", ("sms",), None, False),
    ("gdpr_post", ("post",), None, False),
    ("postalConsent", ("post",), None, False),
    ("newsletter", ("email",), "newsletter", False),
    ("Unsubscribed?", (), None, True),
    ("opt-out (phone)", ("phone",), None, True),
    ("doNotCall", ("phone",), None, True),
    ("no_sms", ("sms",), None, True),
    ("marketing_ok", (), "marketing", False),
    ("email_survey_consent", ("email",), "research", False),
])
def test_channel_purpose_and_inversion_from_names_in_any_form(name, channels, purpose, inverted):
    r = consent.read_column_name(name)
    assert (r.channels, r.purpose, r.inverted) == (channels, purpose, inverted)


def test_an_ambiguous_name_says_why():
    assert consent.read_column_name("mail_ok").ambiguous == "'mail' could mean email or post"
    assert consent.read_column_name("mobile_opt_in").channels == ()


# -- statements from a frame -----------------------------------------------------------------------

ODD = pd.DataFrame({
    "Customer ID": ["K1", "K2", "K3", "K4"],
    "Source System": ["crm", "web", None, "crm"],
    "E-Mail Opt-In": ["Y", "opt-out", "", "?"],
    "emailOptInDate": ["2024-01-05", "2024-02-01", None, None],
    "SMSConsent": ["yes please", None, "0", "1"],
    "gdprPost": ["N", "Y", "Y", None],
    "Newsletter": [1, 0, None, True],
    "Unsubscribed?": ["Y", "N", None, "N"],
    "marketing_ok": ["Y", "Y", "N", "Y"],
    "consent_updated": ["2023-06-01", "2023-06-02", "2023-06-03", None],
})


def test_statements_from_unusual_column_names():
    schema = infer_schema(ODD, key="Customer ID")
    s = consent.statements(ODD, schema, dataset="odd", party="first")
    plan = s.plan_frame().set_index("column")
    assert plan.loc["E-Mail Opt-In", "channel"] == "email" and plan.loc["SMSConsent", "channel"] == "sms"
    assert plan.loc["gdprPost", "channel"] == "post" and plan.loc["Newsletter", "purpose"] == "newsletter"
    assert plan.loc["E-Mail Opt-In", "date_column"] == "emailOptInDate"  # its own date
    assert plan.loc["SMSConsent", "date_column"] == "consent_updated"     # the one shared consent date
    assert plan.loc["Unsubscribed?", "inverted"]
    left_out = {p.split(":")[0] for p in s.problems}
    assert left_out == {"Unsubscribed?", "marketing_ok"}  # no channel in the name: reported, not guessed
    t = s.table
    assert list(t.columns) == consent.STATEMENT_COLUMNS
    assert set(t["channel"]) == {"email", "sms", "post"} and set(t["party"]) == {"first"}
    k1 = t[(t["record_key"] == "K1") & (t["column"] == "E-Mail Opt-In")].iloc[0]
    assert (k1["status"], k1["at"], k1["source"], k1["evidence"]) == (
        "granted", pd.Timestamp("2024-01-05"), "crm", "E-Mail Opt-In=Y")
    k3 = t[t["record_key"] == "K3"]
    assert set(k3["source"]) == {"odd"}  # no source value: the dataset's name
    assert "E-Mail Opt-In" not in set(k3["column"])  # a blank value is no statement
    assert t[(t["record_key"] == "K4") & (t["column"] == "E-Mail Opt-In")]["status"].tolist() == ["unknown"]
    assert t[(t["record_key"] == "K2") & (t["column"] == "Newsletter")]["status"].tolist() == ["denied"]


def test_without_a_source_column_the_source_is_the_dataset_and_party_may_vary_per_record():
    frame = ODD.drop(columns=["Source System"])
    party = pd.Series(["zero", "third", None, "3rd"], index=frame.index)
    t = consent.statements(frame, infer_schema(frame, key="Customer ID"), dataset="odd", party=party).table
    assert set(t["source"]) == {"odd"}
    assert t.groupby("record_key")["party"].first().to_dict() == {"K1": "zero", "K2": "third", "K3": None,
                                                                  "K4": "third"}
    with pytest.raises(WorkbenchError, match="not a party type"):
        consent.statements(frame, infer_schema(frame, key="Customer ID"), party="fourth")
    with pytest.raises(WorkbenchError, match="aligned"):
        consent.statements(frame, infer_schema(frame, key="Customer ID"), party=party.iloc[:2])


def test_yaml_sets_channel_purpose_inversion_and_date_and_ignores_a_column(tmp_path):
    path = tmp_path / "consent.yaml"
    path.write_text("""\
consent:
  columns:
    marketing_ok: {channel: [email, sms], purpose: Promotions}
    Unsubscribed?: {channel: email, date: consent_updated}
    gdprPost: {ignore: true}
    SMSConsent: {date: null}
""")
    cfg = consent.load_config(path, columns=ODD.columns)
    s = consent.statements(ODD, infer_schema(ODD, key="Customer ID"), cfg)
    plan = s.plan_frame().set_index("column")
    assert not s.problems and "gdprPost" not in plan.index
    assert plan.loc["marketing_ok", "channel"] == "email, sms" and plan.loc["marketing_ok", "purpose"] == "promotions"
    assert plan.loc["SMSConsent", "date_column"] is None
    assert "your consent YAML" in plan.loc["marketing_ok", "how"]
    t = s.table
    unsub = t[t["column"] == "Unsubscribed?"].set_index("record_key")
    assert unsub["status"].to_dict() == {"K1": "denied", "K2": "granted", "K4": "granted"}
    assert unsub.loc["K1", "at"] == pd.Timestamp("2023-06-01")
    assert len(t[t["column"] == "marketing_ok"]) == 8  # four records, two channels


def test_default_channel_reads_a_generic_opt_in():
    frame = pd.DataFrame({"lead_id": ["L1", "L2"], "opt_in": ["true", "false"]})
    schema = infer_schema(frame, key="lead_id")
    assert consent.statements(frame, schema).problems  # "opt_in" alone: which channel?
    s = consent.statements(frame, schema, {"consent": {"default_channel": "email"}}, party="third")
    assert s.table["channel"].tolist() == ["email", "email"] and not s.problems


def test_a_schema_consent_column_is_found_by_role_not_name():
    frame = pd.DataFrame({"id": ["a"], "flag_x": ["Y"]})
    schema = infer_schema(frame, key="id").with_overrides({"flag_x": "consent"})
    assert schema.columns_with(Role.CONSENT) == ["flag_x"]
    s = consent.statements(frame, schema, {"consent": {"columns": {"flag_x": {"channel": "phone"}}}})
    assert s.table[["channel", "status"]].values.tolist() == [["phone", "granted"]]


# -- YAML errors name the line ---------------------------------------------------------------------


def _error(tmp_path, text: str, columns=None) -> ConfigError:
    path = tmp_path / "consent.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        consent.load_config(path, columns=columns)
    assert info.value.path == str(path)
    return info.value


@pytest.mark.parametrize(("text", "line", "words"), [
    ("consent:\n  values:\n    ja: granted\n    Y: yess\n", 4, "not a consent status"),
    ("consent:\n  valuse:\n    ja: granted\n", 2, "did you mean 'values'"),
    ("consent:\n  columns:\n    a: {channel: fax}\n", 3, "'fax' is not a channel"),
    ("consent:\n  columns:\n    a: {chanel: email}\n", 3, "did you mean 'channel'"),
    ("consent:\n  columns:\n    a: {inverted: maybe}\n", 3, "inverted must be true or false"),
    ("consent:\n  values:\n    Y: granted\n    'y.': denied\n", 4, "same value as one on line 3"),
    ("consent:\n  columns:\n    nope: {channel: email}\n", 3, "'nope' is not in the data"),
    ("consent:\n  columns:\n    a: {channel: email, date: dat}\n", 3, "did you mean 'date'"),
    ("consent:\n  version: 2\n", 2, "newer"),
    ("consent:\n  values:\n    a: granted\n   b: x\n", 4, "invalid YAML"),
    ("consent:\n  default_channel: fax\n", 2, "not a channel"),
    ("consent:\n  values:\n    maybe: {status: granted, absolutely: true}\n", 3, "unknown key 'absolutely'"),
])
def test_yaml_errors_name_file_and_line(tmp_path, text, line, words):
    err = _error(tmp_path, text, columns=["a", "date"])
    assert err.line == line and words in err.message


def test_a_file_without_a_consent_section_or_missing_is_an_error(tmp_path):
    assert "'consent:' section" in _error(tmp_path, "rules: []\n").message
    with pytest.raises(ConfigError, match="no such consent file"):
        consent.load_config(tmp_path / "missing.yaml")


def test_yaml_keys_read_as_written_and_absolute_words(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("consent:\n  values:\n    yes: denied\n    on: granted\n    abgemeldet: {status: denied, "
                    "absolute: true}\n    angemeldet: granted\n")
    vocab = consent.load_config(path).vocabulary
    values = pd.Series(["yes", "On", "abgemeldet", "angemeldet"])
    assert consent.read_status(values, vocabulary=vocab).tolist() == ["denied", "granted", "denied", "granted"]
    # in an inverted column answers flip, an absolute word does not
    assert consent.read_status(values, vocabulary=vocab, inverted=True).tolist() == [
        "granted", "denied", "denied", "denied"]


# -- golden consent: the rules, example by example ---------------------------------------------------


def _st(rows, channel="email", purpose="marketing"):
    """Statements from (record_key, status, at, party) tuples."""
    return pd.DataFrame([{"record_key": r, "channel": channel, "purpose": purpose, "status": s,
                          "at": pd.Timestamp(a) if a else pd.NaT, "source": "crm", "evidence": f"c={s}",
                          "party": p} for r, s, a, p in rows])


def _one(rows, crosswalk=None) -> dict:
    cw = crosswalk if crosswalk is not None else pd.DataFrame({"record_key": [r[0] for r in rows],
                                                                "golden_id": "G"}).drop_duplicates("record_key")
    out = consent.golden_consent(_st(rows), cw)
    assert len(out) == 1
    return out.iloc[0].to_dict()


def test_rules_by_example():
    assert _one([("a", "granted", "2024-02-01", None), ("b", "denied", "2024-01-01", None)])["rule"] == "latest"
    r = _one([("a", "granted", "2024-01-01 18:00", None), ("b", "denied", "2024-01-01 08:00", None)])
    assert (r["status"], r["rule"], r["record_key"], r["conflict"]) == ("denied", "opt_out_same_date", "b", True)
    r = _one([("a", "granted", "2024-01-01", None), ("b", "denied", None, None)])
    assert (r["status"], r["rule"]) == ("denied", "opt_out_undated")
    r = _one([("a", "granted", "2024-03-01", None), ("b", "granted", "2024-01-01", None)])
    assert (r["status"], r["rule"], r["record_key"], r["conflict"]) == ("granted", "agreed", "a", False)
    r = _one([("a", "granted", "2024-03-01", "third")])
    assert (r["status"], r["rule"], r["record_key"]) == ("unknown", "third_party_grant_ignored", None)
    r = _one([("a", "granted", "2024-01-01", "first"), ("b", "denied", "2024-03-01", "third")])
    assert (r["status"], r["party"]) == ("denied", "third")  # a third-party opt-out is honoured
    r = _one([("a", "unknown", "2024-01-01", None)])
    assert (r["status"], r["rule"], r["explicit_statements"]) == ("unknown", "no_explicit_statement", 0)
    r = _one([("a", "granted", "2024-01-01", "second")])
    assert r["status"] == "granted"  # a partner's statement counts as stated


def test_golden_consent_columns_and_records_outside_the_crosswalk():
    out = consent.golden_consent(_st([("a", "granted", None, None), ("z", "denied", None, None)]),
                                 pd.DataFrame({"key": ["a"], "cluster_id": ["G1"]}))  # clusters work too
    assert list(out.columns) == consent.GOLDEN_COLUMNS and out["golden_id"].tolist() == ["G1"]
    per_record = consent.golden_consent(_st([("a", "granted", None, None), ("z", "denied", None, None)]))
    assert per_record.set_index("golden_id")["status"].to_dict() == {"a": "granted", "z": "denied"}
    with pytest.raises(WorkbenchError, match="twice"):
        consent.golden_consent(_st([("a", "granted", None, None)]),
                               pd.DataFrame({"record_key": ["a", "a"], "golden_id": ["G1", "G2"]}))


# -- golden consent: properties ------------------------------------------------------------------------

KEYS = ["r1", "r2", "r3", "r4", "r5", "r6"]
CROSSWALK = pd.DataFrame({"record_key": KEYS, "golden_id": ["g1", "g1", "g1", "g2", "g2", "g3"]})
DAY0 = dt.datetime(2024, 1, 1)
when = st.one_of(st.none(), st.builds(lambda d, h: DAY0 + dt.timedelta(days=d, hours=h),
                                      st.integers(0, 3), st.sampled_from([0, 9, 17])))
FIELDS = ["record_key", "channel", "purpose", "status", "at", "source", "party"]
statement = st.fixed_dictionaries({
    "record_key": st.sampled_from(KEYS), "channel": st.sampled_from(["email", "sms"]),
    "purpose": st.just("marketing"), "status": st.sampled_from(consent.STATUSES), "at": when,
    "source": st.sampled_from(["crm", "web"]),
    "party": st.sampled_from([None, "zero", "first", "second", "third"]),
})
statements_st = st.lists(statement, max_size=14).map(
    lambda rows: pd.DataFrame(rows, columns=FIELDS).assign(
        at=lambda d: pd.to_datetime(d["at"]), evidence=lambda d: "c=" + d["status"]))
dated = st.builds(lambda d: DAY0 + dt.timedelta(days=d), st.integers(0, 30))
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _explicit(rows: pd.DataFrame) -> pd.DataFrame:
    """The statements survivorship may use: granted or denied, third-party grants left out."""
    keep = rows["status"].isin(["granted", "denied"]) & ~((rows["party"] == "third") & (rows["status"] == "granted"))
    return rows[keep]


def _groups(rows: pd.DataFrame):
    yield from rows.merge(CROSSWALK, on="record_key").groupby(["golden_id", "channel", "purpose"])


def _reference(part: pd.DataFrame) -> str:
    """The rules read literally, one group at a time."""
    ex = _explicit(part)
    if ex.empty:
        return "unknown"
    if ex["status"].nunique() == 1:
        return ex["status"].iloc[0]
    day = ex["at"].dt.normalize()
    if (ex["status"].eq("denied") & day.isna()).any():
        return "denied"  # an undated opt-out may be the latest
    latest_grant = day[ex["status"] == "granted"].max()
    latest_denial = day[ex["status"] == "denied"].max()
    if pd.isna(latest_grant):
        return "denied"  # no grant can be shown to be later
    return "granted" if latest_grant > latest_denial else "denied"


@fast
@given(statements_st)
def test_property_result_follows_the_rules_read_literally(rows):
    out = consent.golden_consent(rows, CROSSWALK).set_index(["golden_id", "channel", "purpose"])
    expected = {key: _reference(part) for key, part in _groups(rows)}
    assert out["status"].to_dict() == expected


@fast
@given(st.lists(st.tuples(st.sampled_from(KEYS[:3]), st.sampled_from(["granted", "denied"]), dated),
                min_size=1, max_size=8, unique_by=lambda t: t[2]))
def test_property_latest_explicit_statement_wins(items):
    rows = _st([(k, s, a, "first") for k, s, a in items])
    latest = max(items, key=lambda t: t[2])
    r = consent.golden_consent(rows, CROSSWALK).iloc[0]
    assert (r["status"], r["at"]) == (latest[1], pd.Timestamp(latest[2]))
    assert r["rule"] in (("latest",) if len({s for _, s, _ in items}) > 1 else ("only_statement", "agreed"))


@fast
@given(statements_st, st.sampled_from(KEYS), st.sampled_from(KEYS), st.sampled_from([0, 8, 23]),
       st.sampled_from([0, 8, 23]))
def test_property_opt_out_beats_opt_in_of_the_same_date(rows, k1, k2, h1, h2):
    rows = rows[rows["at"].notna()]  # (an undated opt-out wins too, by opt_out_undated)
    later = DAY0 + dt.timedelta(days=10)  # after every generated statement
    extra = _st([(k1, "granted", later + dt.timedelta(hours=h1), "first"),
                 (k2, "denied", later + dt.timedelta(hours=h2), "first")])
    out = consent.golden_consent(pd.concat([rows, extra], ignore_index=True), CROSSWALK)
    gid = CROSSWALK.set_index("record_key").loc[k1, "golden_id"]
    if gid == CROSSWALK.set_index("record_key").loc[k2, "golden_id"]:
        r = out[(out["golden_id"] == gid) & (out["channel"] == "email")].iloc[0]
        assert (r["status"], r["rule"], r["conflict"]) == ("denied", "opt_out_same_date", True)
        assert r["record_key"] == k2 and r["at"].normalize() == pd.Timestamp(later)


@fast
@given(statements_st, st.lists(st.tuples(st.sampled_from(KEYS), when), max_size=5))
def test_property_third_party_never_grants(rows, grants):
    base = consent.golden_consent(rows, CROSSWALK)
    third = _st([(k, "granted", a, "third") for k, a in grants])
    more = consent.golden_consent(pd.concat([rows, third], ignore_index=True), CROSSWALK)
    # third-party grants change no decision anywhere, and never make a golden record granted
    key = ["golden_id", "channel", "purpose"]
    joined = more.merge(base, on=key, how="left", suffixes=("", "_base"))
    was = joined["status_base"].fillna("unknown")
    assert (joined["status"] == was).all()
    assert not ((more["status"] == "granted") & (more["party"] == "third")).any()
    only_third = consent.golden_consent(rows.assign(party="third"), CROSSWALK)
    assert not (only_third["status"] == "granted").any()


@fast
@given(statements_st)
def test_property_conflict_flagged_exactly_when_explicit_statements_differ(rows):
    out = consent.golden_consent(rows, CROSSWALK).set_index(["golden_id", "channel", "purpose"])
    expected = {key: _explicit(part)["status"].nunique() > 1 for key, part in _groups(rows)}
    assert out["conflict"].to_dict() == expected


@fast
@given(statements_st, st.randoms(use_true_random=False))
def test_property_order_of_input_rows_does_not_change_the_result(rows, rnd):
    shuffled = rows.iloc[rnd.sample(range(len(rows)), len(rows))].reset_index(drop=True)
    pd.testing.assert_frame_equal(consent.golden_consent(rows, CROSSWALK),
                                  consent.golden_consent(shuffled, CROSSWALK))
    pd.testing.assert_frame_equal(consent.golden_consent(rows, CROSSWALK.iloc[::-1]),
                                  consent.golden_consent(shuffled, CROSSWALK))


@fast
@given(statements_st)
def test_property_merge_effect_accounts_for_every_record(rows):
    effect = consent.merge_effect(rows, CROSSWALK)
    for s in effect.summary.itertuples():
        reachable_golden = effect.golden[(effect.golden["channel"] == s.channel) & (effect.golden["status"] == "granted")]
        members_after = CROSSWALK["golden_id"].isin(reachable_golden["golden_id"]).sum()
        assert s.reachable_records - s.lost + s.gained == members_after
        assert s.reachable_golden == len(reachable_golden) and s.records == len(KEYS)
    lost = effect.lost
    assert (lost["before"] == "granted").all() and (lost["after"] != "granted").all()
    assert (effect.gained["after"] == "granted").all() and (effect.gained["before"] != "granted").all()


def test_merge_effect_names_who_lost_and_gained():
    rows = _st([("r1", "granted", "2024-01-01", None), ("r2", "denied", "2024-02-01", None),  # g1: lost r1
                ("r4", "granted", "2024-03-01", None),                                          # g2: r5 gains
                ("r6", "granted", None, "third")])                                              # g3: nobody
    e = consent.merge_effect(rows, CROSSWALK)
    assert e.summary[["reachable_records", "reachable_golden", "lost", "gained"]].values.tolist() == [[2, 1, 1, 1]]
    assert e.lost[["record_key", "golden_id", "before", "after", "rule", "decided_by"]].values.tolist() == [
        ["r1", "g1", "granted", "denied", "latest", "r2"]]
    assert e.gained[["record_key", "before", "after"]].values.tolist() == [["r5", "no statement", "granted"]]
    assert "r6" not in set(e.changes["record_key"])  # a third-party grant: unknown alone and merged
