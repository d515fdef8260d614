"""The ``workbench`` command line.

Exit codes: 0 success, 2 usage or input errors (a message names the file and
the problem). Later stages add their own subcommands here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench.errors import WorkbenchError

SAMPLE_FILES = {"customers": ("customers.csv", "customer_id"), "acquired": ("acquired.csv", "lead_id")}


def _workspace_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", "-w", default=None,
                   help="workspace folder (default: $WORKBENCH_WORKSPACE or ./workspace)")
    p.add_argument("--user", default=None, help="name recorded in the audit log (default: $WORKBENCH_USER or login)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Assess, clean, deduplicate and master customer data.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
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
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("datasets", help="list the datasets in the workspace")
    _workspace_arg(p)
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("audit", help="show the audit log: who did what, when")
    _workspace_arg(p)
    p.add_argument("--last", type=int, default=20, help="how many entries (default 20)")
    p.set_defaults(func=cmd_audit)
    return parser


def _version() -> str:
    from workbench import __version__

    return __version__


def _open(args: argparse.Namespace):
    from workbench.workspace import Workspace

    return Workspace(args.workspace, user=args.user)


def cmd_samples(args: argparse.Namespace) -> int:
    from workbench.samples import write_samples

    paths = write_samples(args.out, n_customers=args.customers, n_acquired=args.acquired, seed=args.seed)
    for name, path in paths.items():
        print(f"wrote {name}: {path}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    ws = _open(args)
    folder = Path(args.samples)
    for name, (filename, key) in SAMPLE_FILES.items():
        ds = ws.load(folder / filename, key=key, name=name)
        ws.summarize(ds)
        _print_dataset(ds)
    print(f"workspace ready: {ws.path.resolve()}")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    ws = _open(args)
    options = {k: v for k in ("encoding", "delimiter", "table") if (v := getattr(args, k))}
    ds = ws.load(args.file, key=args.key, name=args.name, schema=args.schema, **options)
    ws.summarize(ds)
    _print_dataset(ds)
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    ws = _open(args)
    df = ws.datasets()
    if df.empty:
        print(f"no datasets in {ws.path} yet; load one with: workbench load FILE --key COLUMN")
        return 0
    print(df[["name", "version", "rows_read", "rows_kept", "rows_rejected", "key", "source"]].to_string(index=False))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    ws = _open(args)
    log = ws.audit_log().tail(args.last)
    print(log[["at", "user", "action", "target"]].to_string(index=False) if not log.empty else "audit log is empty")
    return 0


def _print_dataset(ds) -> None:
    from workbench.schema import describe_roles

    print(f"{ds.label}: {ds.rows_read:,} rows read = {ds.rows_kept:,} kept + {ds.rows_rejected:,} rejected"
          f"  (source: {ds.source})")
    print(f"  roles: {describe_roles(ds.schema)}")
    if ds.rows_rejected:
        for _, r in ds.rejects.head(5).iterrows():
            print(f"  rejected line {r['line']}: {r['reason']}")
        if ds.rows_rejected > 5:
            print(f"  ... and {ds.rows_rejected - 5} more (see Dataset.rejects)")
    for w in ds.warnings:
        print(f"  warning: {w}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        print(f"workbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
