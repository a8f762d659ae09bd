"""``python -m engine models list | download NAME | verify NAME | rm NAME | import PATH | move DIR``.

Each exits 0 only when it did what it says: a download that does not end verified, or a verify that
finds a file that does not match, prints which file and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from engine.hub.fsutil import human_bytes
from engine.hub.terminal import TerminalProgress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", help="models folder (default: where `move` put it, else the data folder)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the models on disk and the ones to download")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.add_argument("--no-fit", action="store_true", help="skip the fit estimate (which loads torch)")
    download = sub.add_parser("download", help="download a model (resumes) and verify it")
    download.add_argument("name", help="a catalog name (gpt-oss-20b) or a Hub repo: owner/name[@revision]")
    verify = sub.add_parser("verify", help="hash every file again and compare with the manifest")
    verify.add_argument("name")
    verify.add_argument(
        "--quick", action="store_true", help="compare file sizes only; the bytes are not read or hashed"
    )
    remove = sub.add_parser("rm", help="delete a model (an in-place import is only forgotten)")
    remove.add_argument("name")
    importing = sub.add_parser("import", help="import a gpt-oss model folder from disk")
    importing.add_argument("path")
    importing.add_argument("--name", help="name for it (default: the folder's name)")
    importing.add_argument("--in-place", action="store_true", help="use the folder where it is; copy nothing")
    move = sub.add_parser("move", help="move the models folder and remember the new place")
    move.add_argument("new_root")


def run(args: argparse.Namespace) -> int:
    from engine.hub import ModelStore

    store = ModelStore(args.root)
    if args.action == "list":
        return _list(store, args.json, not args.no_fit)
    if args.action == "download":
        bar = TerminalProgress()
        try:
            model = store.download(args.name, progress=bar)
        finally:
            bar.close()
        return _report(model)
    if args.action == "verify":
        bar = TerminalProgress()
        try:
            model = store.verify(args.name, full=not args.quick, progress=bar)
        finally:
            bar.close()
        if args.quick:
            print(
                f"{args.name}: quick check of sizes only: the bytes were not read, so a changed byte is not "
                "noticed. Run without --quick to hash every file.",
                file=sys.stderr,
            )
        return _report(model)
    if args.action == "rm":
        freed = store.get(args.name).size_bytes
        store.remove(args.name)
        print(f"removed {args.name} ({human_bytes(freed)})")
        return 0
    if args.action == "import":
        bar = TerminalProgress()
        try:
            model = store.import_folder(args.path, args.name, copy=not args.in_place, progress=bar)
        finally:
            bar.close()
        return _report(model)
    if args.action == "move":
        store.move_root(args.new_root)
        print(f"models are now in {store.root}")
        return 0
    raise AssertionError(args.action)


def _report(model) -> int:
    if not model.verified:
        print(
            f"{model.name} is {model.status}: {'; '.join(model.problems) or 'not verified'}", file=sys.stderr
        )
        return 1
    print(f"{model.name} verified: {human_bytes(model.size_bytes)} in {model.path}")
    return 0


def _list(store, as_json: bool, with_fit: bool) -> int:
    models = store.list()
    present = {m.name for m in models}
    available = [e for e in store.catalog() if e.name not in present]
    fits = {e.name: store.fit(e) if with_fit else None for e in available}
    if as_json:
        print(
            json.dumps(
                {
                    "root": str(store.root),
                    "models": [
                        {**asdict(m), "path": str(m.path), "folder": str(m.folder), "verified": m.verified}
                        for m in models
                    ],
                    "available": [
                        {**asdict(e), "fit": asdict(fits[e.name]) if fits[e.name] else None}
                        for e in available
                    ],
                },
                indent=2,
            )
        )
        return 0
    print(f"Models in {store.root}:")
    if not models:
        print("  (none yet)")
    for m in models:
        print(f"  {m.name:<24} {m.status:<11} {m.layout or '-':<9} {human_bytes(m.size_bytes):>9}  {m.path}")
        for problem in m.problems:
            print(f"      {problem}")
    if available:
        print("Available to download:")
    for e in available:
        size = human_bytes(e.download_bytes) if e.download_bytes is not None else "size unknown"
        fit = fits[e.name]
        print(
            f"  {e.name:<24} {size:>9}  {e.repo}@{e.revision[:12]}"
            + (f"  {fit.verdict}: {fit.reason}" if fit else "")
        )
    return 0
