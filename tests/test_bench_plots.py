"""bench/plots.py: the figures of docs/benchmarks.md, drawn from the series the benchmarks write.

Synthetic series go through bench/series.py (the writer the benchmarks use) into a tmp dir;
each PNG is read back with matplotlib.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("matplotlib", reason="matplotlib is a dev dependency (make install)")
import matplotlib.image  # noqa: E402

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


plots = _module("plots")
series = _module("series")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_all(data: Path, monkeypatch: pytest.MonkeyPatch, scale: float = 1.0) -> None:
    monkeypatch.setattr(series, "OUT", data)
    pods = [1_000, 5_000, 10_000]
    line = {"x": pods, "y": [scale * p / 1000 for p in pods]}
    axes = {"x": {"label": "pods", "unit": "pods"}, "y": {"label": "wall time", "unit": "s"}}
    series.write("analyzer-time", title="t", series={"end to end": line}, **axes)
    series.write("analyzer-memory", title="m", series={"peak": line}, x=axes["x"],
                 y={"label": "peak RSS", "unit": "MiB"})
    series.write("render", title="r", series={m: line for m in ("iptables", "nftables", "ipvs")}, **axes)
    series.write("lab-up", title="l", series={"lab up": line}, **axes)
    series.write("conn-rate", title="c", x={"label": "services", "unit": "services"},
                 y={"label": "new connections", "unit": "conn/s"},
                 series={f"{m}, {w} Service": {"x": [10, 100, 1000], "y": [900.0, 800.0, 700.0]}
                         for m in ("iptables", "nftables") for w in ("first", "last")})
    series.write("throughput", title="tp", kind="bar", x={"label": "CNI", "unit": ""},
                 y={"label": "TCP throughput", "unit": "Gbit/s"},
                 series={"TCP": {"x": ["vxlan", "host-gw", "bgp"], "y": [10.0, 14.0, 13.0],
                                 "ymin": [9.0, 13.0, 12.5], "ymax": [11.0, 15.0, 13.2]}})


def test_every_figure_is_a_png_of_the_fixed_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    write_all(tmp_path / "data", monkeypatch)
    assert plots.main(["--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")]) == 0
    assert "not drawn" not in capsys.readouterr().err
    width, height = (int(v * plots.DPI) for v in plots.SIZE)
    for fig in plots.FIGURES:
        png = tmp_path / "out" / fig.png
        assert png.read_bytes()[:8] == PNG_MAGIC
        assert png.stat().st_size < 200 * 1024  # committed under docs/
        assert matplotlib.image.imread(png).shape[:2] == (height, width)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f.png for f in plots.FIGURES)


def test_the_figure_follows_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for scale in (1.0, 3.0):
        write_all(tmp_path / f"d{scale}", monkeypatch, scale)
        assert plots.main(["--data", str(tmp_path / f"d{scale}"), "--out", str(tmp_path / f"o{scale}")]) == 0
    a = matplotlib.image.imread(tmp_path / "o1.0" / "bench-lab-up.png")
    b = matplotlib.image.imread(tmp_path / "o3.0" / "bench-lab-up.png")
    assert (a != b).any()


def test_a_missing_series_is_named_and_the_rest_are_drawn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    write_all(data, monkeypatch)
    (data / "conn-rate.json").unlink()
    (data / "analyzer-memory.json").unlink()
    assert plots.main(["--data", str(data), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"bench-conn-rate.png not drawn: {data / 'conn-rate.json'} is missing" in err
    assert "bench/lab_net.py conn" in err
    assert f"bench-analyzer.png not drawn: {data / 'analyzer-memory.json'} is missing" in err
    assert "Traceback" not in err
    drawn = {p.name for p in out.iterdir()}
    assert drawn == {"bench-render.png", "bench-lab-up.png", "bench-throughput.png"}


def test_a_malformed_series_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    write_all(data, monkeypatch)
    doc = json.loads((data / "render.json").read_text())
    doc["series"]["ipvs"]["y"].pop()
    (data / "render.json").write_text(json.dumps(doc))
    (data / "lab-up.json").write_text("{not json")
    assert plots.main(["--data", str(data), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "bench-render.png not drawn" in err and "series 'ipvs' needs as many x as y" in err
    assert "bench-lab-up.png not drawn" in err and "unreadable" in err


def test_nothing_to_draw_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plots.main(["--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.count("not drawn") == len(plots.FIGURES)


def test_the_caption_gives_machine_date_load_and_command(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    write_all(tmp_path, monkeypatch)
    doc = json.loads((tmp_path / "lab-up.json").read_text())
    doc["machine"].update(loadavg=[7.25, 5.0, 3.0], loadavg_start=4.5, cores=2, memory="24 GiB")
    doc["quick"] = True
    text = plots.caption([doc])
    assert "2 cores, 24 GiB" in text and doc["date"] in text
    assert "load average (1 min) 4.5-7.2" in text  # start and end of the run
    assert "--quick" in text
    assert text.splitlines()[-1] == doc["command"]
    assert sys.argv[0].rsplit("/", 1)[-1] in doc["command"]
