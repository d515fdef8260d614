import pandas as pd

from workbench.masking import mask_date, mask_email, mask_frame, mask_phone
from workbench.schema import infer_schema


def test_each_mask_hides_the_person_and_keeps_missing():
    assert mask_email(pd.Series(["john.smith@gmail.com", None])).tolist() == ["j***@gmail.com", None]
    assert mask_email(pd.Series(["none"], dtype=object)).tolist() == ["n***"]  # no "@" anywhere
    assert mask_phone(pd.Series(["(212) 555-0199"])).tolist() == ["***-***-**99"]
    assert mask_date(pd.Series(["1985-03-07", "03/07/1985", "garbage"])).tolist() == [
        "1985-**-**", "1985-**-**", "****-**-**"]


def test_mask_frame_masks_pii_columns_only():
    frame = pd.DataFrame({
        "customer_id": ["C1"], "first_name": ["Robert"], "email": ["bob@example.com"],
        "phone": ["212-555-0101"], "date_of_birth": ["1980-01-02"], "street": ["1 Main St"], "city": ["Boston"],
    })
    schema = infer_schema(frame, key="customer_id")
    masked = mask_frame(frame, schema)
    row = masked.iloc[0]
    assert row["customer_id"] == "C1" and row["city"] == "Boston"
    for col in ["first_name", "email", "phone", "date_of_birth", "street"]:
        assert frame.iloc[0][col] not in row[col], col
    assert mask_frame(frame, schema, enabled=False).equals(frame)


# -- masked unless declared safe ----------------------------------------------------------

import re  # noqa: E402

from workbench.masking import mask_free_text, needs_mask  # noqa: E402
from workbench.schema import Role  # noqa: E402

#: A frame with personal data where no fixed role list looks: a birth date named ``born_on``
#: and free-text ``notes`` with phones, emails and dates inside.
PERSONAL = pd.DataFrame({
    "customer_id": ["C1", "C2", "C3"],
    "city": ["Boston", "Reno", "Tulsa"],
    "born_on": ["1985-03-07", "1990-12-24", "1979-07-01"],
    "notes": ["Call back on 212-555-0199 about the order please",
              "Wrote from ann.lee@example.com, prefers email to phone",
              "Met 2021-04-05, said new mobile +44 20 7946 0958 works"],
    "segment": ["gold", "silver", "gold"],
})
RAW = ["1985-03-07", "1990-12-24", "1979-07-01", "212-555-0199", "ann.lee@example.com", "2021-04-05",
       "+44 20 7946 0958", "7946 0958"]


def test_every_column_not_declared_safe_is_masked():
    schema = infer_schema(PERSONAL, key="customer_id")
    assert schema["born_on"].role == Role.DATE and not schema["born_on"].pii  # what the old rule let through
    masked = mask_frame(PERSONAL, schema)
    shown = masked.to_string()
    assert not [v for v in RAW if v in shown]
    assert masked["born_on"].tolist() == ["1985-**-**", "1990-**-**", "1979-**-**"]
    assert masked["segment"].tolist() == ["g***", "s***", "g***"]  # unknown meaning: not safe
    assert masked["city"].tolist() == PERSONAL["city"].tolist()  # a role that never identifies a person
    assert masked["customer_id"].tolist() == ["C1", "C2", "C3"]
    # free text keeps its words, loses what identifies
    assert masked["notes"][0] == "Call back on ***-***-**99 about the order please"
    assert masked["notes"][1] == "Wrote from a***@example.com, prefers email to phone"
    assert masked["notes"][2].startswith("Met 2021-**-**, said new mobile ***-***-**58")


def test_declared_safe_columns_are_shown_and_pii_flags_win():
    schema = infer_schema(PERSONAL, key="customer_id").with_overrides(
        {"segment": {"role": "other", "safe": True}, "city": {"role": "city", "pii": True}})
    assert not needs_mask(schema["segment"]) and needs_mask(schema["city"])
    masked = mask_frame(PERSONAL, schema)
    assert masked["segment"].tolist() == PERSONAL["segment"].tolist()
    assert masked["city"].tolist() == ["B***", "R***", "T***"]
    # the declaration survives the store's JSON and the YAML a user edits
    from workbench.schema import Schema
    assert Schema.from_dict(schema.to_dict())["segment"].safe
    assert "safe: true" in schema.to_yaml()
    # "pii: false" alone is not a declaration of safety (it says what the role is, not that it may be shown)
    assert needs_mask(infer_schema(PERSONAL).with_overrides({"segment": {"role": "other", "pii": False}})["segment"])


def test_free_text_scan_leaves_plain_numbers_and_missing_alone():
    out = mask_free_text(pd.Series(["Order 1234 shipped in 3 boxes", None, "born 7 March 1985 in Leeds"], dtype=object))
    assert out.tolist() == ["Order 1234 shipped in 3 boxes", None, "born 1985-**-** in Leeds"]


def test_html_report_masks_born_on_and_notes(tmp_path):
    from workbench import Workspace
    from workbench.assess import assess, report_html

    frame = pd.concat([PERSONAL] * 4, ignore_index=True)
    frame["customer_id"] = [f"C{i}" for i in range(len(frame))]
    csv = tmp_path / "people.csv"
    frame.to_csv(csv, index=False)
    ws = Workspace(tmp_path / "ws", user="tester")
    ds = ws.load(csv, key="customer_id", name="people")
    summary = ws.summarize(ds)
    html = report_html(assess(ws, ds), summary=summary)
    ws.close()
    leaked = [v for v in RAW if v in html]
    assert not leaked, leaked
    assert "1985-**-**" in html or re.search(r"\d{4}-\*\*-\*\*", html)
