"""The ``workbench`` command line.

Exit codes: 0 success, 2 for every error: one line on stderr that names the
problem (``--debug`` adds the traceback). Errors the user can fix (a bad file,
a full disk, a damaged store, a missing driver) say what to fix; anything else
is reported as an internal error. Text that comes from data (column names,
values, dataset names) is printed through :func:`safe`, so escape sequences in
a file cannot drive the terminal. Later stages add their own subcommands here.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from workbench.errors import WorkbenchError, explain

SAMPLE_FILES = {"customers": ("customers.csv", "customer_id"), "acquired": ("acquired.csv", "lead_id")}


def _workspace_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", "-w", default=None,
                   help="workspace folder (default: $WORKBENCH_WORKSPACE or ./workspace)")
    p.add_argument("--user", default=None, metavar="NAME",
                   help="admins only: act for NAME (you are your OS login; see `workbench users`)")


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line too (subcommand parsers inherit this class)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {safe(message)} (usage: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="workbench",
        description="Assess, clean, deduplicate and master customer data.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("samples", help="generate the seeded sample data (customers, acquired list, ground truth)")
    p.add_argument("--out", default="data/samples", help="output folder (default: data/samples)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--customers", type=int, default=5000, help="rows in the customer master")
    p.add_argument("--acquired", type=int, default=2000, help="rows in the acquired list")
    p.set_defaults(func=cmd_samples)

    p = sub.add_parser("prepare", help="load the sample data into a workspace and summarize it")
    _workspace_arg(p)
    p.add_argument("--samples", default="data/samples", help="folder with customers.csv and acquired.csv")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("load", help="load a CSV/Excel/Parquet file into the workspace, with row accounting")
    _workspace_arg(p)
    p.add_argument("file", help="path of the file to load")
    p.add_argument("--key", help="column that identifies a record")
    p.add_argument("--name", help="dataset name (default: file name without suffix)")
    p.add_argument("--schema", help="YAML file overriding inferred field roles")
    p.add_argument("--encoding", help="text encoding (default: detected)")
    p.add_argument("--delimiter", help="CSV delimiter (default: sniffed)")
    p.add_argument("--table", help="SQL table, when FILE is a SQLAlchemy URL")
    p.add_argument("--sheet", help="Excel sheet: name or 0-based index (default: the first; "
                                   "a warning names the other sheets)")
    _provenance_args(p)
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("notes", help="list a dataset's notes and tags, or add one: "
                                     "notes NAME --on KEY [KEY ...] (--add TEXT | --tag TAG)")
    _workspace_arg(p)
    p.add_argument("name", help="dataset name")
    p.add_argument("--on", nargs="+", metavar="KEY", help="the record key, or a cluster's record keys")
    p.add_argument("--add", metavar="TEXT", help="add a note")
    p.add_argument("--tag", help="add a tag")
    p.set_defaults(func=cmd_notes)

    p = sub.add_parser("households", help="group a dataset's customers into households (shared address, phone, "
                                          "inbox) and organizations under their parent, from its current clustering")
    _workspace_arg(p)
    p.add_argument("name", help="dataset name")
    p.set_defaults(func=cmd_households)

    p = sub.add_parser("provenance", help="show where a dataset came from, or change it (audited): "
                                          "provenance NAME --party third --licence ...")
    _workspace_arg(p)
    p.add_argument("name", help="dataset name")
    p.add_argument("--version", type=int, help="dataset version (default: the latest)")
    _provenance_args(p)
    p.set_defaults(func=cmd_provenance)

    p = sub.add_parser("dedupe", help="cluster a file's records with a model trained from saved labels")
    _workspace_arg(p)
    p.add_argument("file", help="CSV/Excel/Parquet file to deduplicate (with --update: its new and changed records)")
    p.add_argument("--key", help="column that identifies a record (not with --update: the dataset's)")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--labels", help="labels: dedupe training JSON (as exported by the workbench); trains a model")
    given.add_argument("--model", help="a saved model (model.json of an earlier run, or --save-model's): no training")
    given.add_argument("--update", metavar="NAME",
                       help="append FILE's records to the clustered dataset NAME of --workspace (a known key "
                            "replaces its record) and match only new, changed and deleted records with the last "
                            "clustering's model; ids stay where records did not move")
    p.add_argument("--out", help="output .csv or .parquet: key, cluster_id, confidence (required but with --update)")
    p.add_argument("--threshold", type=float,
                   help="match threshold (default: the model's, or suggested from the labels)")
    p.add_argument("--save-model", metavar="JSON", help="write the model the run used here (with its blocking rules)")
    _engine_args(p)
    p.set_defaults(func=cmd_dedupe)

    p = sub.add_parser("link", help="link an acquired list to the master with a model trained from saved labels")
    _workspace_arg(p)
    p.add_argument("acquired", help="file of the acquired list")
    p.add_argument("master", help="file of the master")
    p.add_argument("--key", required=True, help="key column of the acquired list")
    p.add_argument("--master-key", required=True, help="key column of the master")
    p.add_argument("--labels", required=True, help="labels: training JSON of (acquired, master) pairs")
    p.add_argument("--out", required=True, help="output .csv or .parquet: acquired_key, master_key, score, status")
    p.add_argument("--threshold", type=float, help="match threshold (default: suggested from the labels)")
    _engine_args(p)
    p.set_defaults(func=cmd_link)

    p = sub.add_parser(
        "assess", help="check a file against rules, score it, report fitness per purpose",
        description="Load FILE (or re-assess a dataset of the workspace by name), run the rules (zero-config "
                    "defaults from the field roles without --rules), store the run and print a summary. "
                    "Exit code: 0 when no critical rule fails, 1 when one does, 2 on usage or input errors.")
    _workspace_arg(p)
    p.add_argument("file", help="file to load (CSV/Excel/Parquet), or the name of a dataset in the workspace")
    p.add_argument("--rules", help="rules YAML file (default: rules implied by the field roles)")
    p.add_argument("--key", help="column that identifies a record")
    p.add_argument("--name", help="dataset name (default: file name without suffix)")
    p.add_argument("--sheet", help="Excel sheet: name or 0-based index (default: the first)")
    p.add_argument("--purpose", action="append", metavar="P",
                   help="purpose to judge fitness for (repeatable; default: every purpose the rules define)")
    p.add_argument("--html", metavar="OUT", help="write the standalone HTML report here")
    p.add_argument("--json", metavar="OUT", help="write the JSON result here ('-' for standard output)")
    p.set_defaults(func=cmd_assess)

    p = sub.add_parser("golden", help="build golden records from a dataset's current clustering and export them")
    _workspace_arg(p)
    p.add_argument("dataset", help="dataset name in the workspace (clustered by `dedupe` or notebook 02)")
    p.add_argument("--rules", help="survivorship rules YAML (default: rules implied by the field roles)")
    p.add_argument("--out", required=True, help="folder for golden records, lineage and crosswalk (CSV and Parquet)")
    p.add_argument("--sql", help="also write <prefix>_records/_lineage/_crosswalk tables to this SQLAlchemy URL")
    p.add_argument("--table-prefix", default="golden", help="table name prefix for --sql (default: golden)")
    p.add_argument("--if-exists", choices=("fail", "replace", "append"), default="fail",
                   help="when a --sql table already exists: fail (default), replace it, or append rows")
    p.set_defaults(func=cmd_golden)

    p = sub.add_parser("datasets", help="list the datasets in the workspace")
    _workspace_arg(p)
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("users", help="list users and roles, or grant one (admins): users grant NAME ROLE",
                       description="Roles: viewer (masked dashboards), analyst (labels, reviews, runs), steward "
                                   "(also reveals personal data), admin (also grants roles). You are your OS "
                                   "login; the first user of a workspace is its admin.")
    _workspace_arg(p)
    p.add_argument("action", nargs="?", choices=["list", "grant"], default="list")
    p.add_argument("name", nargs="?", help="user name (an OS login, or 'dashboard' for dashboard viewers)")
    p.add_argument("role", nargs="?", help="viewer, analyst, steward or admin")
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("audit", help="show the audit log: who did what, when")
    _workspace_arg(p)
    p.add_argument("--last", type=int, default=20, help="how many entries (default 20)")
    p.add_argument("--verify", action="store_true",
                   help="check the log's hash chain; exit 1 naming the first broken link (modified, deleted, "
                        "inserted)")
    p.set_defaults(func=cmd_audit)
    _anonymize_parser(sub)
    _forget_parser(sub)
    _retention_parser(sub)
    return parser


def _engine_args(p: argparse.ArgumentParser) -> None:
    """``--engine`` and ``--master`` of the matching commands (read back by :func:`_engine_options`)."""
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="run the matching stages on this machine (default) or on Spark (pyspark, Java 17)")
    p.add_argument("--master", metavar="URL", dest="spark_master",
                   help="with --engine spark: the Spark master (default local[2])")


def _engine_options(args: argparse.Namespace) -> dict:
    """The ``engine`` (and ``spark`` session) keywords of :func:`_engine_args`' options."""
    from workbench.errors import WorkbenchError

    if args.spark_master and args.engine != "spark":
        raise WorkbenchError("--master needs --engine spark")
    if args.engine != "spark":
        return {"engine": args.engine}
    from workbench.spark import local_session

    return {"engine": "spark", "spark": local_session(args.spark_master or "local[2]")}


