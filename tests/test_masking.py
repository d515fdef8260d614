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
