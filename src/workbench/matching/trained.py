"""A trained match model: what a labeling session produces and every engine runs.

The model is the comparison plan (fields, their comparator kinds and
parameters), the featurizer built from it, the fitted classifier with its
prior, the threshold, the learned blocking rules, and the name frequencies
the "name commonness" feature reads. It travels as one versioned JSON
document (never a pickle) with the name frequencies in a Parquet sidecar
whose SHA-256 the document holds; loading it back gives identical decisions.

    model = dd.model()                      # from a labeling session
    model.save("model.json")                # writes model.json and model.names.parquet
    model = MatchModel.load("model.json")   # workbench dedupe FILE --model model.json
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from dedupe.predicates import CompoundPredicate, Predicate

from workbench import artifacts
from workbench.errors import WorkbenchError
from workbench.matching.blocking import candidate_predicates, predicate_name
from workbench.matching.fields import MatchField, prepare_records
from workbench.matching.kinds import KINDS
from workbench.matching.model import Featurizer, PairClassifier
from workbench.schema import Role

#: The document's format name and version; a reader refuses other formats and newer versions.
FORMAT = "workbench/match-model"
VERSION = 1


@dataclass
class MatchModel:
    """Fields, featurizer, fitted classifier, threshold and blocking rules of one task."""

    fields: list[MatchField]
    right_fields: list[MatchField]
    classifier: PairClassifier
    threshold: float
    task: str = ""
    #: "dedupe" (one dataset against itself) or "link" (acquired list against a master).
    mode: str = "dedupe"
    predicates: list[Predicate] = field(default_factory=list)
    labels_sha256: str = ""
    featurizer: Featurizer = field(init=False, repr=False)
    #: the name frequencies as ``load`` read them (series, file, sha256): saved unchanged, the file is linked
    _names_loaded: tuple[pd.Series, Path, str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.classifier.fitted:
            raise WorkbenchError("the model has no fitted classifier: label more pairs first")
        self.featurizer = Featurizer(self.fields)

    @property
    def symmetric(self) -> bool:
        return self.mode == "dedupe"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Match probability of each row of features."""
        return self.classifier.predict(X)

    def with_name_frequencies(self, prepared: pd.DataFrame) -> MatchModel:
        """Name frequencies from ``prepared`` records (the whole data being matched); returns self."""
        self.featurizer.set_name_frequencies(prepared)
        return self

    def explain(self, left: dict[str, Any], right: dict[str, Any]) -> pd.DataFrame:
        """Why two raw records score as they do (``explain_pair``)."""
        return explain_pair(self.featurizer, self.classifier, self.fields, self.right_fields, left, right)

    @property
    def has_name_frequencies(self) -> bool:
        return self.featurizer.name_freq is not None

    # -- the document --------------------------------------------------------------
    def to_dict(self, names_file: str | None = None, names_sha256: str | None = None) -> dict[str, Any]:
        """The JSON document (without the name frequencies, which live in the sidecar it names)."""
        clf = self.classifier
        assert clf.coef_ is not None
        return {
            "format": FORMAT, "version": VERSION, "task": self.task, "mode": self.mode,
            "fields": [_field_doc(f) for f in self.fields],
            "right_fields": [_field_doc(f) for f in self.right_fields],
            "features": list(self.featurizer.feature_names),
            "prior": {"mean": _floats(clf.prior), "variance": _floats(clf.prior_variance), "C": clf.C},
            "coefficients": _floats(clf.coef_), "intercept": float(clf.intercept_),
            "threshold": float(self.threshold),
            "blocking": [predicate_name(p) for p in self.predicates],
            "name_frequencies": None if names_file is None else {
                "file": names_file, "sha256": names_sha256, "min_freq": float(self.featurizer.min_freq)},
            "labels_sha256": self.labels_sha256,
        }

    def save(self, path: str | Path) -> Path:
        """Write the document to ``path`` (and the name frequencies beside it), each whole or not at all."""
        path = Path(path)
        names_file, digest = None, None
        if self.featurizer.name_freq is not None:
            names_file = path.with_suffix("").name + ".names.parquet"
            freq = self.featurizer.name_freq
            loaded = self._names_loaded
            if loaded is not None and loaded[0] is freq and loaded[1].is_file() and _sha256(loaded[1]) == loaded[2]:
                digest = _write_atomic(path.parent / names_file, lambda p: artifacts.link_or_copy(loaded[1], p))
            else:
                table = pd.DataFrame({"name": freq.index.astype(str), "frequency": freq.to_numpy(dtype=float)})
                digest = _write_atomic(path.parent / names_file, lambda p: table.to_parquet(p, index=False))
        text = json.dumps(self.to_dict(names_file, digest), indent=2, ensure_ascii=False) + "\n"
        _write_atomic(path, lambda p: Path(p).write_text(text, encoding="utf-8"))
        return path

    @classmethod
    def load(cls, path: str | Path) -> MatchModel:
        """Read a document written by ``save``; a clear error names what is wrong with it."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise WorkbenchError(f"{path}: no such model file") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WorkbenchError(f"{path}: not a model document (invalid JSON: {exc})") from None
        model = cls.from_dict(doc, source=str(path))
        names = doc.get("name_frequencies")
        if names:
            sidecar = path.parent / str(names.get("file", ""))
            if not sidecar.is_file():
                raise WorkbenchError(f"{path}: its name-frequency file {sidecar.name} is missing")
            if _sha256(sidecar) != names.get("sha256"):
                raise WorkbenchError(f"{path}: {sidecar.name} does not match the hash in the model "
                                     "(changed or from another model)")
            try:
                table = pq.read_table(sidecar, columns=["name", "frequency"])  # (pandas' reader: thrice slower)
            except (OSError, ValueError, KeyError) as exc:  # (Arrow's errors are these)
                raise WorkbenchError(f"{path}: {sidecar.name} is not a name-frequency table ({exc})") from None
            model.featurizer.name_freq = pd.Series(table["frequency"].to_numpy(),
                                                   index=table["name"].to_numpy(zero_copy_only=False))
            model.featurizer.min_freq = float(names["min_freq"])
            # saved again unchanged (an update's run keeps its model): the file linked, not written again
            model._names_loaded = (model.featurizer.name_freq, sidecar, names["sha256"])
        return model

    @classmethod
    def from_dict(cls, doc: Any, *, source: str = "model") -> MatchModel:
        """The model a document describes (name frequencies aside: ``load`` reads its sidecar)."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise WorkbenchError(f"{source}: not a workbench match model (format must be {FORMAT!r})")
        version = doc.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise WorkbenchError(f"{source}: model version {version!r} is newer than this workbench reads "
                                 f"({VERSION}); upgrade the workbench")
        try:
            fields = [_field_from(d) for d in doc["fields"]]
            right = [_field_from(d) for d in doc["right_fields"]]
            prior = doc["prior"]
            clf = PairClassifier(_array(prior["mean"]), float(prior["C"]), _array(prior["variance"]))
            clf.coef_ = _array(doc["coefficients"])
            clf.intercept_ = float(doc["intercept"])
            model = cls(fields, right, clf, float(doc["threshold"]), task=str(doc.get("task", "")),
                        mode=str(doc.get("mode", "dedupe")), labels_sha256=str(doc.get("labels_sha256", "")))
        except WorkbenchError as exc:
            raise WorkbenchError(f"{source}: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise WorkbenchError(f"{source}: malformed model document ({type(exc).__name__}: {exc})") from None
        if list(doc.get("features", model.featurizer.feature_names)) != model.featurizer.feature_names:
            raise WorkbenchError(f"{source}: its features do not match what its fields give in this workbench")
        if clf.coef_ is None or len(clf.coef_) != model.featurizer.n_features:
            raise WorkbenchError(f"{source}: {len(clf.coef_ if clf.coef_ is not None else [])} coefficients "
                                 f"for {model.featurizer.n_features} features")
        model.predicates = predicates_by_name(model.featurizer, doc.get("blocking") or [], source=source)
        return model


def explain_pair(featurizer: Featurizer, classifier: PairClassifier, fields: Sequence[MatchField],
                 right_fields: Sequence[MatchField], left: dict[str, Any], right: dict[str, Any]) -> pd.DataFrame:
    """Per field: both standardized values, distance and contribution to the score (log-odds).

    ``attrs`` hold the pair's ``score`` and the model's ``intercept``.
    """
    lp = prepare_records(pd.DataFrame([left]).assign(__key__=[0]), "__key__", list(fields))
    rp = prepare_records(pd.DataFrame([right]).assign(__key__=[0]), "__key__", list(right_fields))
    cols = featurizer.names
    x = featurizer(lp[cols].to_dict("records"), rp[cols].to_dict("records"))[0]
    contrib = classifier.contributions(x)
    rows = []
    for name in cols:
        i, p = featurizer.column(name), featurizer.column(f"{name} present")
        rows.append({"field": name, "left": lp.iloc[0][name], "right": rp.iloc[0][name],
                     "distance": float(x[i]), "contribution": float(contrib[i] + contrib[p])})
    common, present = featurizer.column("name commonness"), featurizer.column("name commonness present")
    if common is not None and x[present]:
        rows.append({"field": "name commonness", "left": None, "right": None, "distance": float(x[common]),
                     "contribution": float(contrib[common] + contrib[present])})
    df = pd.DataFrame(rows)
    df.attrs["score"] = float(classifier.predict(x[None, :])[0])
    df.attrs["intercept"] = classifier.intercept_
    return df


def labels_sha256(labels: Iterable[Any]) -> str:
    """A hash of the labels a model was trained on (pairs and answers, in a stable order)."""
    rows = sorted(f"{x.left_key}\t{x.right_key}\t{x.label}" for x in labels)
    return hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()


def predicates_by_name(featurizer: Featurizer, names: Sequence[str], *, source: str = "model") -> list[Predicate]:
    """The blocking rules named (``predicate_name``) among those the featurizer's fields offer."""
    known = {predicate_name(p): p for p in candidate_predicates(featurizer.data_model, set(featurizer.names),
                                                                featurizer.extra_predicates)}
    out: list[Predicate] = []
    for name in names:
        parts = str(name).split(" AND ")
        missing = [p for p in parts if p not in known]
        if missing:
            raise WorkbenchError(f"{source}: blocking rule {missing[0]!r} is not one these fields offer")
        out.append(known[parts[0]] if len(parts) == 1 else CompoundPredicate(tuple(known[p] for p in parts)))
    return out


def _field_doc(f: MatchField) -> dict[str, Any]:
    """The field's plan, with its comparator: the kind's scalar function and its dedupe type."""
    kind = KINDS[f.kind]
    return {**f.to_dict(), "comparator": {"function": kind.scalar.__name__, "dedupe_type": kind.dedupe_type}}


def _field_from(d: dict[str, Any]) -> MatchField:
    kind = d["kind"]
    if kind not in KINDS:
        raise WorkbenchError(f"field {d.get('name')!r}: comparator kind {kind!r} is not one this workbench has")
    return MatchField(str(d["name"]), d.get("column"), kind, Role(d["role"]) if d.get("role") else None,
                      float(d.get("confidence", 1.0)), str(d.get("reason", "")), d.get("region"))


def _floats(a: np.ndarray | None) -> list[float] | None:
    return None if a is None else [float(x) for x in np.asarray(a, dtype=float)]


def _array(values: list[float] | None) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=float)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_atomic(path: Path, write) -> str:
    """Write through a temporary name and rename: an interrupted save never looks complete. Returns the SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        digest = _sha256(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return digest