def _provenance_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("provenance (where the data came from)")
    g.add_argument("--party", help="party type: zero (stated by the customer), first (our systems), "
                                   "second (a partner's), third (bought)")
    g.add_argument("--source-system", help="the system the data came from")
    g.add_argument("--acquired-on", help="acquisition date, YYYY-MM-DD")
    g.add_argument("--purpose", action="append", dest="purposes",
                   help="a purpose the licence or consent permits (repeat for more)")
    g.add_argument("--licence", help="the licence or agreement it came under")


def _provenance_given(args: argparse.Namespace) -> dict:
    return {k: v for k in ("party", "source_system", "acquired_on", "purposes", "licence")
            if (v := getattr(args, k, None)) is not None}


def _version() -> str:
    from workbench import __version__

    return __version__


def _open(args: argparse.Namespace):
    from workbench import access
    from workbench.workspace import Workspace

    with _opening_store(args.workspace):
        ws = Workspace(args.workspace, user=access.os_user())  # identity: the OS login, not a flag
    if args.user:
        access.act_as(ws, args.user)  # refused unless the OS user is an admin here
    return ws


@contextmanager
def _opening_store(path: str | None) -> Iterator[None]:
    """Name the workspace when its store cannot be opened (damaged file, full disk, no driver)."""
    try:
        yield
    except Exception as exc:
        message = explain(exc)
        if message is None or isinstance(exc, WorkbenchError):
            raise
        from workbench.workspace import default_workspace_path

        where = path if path is not None else default_workspace_path()
        raise WorkbenchError(f"cannot open the workspace store: {message}", path=str(where)) from exc


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def safe(text: object) -> str:
    """``text`` with control characters escaped (``\\x1b``, ``\\n``, ``\\u202e``): fit for a terminal.

    Column names and values come from files anyone can write; printed raw, an
    escape sequence could rewrite the screen or hide a line. Line breaks are
    escaped too, so one value is always one line.
    """
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], str(text))


