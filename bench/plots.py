"""Draw the benchmark figures (PNG, for docs/benchmarks.md) from the series the benchmarks wrote.

``python bench/plots.py [--data build/bench] [--out docs]``. Each figure reads one or two
build/bench/<name>.json files (bench/series.py's format). A figure whose data is missing or
unreadable is skipped with a line naming the file and the benchmark that writes it; the others
are still drawn (a non-root ``make bench`` has no lab figures). Exit 1 only when nothing was
drawn. The caption gives the machine, the date and the load average: the machine is shared,
so the figures are as noisy as that load says.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZE = (9.0, 5.0)  # inches
DPI = 100  # so every PNG is 900 x 500 pixels


@dataclass(frozen=True)
class Figure:
    png: str
    sources: tuple[str, ...]  # the JSON files, one panel each
    bench: str  # what writes them


FIGURES = (
    Figure("bench-analyzer.png", ("analyzer-time", "analyzer-memory"), "bench/run.py"),
    Figure("bench-render.png", ("render",), "bench/services.py"),
    Figure("bench-lab-up.png", ("lab-up",), "bench/lab.py (root)"),
    Figure("bench-conn-rate.png", ("conn-rate",), "bench/lab_net.py conn (root)"),
    Figure("bench-throughput.png", ("throughput",), "bench/lab_net.py cni (root)"),
)
LOG_X = {"conn-rate"}  # 10 to 10,000 Services: evenly spaced on a log axis


class Missing(Exception):
    """A figure's data cannot be used; the message says which file and why."""


def read(data: Path, name: str, bench: str) -> dict[str, Any]:
    path = data / f"{name}.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise Missing(f"{path} is missing: run `python {bench}`") from None
    except (OSError, ValueError) as e:
        raise Missing(f"{path} is unreadable ({e}): run `python {bench}` again") from None
    for key in ("title", "x", "y", "series", "date", "machine", "command"):
        if key not in doc:
            raise Missing(f"{path} has no {key!r}: run `python {bench}` again")
    if not doc["series"]:
        raise Missing(f"{path} holds no series: run `python {bench}` again")
    for label, s in doc["series"].items():
        if not isinstance(s, dict) or len(s.get("x", [])) != len(s.get("y", ())) or not s["x"]:
            raise Missing(f"{path}: series {label!r} needs as many x as y values, at least one")
    return doc


def axis_label(axis: dict[str, str]) -> str:
    unit = axis.get("unit")
    return f"{axis['label']} ({unit})" if unit and unit != axis["label"] else axis["label"]


def caption(docs: list[dict[str, Any]]) -> str:
    m = docs[0]["machine"]
    loads = [d["machine"]["loadavg"][0] for d in docs]
    starts = [d["machine"].get("loadavg_start", d["machine"]["loadavg"][0]) for d in docs]
    quick = " (--quick sizes)" if any(d.get("quick") for d in docs) else ""
    return (f"{m['cores']} cores, {m['memory']}, Linux {m['kernel']}, Python {m['python']}; "
            f"{docs[0]['date']}; load average (1 min) {min(starts + loads):.1f}-"
            f"{max(starts + loads):.1f} on this shared machine{quick}\n"
            + "; ".join(dict.fromkeys(d["command"] for d in docs)))


def panel(ax: Any, doc: dict[str, Any], name: str) -> None:
    from matplotlib import ticker

    if doc.get("kind") == "bar":
        for label, s in doc["series"].items():
            ys = s["y"]
            err = None
            if "ymin" in s and "ymax" in s:
                err = [[y - lo for y, lo in zip(ys, s["ymin"], strict=True)],
                       [hi - y for y, hi in zip(ys, s["ymax"], strict=True)]]
            bars = ax.bar([str(x) for x in s["x"]], ys, yerr=err, capsize=6, label=label,
                          color="#4c72b0")
            ax.bar_label(bars, fmt="%.1f", padding=3)
    else:
        # lines that share a prefix ("iptables, first/last Service") share a colour; the
        # second of a pair is dashed
        groups: dict[str, int] = {}
        for label, s in doc["series"].items():
            group = label.split(",")[0]
            style = "--" if group in groups and "," in label else "-"
            colour = f"C{groups.setdefault(group, len(groups))}"
            ax.plot(s["x"], s["y"], marker="o", label=label, color=colour, linestyle=style)
        ax.legend(fontsize=8)
        if name in LOG_X:
            ax.set_xscale("log")
        # 150,000 rather than 1.5e5 or a run-together 140000
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        if name not in LOG_X:
            ax.xaxis.set_major_locator(ticker.MaxNLocator(5))
        ax.tick_params(axis="x", labelsize=8)
    ax.set_title(doc["title"], fontsize=10)
    ax.set_xlabel(axis_label(doc["x"]))
    ax.set_ylabel(axis_label(doc["y"]))
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)


def draw(fig_spec: Figure, data: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a build machine
    import matplotlib.pyplot as plt

    docs = [read(data, name, fig_spec.bench) for name in fig_spec.sources]
    fig, axes = plt.subplots(1, len(docs), figsize=SIZE, dpi=DPI, squeeze=False)
    try:
        for ax, doc, name in zip(axes[0], docs, fig_spec.sources, strict=True):
            panel(ax, doc, name)
        fig.text(0.01, 0.01, caption(docs), fontsize=7, va="bottom", ha="left", color="#444")
        fig.subplots_adjust(left=0.08, right=0.98, top=0.92, bottom=0.22, wspace=0.25)
        out.mkdir(parents=True, exist_ok=True)
        path = out / fig_spec.png
        # fixed size (no bbox_inches="tight"), so the docs' layout does not move between runs
        fig.savefig(path, dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "build" / "bench",
                    help="where the benchmarks wrote their series (default build/bench)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go (default docs)")
    args = ap.parse_args(argv)
    drawn = 0
    for spec in FIGURES:
        try:
            path = draw(spec, args.data, args.out)
        except Missing as e:
            print(f"plots: {spec.png} not drawn: {e}", file=sys.stderr)
            continue
        drawn += 1
        print(f"plots: wrote {path} ({path.stat().st_size // 1024} KB)")
    return 0 if drawn else 1


if __name__ == "__main__":
    sys.exit(main())
