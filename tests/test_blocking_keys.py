"""Block keys computed once per distinct value equal dedupe's predicates called record by record."""

import numpy as np
import pandas as pd
from dedupe import predicate_functions as pf
from dedupe.predicates import CompoundPredicate, SimplePredicate, StringPredicate
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.matching.blocking import block_keys
from workbench.matching.kinds import setItemPredicate, yearPredicate

value = st.one_of(st.none(), st.sampled_from(["", "a", "Anne Marie", "o'neil", "x:y", "12 high st"]),
                  st.text(alphabet="ab :;1 ", max_size=8))
#: Numbers and booleans too, where 1 == 1.0 == True must not share a key ("1", "1.0", "True").
mixed = st.one_of(value, st.integers(0, 3), st.floats(0, 3), st.booleans())


def _reference(records: pd.DataFrame, predicates, offset: int = 0) -> set[tuple[int, int, str]]:
    out = set()
    for j, p in enumerate(predicates):
        for i, rec in enumerate(records.to_dict("records")):
            out |= {(i + offset, j, k) for k in p(rec)}
    return out


PREDICATES = [
    SimplePredicate(pf.wholeFieldPredicate, "a"),
    StringPredicate(pf.firstTokenPredicate, "a"),
    StringPredicate(pf.sameThreeCharStartPredicate, "b"),
    SimplePredicate(pf.fingerprint, "b"),
    SimplePredicate(setItemPredicate, "a"),
    SimplePredicate(yearPredicate, "c"),
    SimplePredicate(pf.wholeFieldPredicate, "d"),
]
PREDICATES.append(CompoundPredicate((PREDICATES[0], PREDICATES[2])))
PREDICATES.append(CompoundPredicate((PREDICATES[3], PREDICATES[6])))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(value, value, value, mixed), min_size=0, max_size=30), st.integers(0, 5))
def test_memoized_block_keys_equal_record_by_record(rows, offset):
    records = pd.DataFrame(rows, columns=["a", "b", "c", "d"]).astype(object)
    got = block_keys(records, PREDICATES, offset=offset)
    assert got["rid"].dtype == np.int64 and got["pred"].dtype == np.int16
    triples = list(zip(got["rid"], got["pred"], got["key"], strict=True))
    assert len(triples) == len(set(triples))
    assert set(triples) == _reference(records, PREDICATES, offset)