def _say(text: object = "", *, err: bool = False) -> None:
    """Print one line of output that may hold data-derived text."""
    print(safe(text), file=sys.stderr if err else sys.stdout)


def _print_frame(frame) -> None:
    """Print a table whose names and cells come from data, escaped cell by cell."""
    frame = frame.rename(columns=safe)
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: v if v is None else safe(v))
    print(frame.to_string(index=False))


def cmd_samples(args: argparse.Namespace) -> int:
    from workbench.samples import write_samples

    paths = write_samples(args.out, n_customers=args.customers, n_acquired=args.acquired, seed=args.seed)
    for name, path in paths.items():
        _say(f"wrote {name}: {path}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    ws = _open(args)
    folder = Path(args.samples)
    for name, (filename, key) in SAMPLE_FILES.items():
        ds = ws.load(folder / filename, key=key, name=name)
        ws.summarize(ds)
        _print_dataset(ds)
        result = ws.assess(ds).result  # zero-config, so the quality dashboard has a run to show
        _say(f"  assessed: health {result['health']:.1f} / 100, "
              f"{result['failing_rows']:,} rows fail an error or critical rule")
    _say(f"workspace ready: {ws.path.resolve()}")
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    from workbench.assess import write_report
    from workbench.errors import LoadError

    ws = _open(args)
    path = Path(args.file)
    if not path.exists() and args.file in set(ws.datasets()["name"]):
        ds = ws.dataset(args.file)
    else:
        if not path.exists():
            raise LoadError("no such file (nor a dataset of that name in the workspace)", path=str(path))
        ds = ws.load(path, key=args.key, name=args.name, **({"sheet": args.sheet} if args.sheet else {}))
        ws.summarize(ds)
    a = ws.assess(ds, rules=args.rules, purposes=args.purpose)
    to_stdout = args.json == "-"
    if args.json:
        if to_stdout:
            print(a.to_json())
        else:
            a.to_json(args.json)
    if args.html:
        write_report(a, args.html)
    if not to_stdout:
        _print_assessment(a.result, run_id=a.run_id, written=[p for p in (args.html, args.json) if p])
    return 1 if a.critical_failed else 0


def _print_assessment(r: dict, *, run_id: int, written: list[str], top: int = 5) -> None:
    _say(f"{r['label']}: {r['rows']:,} rows kept, {r['rejected']:,} rejected while loading  (run {run_id})")
    _say(f"  health {r['health']:.1f} / 100")
    if r["scores"]:
        _say("  scores: " + ", ".join(f"{d} {v:.1f}" for d, v in r["scores"].items()))
    if r["fitness"]:
        _say("  fit for: " + ", ".join(f"{p} {v:.1f}%" for p, v in r["fitness"].items()))
    origin = r.get("provenance") or {}
    if origin.get("party"):
        _say(f"  provenance: {origin['party']}-party" + (f", from {origin['source_system']}" if origin.get("source_system")
                                                          else ""))
    for purpose, why in (origin.get("limits") or {}).items():
        _say(f"    {purpose} limited: {why}")
    failing = sorted((c for c in r["checks"] if c["failed"]), key=lambda c: -c["failed"])[:top]
    if failing:
        _say("  top failing rules:")
        for c in failing:
            mark = "" if c["passed"] else "  NOT PASSED"
            _say(f"    {c['name']} ({c['severity']}, {c['dimension']}): {c['failed']:,} of {c['tested']:,} "
                  f"tested rows failed ({c['failed_pct']:.1f}%){mark}")
    else:
        _say("  no rule found a failing row")
    for w in r.get("warnings", []):
        _say(f"  warning: {w}")
    if r["critical_failed"]:
        _say(f"  CRITICAL rules failed: {', '.join(r['critical_rules_failed'])}")
    else:
        _say("  no critical rule failed")
    for p in written:
        _say(f"  wrote {p}")


def cmd_load(args: argparse.Namespace) -> int:
    ws = _open(args)
    options = {k: v for k in ("encoding", "delimiter", "table", "sheet") if (v := getattr(args, k))}
    ds = ws.load(args.file, key=args.key, name=args.name, schema=args.schema,
                 provenance=_provenance_given(args) or None, **options)
    ws.summarize(ds)
    _print_dataset(ds)
    return 0


def _headless_workspace(args: argparse.Namespace):
    """The given workspace, or a throwaway one: headless runs need no set-up."""
    if args.workspace:
        return _open(args)
    import tempfile

    from workbench.workspace import Workspace

    return Workspace(Path(tempfile.mkdtemp(prefix="workbench-")) / "workspace", user=args.user)


def _write_table(frame, out: str, ws, run: dict) -> None:
    """``--out``: written whole or not at all, with ``<name>.manifest.json`` beside it (rows, sha256, run)."""
    from workbench import store
    from workbench.errors import WorkbenchError
    from workbench.export import file_manifest, table_writer, write_files

    path = Path(out)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "parquet"):
        raise WorkbenchError(f"--out must end in .csv or .parquet, got {path.name!r}")
    writer = table_writer(frame, fmt)  # CSV formula-safe: keys from the data may start with = + - @
    source = {k: run.get(k) for k in ("task", "threshold", "labels", "records")}
    manifest = write_files(path.parent, {path.name: writer}, manifest_name=file_manifest(path).name,
                           manifest={"created_at": store.now().isoformat(), "user": ws.user, "source": source})
    ws.record("export", str(path), files=[path.name], rows=len(frame), manifest_sha256=manifest["sha256"],
              task=run.get("task"))


