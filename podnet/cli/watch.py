"""``podnet watch``: keep the model in memory, poll the files, and print the connectivity that
each change adds, removes or changes (``podnet diff``'s txt, or one JSON object per change)."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from podnet.cli.common import FileOpt, check_format

if TYPE_CHECKING:
    from podnet.policy.diff import ConnDiff

WATCH_FORMATS = ("txt", "json")


def _json(d: ConnDiff, files: list[str], seconds: float) -> str:
    from podnet.policy.diff_formats import _ordered

    keys = ("diff-type", "source", "destination", "ref1", "ref2", "workloads-diff-info")
    # the txt order, each row kept whole (NUL occurs in no name)
    rows = [dict(zip(keys, r.split("\x00"), strict=True)) for r in _ordered(d, "\x00".join)]
    return json.dumps({"files": files, "seconds": round(seconds, 6), "changes": rows},
                      sort_keys=True) + "\n"


def register(app: typer.Typer) -> None:
    @app.command(name="watch")
    def watch_cmd(filename: FileOpt = [],  # noqa: B006
                  output: Annotated[str, typer.Option("-o", "--output",
                                                      help="|".join(WATCH_FORMATS))] = "txt",
                  interval: Annotated[float, typer.Option(
                      "--interval", help="Seconds between polls of the files.")] = 0.5,
                  once_after_change: Annotated[bool, typer.Option(
                      "--once-after-change", help="Exit after the first change is reported "
                      "(for tests and benchmarks).")] = False,
                  ipblock_matches_pods: Annotated[bool, typer.Option(
                      "--ipblock-matches-pods", help="ipBlocks also select pod IPs.")] = False,
                  ) -> None:
        """Watch manifests and print the connectivity each change adds, removes or changes
        (what `podnet diff` prints for the files before and after it)."""
        from podnet.errors import InputError
        from podnet.policy.diff_formats import render
        from podnet.policy.live import LiveModel

        check_format(output, WATCH_FORMATS)
        live = LiveModel(filename, ipblock_matches_pods=ipblock_matches_pods)
        print(f"podnet: watching {len(live.stats)} files ({len(live.version.workloads)} "
              "workloads)", file=sys.stderr, flush=True)
        debounce = min(interval, 0.05)
        while True:
            time.sleep(interval)
            stats = live.changed()
            if stats is None:
                continue
            # An editor writes in steps: wait until two polls agree before reading.
            while True:
                time.sleep(debounce)
                again = live.changed()
                if again is None or again == stats:
                    break
                stats = again
            if again is None:
                continue
            changed = sorted(n for n in stats.keys() | live.stats.keys()
                             if stats.get(n) != live.stats.get(n))
            start = time.perf_counter()
            try:
                d = live.update(stats)
            except InputError as e:
                print(f"podnet: error: {e} (keeping the previous model)", file=sys.stderr,
                      flush=True)
                continue
            seconds = time.perf_counter() - start
            for w in live.warnings:
                print(f"podnet: warning: {w}", file=sys.stderr)
            text = render(d, "txt") if output == "txt" else _json(d, changed, seconds)
            sys.stdout.write(text)
            sys.stdout.flush()
            print(f"podnet: {', '.join(changed)}: {'changes' if d.differs else 'no change'} "
                  f"in {seconds * 1000:.1f} ms", file=sys.stderr, flush=True)
            if once_after_change:
                return