def _check_out(out: str) -> None:
    from workbench.errors import WorkbenchError

    if Path(out).suffix.lower() not in (".csv", ".parquet"):
        raise WorkbenchError(f"--out must end in .csv or .parquet, got {Path(out).name!r}")


def cmd_dedupe(args: argparse.Namespace) -> int:
    from workbench.errors import WorkbenchError

    if args.update and args.engine != "local":
        raise WorkbenchError("--update runs on this machine only (no --engine spark)")
    if args.update:
        _engine_options(args)  # refuses a --master without --engine spark
        return _update(args)
    if not args.out or not args.key:
        raise WorkbenchError("--key and --out are required (but with --update)")
    _check_out(args.out)
    engine = _engine_options(args)
    ws = _headless_workspace(args)
    ds = ws.load(args.file, key=args.key)
    task = f"dedupe:cli:{ds.name}:v{ds.version}"
    if args.model:
        from workbench.matching.clustering import cluster_with_model
        from workbench.matching.trained import MatchModel

        clustering = cluster_with_model(ws, ds, MatchModel.load(args.model), task=task, threshold=args.threshold,
                                        progress=sys.stderr.isatty(), **engine)
        trained_on = f"model {Path(args.model).name}"
    else:
        dd = ws.deduper(ds, task=task)
        n = dd.labels.import_training(args.labels, key=args.key)
        dd.refresh()
        clustering = dd.cluster(args.threshold, progress=sys.stderr.isatty(), **engine)
        trained_on = f"{n} labels"
    _write_table(clustering.clusters[["key", "cluster_id", "confidence"]], args.out, ws, clustering.result)
    if args.save_model:
        clustering.model.save(args.save_model)
    figures = clustering.figures
    multi = figures["records_in_multi_record_clusters"]
    _say(f"{ds.rows_kept:,} records -> {figures['clusters']:,} clusters "
          f"({multi:,} records in clusters of 2+), {trained_on}, threshold {clustering.threshold}: {args.out}")
    if args.save_model:
        _say(f"model: {args.save_model}")
    _blocking_note(clustering.result)
    return 0


def _update(args: argparse.Namespace) -> int:
    """``dedupe FILE --update NAME``: append, then an incremental clustering."""
    from workbench.matching.incremental import last_task, update_clustering

    if args.out:
        _check_out(args.out)
    ws = _open(args)
    task = last_task(ws, args.update)
    ds = ws.load(args.file, name=args.update, key=args.key, mode="append")
    clustering = update_clustering(ws, ds, task, progress=sys.stderr.isatty())
    f = clustering.figures
    _say(f"{ds.label}: {f['new_records']:,} new, {f['changed_records']:,} changed, {f['deleted_records']:,} deleted "
         f"records; {f['reclustered_records']:,} records clustered again, {f['clusters']:,} clusters in all")
    _say("ids: " + ", ".join(f"{f['ids_' + e]:,} {e}" for e in ("new", "merge", "split", "move", "retire")))
    if args.out:
        _write_table(clustering.clusters[["key", "cluster_id", "confidence"]], args.out, ws, clustering.result)
    return 0


def _blocking_note(run: dict) -> None:
    """Say how much of the likely matches blocking kept, loudly (stderr) when it lost many."""
    figures = run.get("figures", {})
    if "blocking_estimated_recall" in figures:
        _say(f"blocking: {figures['blocking']} (keeps an estimated "
              f"{figures['blocking_estimated_recall']:.1%} of the likely matches)")
    if figures.get("blocking_warning"):
        _say(f"warning: {figures['blocking_warning']}", err=True)


def cmd_link(args: argparse.Namespace) -> int:
    _check_out(args.out)
    engine = _engine_options(args)  # a --master without --engine spark fails before any work
    ws = _headless_workspace(args)
    acquired = ws.load(args.acquired, key=args.key)
    master = ws.load(args.master, key=args.master_key)
    lk = ws.linker(acquired, master, task=f"link:cli:{acquired.name}->{master.name}:v{acquired.version}")
    n = lk.labels.import_training(args.labels, key=(args.key, args.master_key))
    lk.refresh()
    links = lk.link(args.threshold, progress=sys.stderr.isatty(), **engine)
    _write_table(links, args.out, ws, lk.last_run)
    counts = links["status"].value_counts().to_dict()
    _say(f"{len(links):,} acquired records: {counts.get('match', 0):,} already in the master, "
          f"{counts.get('ambiguous', 0):,} ambiguous, {counts.get('new', 0):,} new; {n} labels: {args.out}")
    _blocking_note(lk.last_run)
    return 0


def cmd_golden(args: argparse.Namespace) -> int:
    from workbench.golden.exports import check_sql_target, manifest_path

    ws = _open(args)
    if args.sql:  # a taken table is refused before any work is done
        check_sql_target(args.sql, args.table_prefix, args.if_exists)
    result = ws.golden(args.dataset, args.rules)
    paths = result.export(args.out)
    st = result.stats
    _say(f"{len(result.golden):,} golden records from {st.get('records', len(result.crosswalk)):,} records")
    for name, path in sorted(paths.items()):
        _say(f"  {name}: {path}")
    _say(f"  manifest: {manifest_path(args.out)}")
    if args.sql:
        tables = result.to_sql(args.sql, args.table_prefix, if_exists=args.if_exists)
        _say("  tables: " + ", ".join(tables.values()))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    ws = _open(args)
    df = ws.datasets()
    if df.empty:
        _say(f"no datasets in {ws.path} yet; load one with: workbench load FILE --key COLUMN")
        return 0
    _print_frame(df[["name", "version", "rows_read", "rows_kept", "rows_rejected", "key", "party", "source"]])
    return 0


def cmd_notes(args: argparse.Namespace) -> int:
    import pandas as pd

    from workbench.access import can_reveal
    from workbench.annotations import Annotations
    from workbench.masking import mask_free_text

    ws = _open(args)
    notes = Annotations(ws, ws.dataset(args.name))
    if args.add is not None or args.tag is not None:
        if not args.on:
            raise WorkbenchError("say what the note or tag is on: --on KEY (a record) or --on KEY KEY ... (a cluster)")
        target = args.on[0] if len(args.on) == 1 else args.on
        done = [notes.note(target, args.add)] if args.add is not None else []
        done += [notes.tag(target, args.tag)] if args.tag is not None else []
        for a in done:
            _say(f"{a.kind} {a.id} added on {a.target_kind} {', '.join(a.keys)}")
        return 0
    frame = notes.frame()
    if frame.empty:
        _say(f"no notes or tags on {args.name} yet")
        return 0
    if not can_reveal(ws.role):  # notes are free text: phones and emails in them are masked
        frame["text"] = mask_free_text(frame["text"].astype(object)).where(frame["kind"] == "note", frame["text"])
    _print_frame(frame.assign(at=pd.to_datetime(frame["at"]).dt.strftime("%Y-%m-%d %H:%M")))
    return 0


def _anonymize_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``workbench anonymize``; its names are read from workbench.anonymize only when it runs."""
    p = sub.add_parser(
        "anonymize", help="export a dataset with ids, emails and phones hashed, names and free text removed",
        description="Write an anonymized copy of DATASET: ids, emails and phones hashed with your key (HMAC, "
                    "so exports made with the same key join), names, addresses and free text suppressed, date "
                    "of birth and postcode generalized; plus report.json with the k-anonymity over the "
                    "quasi-identifiers. The key comes from --key-file or $WORKBENCH_PSEUDONYM_KEY, never from the "
                    "command line.")
    _workspace_arg(p)
    p.add_argument("dataset", help="dataset name in the workspace")
    p.add_argument("--key-file", metavar="F", help="file holding the secret key, 16 bytes or more "
                                                   "(default: $WORKBENCH_PSEUDONYM_KEY)")
    p.add_argument("--out", required=True, help="folder (records, golden, crosswalk, report.json, manifest.json) "
                                                "or one .csv/.parquet file")
    p.add_argument("--k", type=int, default=5, help="records in classes smaller than K are at risk "
                                                            "(default 5)")
    p.add_argument("--format", action="append", choices=("csv", "parquet"), dest="formats",
                   help="table format for a folder (repeatable; default csv)")
    p.add_argument("--golden", action="store_true",
                   help="also build the golden records from the current clustering and export them anonymized")
    p.add_argument("--quasi", action="append", metavar="COLUMN",
                   help="a quasi-identifier for the report (repeatable; default: from the field roles)")
    p.add_argument("--hash-names", action="store_true", help="hash names and addresses instead of removing them")
    p.add_argument("--region", help="country of rows without one, for phones and postcodes "
                                    "(default: the data's most common)")
    p.set_defaults(func=cmd_anonymize)
    return p


def cmd_anonymize(args: argparse.Namespace) -> int:
    from workbench.anonymize import ACTIONS, check_key, export_anonymized, read_key

    secret = read_key(args.key_file) if args.key_file else check_key(None)  # refused before any work
    ws = _open(args)
    golden = None
    if args.golden:

        golden = ws.golden(args.dataset)
    paths = export_anonymized(ws, args.dataset, args.out, key=secret, formats=tuple(args.formats or ("csv",)),
                              golden=golden, quasi=args.quasi, k=args.k, hash_names=args.hash_names,
                              region=args.region)
    import json

    report = json.loads(next(p for n, p in paths.items() if n.endswith("report.json")).read_text("utf-8"))
    r = report["tables"]["records"]
    _say(f"{args.dataset}: {r['records']:,} records anonymized (key id {report['key_id']})")
    for action in ACTIONS:
        cols = [c["column"] for c in r["columns"] if c["action"] == action]
        if cols:
            _say(f"  {action}: {', '.join(cols)}")
    if r["k"] is not None:
        _say(f"  k = {r['k']} over {', '.join(r['quasi_identifiers']) or 'no quasi-identifier'}: "
             f"{r['records_at_risk']:,} records ({r['share_at_risk']:.1%}) in classes smaller than {r['threshold']}")
    for name, path in paths.items():
        _say(f"  {name}: {path}")
    return 0


def _forget_parser(sub: argparse._SubParsersAction) -> None:
    """``workbench forget KEY [KEY ...] [--dataset NAME] [--dry-run]``."""
    p = sub.add_parser("forget", help="erase a customer (right to erasure) from every dataset version, label, "
                                      "clustering, golden record and cache; list the exports that held it",
                       description="Stewards and admins only. Exit code 0 when erased, 2 when no dataset holds "
                                   "the key or on errors.")
    _workspace_arg(p)
    p.add_argument("key", nargs="+", help="the record's value in its dataset's key column (several allowed)")
    p.add_argument("--dataset", help="only this dataset's versions (default: every dataset holding the key)")
    p.add_argument("--dry-run", action="store_true", help="report what would be erased; change nothing")
    p.set_defaults(func=cmd_forget)


def cmd_forget(args: argparse.Namespace) -> int:
    from workbench.erasure import forget

    ws = _open(args)
    report = forget(ws, args.key, dataset=args.dataset, dry_run=args.dry_run)
    for line in report.lines():
        _say(line)
    return 0


def _retention_parser(sub: argparse._SubParsersAction) -> None:
    """``workbench retention [show | set NAME --days N --action A --by COL | apply [--dry-run] [--now DATE]]``."""
    p = sub.add_parser("retention", help="show, set or apply retention policies (delete or anonymize records "
                                         "after N days)",
                       description="Stewards and admins only for set and apply. 'apply --dry-run' lists what "
                                   "would go and changes nothing.")
    _workspace_arg(p)
    p.add_argument("action", nargs="?", choices=["show", "set", "apply"], default="show")
    p.add_argument("dataset", nargs="?", help="dataset name (set: required; apply: default every dataset)")
    p.add_argument("--days", type=int, help="keep records this many days")
    p.add_argument("--then", dest="then", choices=("delete", "anonymize"), default="delete",
                   help="what happens to older records: delete (default) or anonymize")
    p.add_argument("--by", help="date column a record's age is taken from (default: the acquisition or load date)")
    p.add_argument("--dry-run", action="store_true", help="apply: list what would go; change nothing")
    p.add_argument("--now", help="apply: count ages to this date (YYYY-MM-DD; default today)")
    p.add_argument("--key-file", help="anonymize: file holding the pseudonymization key "
                                      "(default: $WORKBENCH_PSEUDONYM_KEY)")
    p.set_defaults(func=cmd_retention)


def cmd_retention(args: argparse.Namespace) -> int:
    from workbench.anonymize import read_key
    from workbench.retention import apply_retention, retention_policy, set_retention

    ws = _open(args)
    if args.action == "set":
        if not args.dataset or args.days is None:
            raise WorkbenchError("usage: workbench retention set DATASET --days N [--then delete|anonymize] "
                                 "[--by COLUMN]")
        policy = set_retention(ws, args.dataset, days=args.days, action=args.then, by=args.by)
        _say(f"{args.dataset}: {policy.action} after {policy.days} days"
             + (f" by {policy.by}" if policy.by else ""))
        return 0
    if args.action == "apply":
        key = read_key(args.key_file) if args.key_file else None
        report = apply_retention(ws, dry_run=args.dry_run, now=args.now, dataset=args.dataset, key=key)
        for line in report.lines():
            _say(line)
        return 0
    names = sorted(set(ws.datasets()["name"]))
    for name in names:
        policy = retention_policy(ws, name)
        _say(f"{name}: " + (f"{policy.action} after {policy.days} days" + (f" by {policy.by}" if policy.by else "")
                            if policy else "no retention policy"))
    if not names:
        _say("no datasets in this workspace yet")
    return 0


def cmd_households(args: argparse.Namespace) -> int:
    from workbench.households import households_from_workspace

    ws = _open(args)
    result = households_from_workspace(ws, args.name)
    s = result.stats
    _say(f"{args.name}: {s['clusters']:,} customers -> {s['multi_households']:,} households of 2+ people "
         f"({s['people_in_multi']:,} people) and {s['multi_organization_groups']:,} organization groups of 2+ "
         f"(run {s['run_id']}; ids kept {s['ids_kept']:,}, new {s['ids_new']:,}, retired {s['ids_retired']:,})")
    if s["skipped_values"]:
        _say(f"  {s['skipped_values']:,} shared values linked nobody: held by too many customers "
             f"({', '.join(f'{k} {v}' for k, v in s['skipped_by_link'].items())})")
    _say(f"  files: {s['members']}")
    return 0


def cmd_provenance(args: argparse.Namespace) -> int:
    ws = _open(args)
    ds = ws.dataset(args.name, args.version)
    changes = _provenance_given(args)
    if changes:
        ds = ws.set_provenance(ds, **changes)
        _say(f"{ds.label}: provenance changed (audited)")
    for line in ds.provenance.describe():
        _say(f"  {line}")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from workbench import access

    ws = _open(args)
    if args.action == "grant":
        if not args.name or not args.role:
            raise WorkbenchError("usage: workbench users grant NAME ROLE")
        access.grant(ws, args.name, args.role)
        _say(f"{args.name}: {args.role}")
        return 0
    _print_frame(access.users(ws)[["name", "role", "granted_by", "granted_at"]])
    _say(f"you: {ws.user} ({ws.role})")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    ws = _open(args)
    if args.verify:
        return _verify_audit(ws)
    log = ws.audit_log().tail(args.last)
    if log.empty:
        print("audit log is empty")
    else:
        _print_frame(log[["at", "user", "action", "target"]])
    return 0


def _verify_audit(ws) -> int:
    from workbench import audit

    report = audit.verify(ws.engine)
    if report.intact:
        _say(f"audit log intact ({report.entries:,} entries)")
        _say(f"  head hash {report.head} (keep it elsewhere to detect a rewrite of the whole log)")
        if report.hashed_at_migration:
            _say(f"  the first {report.hashed_at_migration:,} entries predate the hash chain: they were hashed "
                 "when the store was migrated, so changes made to them before then cannot show")
        return 0
    _say(f"audit log broken at entry {report.first.entry}: {report.first.kind}: {report.first.detail}")
    if len(report.breaks) > 1:
        _say(f"  and {len(report.breaks) - 1} more broken link(s): "
             + "; ".join(str(b) for b in report.breaks[1:6]) + (" ..." if len(report.breaks) > 6 else ""))
    return 1


def _print_dataset(ds) -> None:
    from workbench.schema import describe_roles

    _say(f"{ds.label}: {ds.rows_read:,} rows read = {ds.rows_kept:,} kept + {ds.rows_rejected:,} rejected"
          f"  (source: {ds.source})")
    _say(f"  roles: {describe_roles(ds.schema)}")
    if ds.rows_rejected:
        for _, r in ds.rejects.head(5).iterrows():
            _say(f"  rejected line {r['line']}: {r['reason']}")
        if ds.rows_rejected > 5:
            _say(f"  ... and {ds.rows_rejected - 5} more (see Dataset.rejects)")
    for w in ds.warnings:
        _say(f"  warning: {w}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    head = argv[:argv.index("--")] if "--" in argv else argv
    debug = "--debug" in head  # a global flag, accepted after the command too
    if debug:
        argv.remove("--debug")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (`workbench ... | head`): the work is done, stop printing quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        return _fail(args.command, exc, debug=debug)


def _fail(command: str, exc: Exception, *, debug: bool) -> int:
    """One line on stderr for any error, exit code 2; the traceback only with --debug.

    A problem the user can fix reads ``error: <what and where>``; anything else
    is a bug and reads ``internal error: ...`` so it is not mistaken for bad input.
    """
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    message = explain(exc)
    if message is None:
        detail = str(exc).strip().splitlines()
        what = f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__
        hint = "this is a bug in workbench; please report it with the traceback above" if debug \
            else "rerun with --debug for the traceback"
        _say(f"workbench {command}: internal error: {what}; {hint}", err=True)
    else:
        _say(f"workbench {command}: error: {message}", err=True)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
