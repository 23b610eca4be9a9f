"""Render every help screen of the typer app into ``podnet/cli/helptexts.py`` (the table
``podnet.cli.fasthelp`` prints from), or check that the table is what typer prints now.

    python -m podnet.cli.helpgen           # rewrite the table (`make helptexts`; `make install`)
    python -m podnet.cli.helpgen --check   # exit 1, naming the first difference, if stale

Each screen is rendered by running the command line through the real entry point
(``podnet.cli.app.main``) in this process with ``COLUMNS`` at the table's width, and its stream,
exit code and text are recorded as they are written: what ``podnet`` prints without the table.
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from podnet.cli.fasthelp import HELP_OPTIONS, STATIC, fingerprint

COLUMNS = 80
TARGET = Path(__file__).with_name("helptexts.py")


def command_lines() -> list[list[str]]:
    """Every command line the table answers: the bare program and each group on its own (when
    that prints the group's help), and every command path followed by its help option."""
    import typer._click as click
    import typer.main
    from typer.core import TyperGroup

    from podnet.cli.app import app

    lines: list[list[str]] = []

    def walk(cmd: object, path: list[str], parent: click.Context | None) -> None:
        assert isinstance(cmd, click.Command)
        ctx = click.Context(cmd, parent=parent, info_name=path[-1] if path else "podnet",
                            **cmd.context_settings)
        names = cmd.get_help_option_names(ctx) if cmd.add_help_option else []
        if not set(names) <= set(HELP_OPTIONS):
            raise SystemExit(f"helpgen: `podnet {' '.join(path)}` has help options {sorted(names)}: "
                             f"add them to podnet.cli.fasthelp.HELP_OPTIONS")
        runs_bare = isinstance(cmd, TyperGroup) and cmd.invoke_without_command
        if cmd.no_args_is_help and not runs_bare:
            lines.append(path)
        if isinstance(cmd, TyperGroup):
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], [*path, name], ctx)
        lines.extend([*path, name] for name in sorted(names))

    walk(typer.main.get_command(app), [], None)
    return lines


def render(argv: list[str]) -> tuple[str, int, str]:
    """(stream, exit code, text) of ``podnet ARGV`` without the table; the text must go to one
    stream only."""
    from podnet.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(COLUMNS)
    code: object = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main(list(argv))
    except SystemExit as done:
        code = done.code
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    if not isinstance(code, int):
        raise SystemExit(f"helpgen: `podnet {' '.join(argv)}` exited with {code!r}")
    texts = [(name, s.getvalue()) for name, s in (("stdout", out), ("stderr", err)) if s.getvalue()]
    if len(texts) != 1 or "\x1b" in texts[0][1]:
        raise SystemExit(f"helpgen: `podnet {' '.join(argv)}` did not print plain text on one stream")
    return texts[0][0], code, texts[0][1]


def loaded_sources() -> tuple[str, ...]:
    """The podnet modules rendering loaded (package-relative) and typer's version file: what the
    table's fingerprint covers."""
    import podnet

    base = Path(podnet.__file__).resolve().parent
    files = set()
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        if not path:
            continue
        p = Path(path).resolve()
        if p.is_relative_to(base) and p.suffix == ".py" and p.name != "helptexts.py":
            files.add(p.relative_to(base).as_posix())
    return (*sorted(files), "typer:__init__.py")


Entry = tuple[str, int, str, int]


def fresh() -> tuple[dict[str, Entry], list[tuple[str, ...]]]:
    """Every screen rendered now, keyed as the table keys them, each with the index of the
    sources it came from: the help screens' (the command line's modules), then the static
    outputs' (what those commands import besides). Call it in a fresh process: the sources are
    the podnet modules loaded."""
    texts: dict[str, Entry] = {}
    sources: list[tuple[str, ...]] = []
    for index, lines in enumerate((command_lines(), [list(a) for a in STATIC])):
        for argv in lines:
            texts["\0".join(argv)] = (*render(argv), index)
        sources.append(loaded_sources())
    return texts, sources


def table() -> str:
    """The text of helptexts.py for the code as it is now."""
    texts, sources = fresh()
    crcs = tuple(fingerprint(files) for files in sources)
    assert None not in crcs
    rows = "".join(f"    {key!r}: {value!r},\n" for key, value in sorted(texts.items()))
    return ("# Generated by `python -m podnet.cli.helpgen` (make helptexts): every help screen of\n"
            "# the typer app, and the few static outputs, as podnet prints them; served by\n"
            "# podnet.cli.fasthelp. Do not edit.\n"
            "# ruff: noqa: E501\n\n"
            f"COLUMNS = {COLUMNS}\n"
            f"FINGERPRINTS: tuple[int, ...] = {crcs!r}\n"
            f"SOURCES: tuple[tuple[str, ...], ...] = {tuple(sources)!r}\n\n"
            "# command line (arguments joined by NUL): stream, exit code, text, index in SOURCES\n"
            f"TEXTS: dict[str, tuple[str, int, str, int]] = {{\n{rows}}}\n")


def main() -> None:
    text = table()
    if sys.argv[1:] == ["--check"]:
        old = TARGET.read_text() if TARGET.exists() else ""
        if old != text:
            sys.exit(f"helpgen: {TARGET} is stale: run `make helptexts`")
        return
    if not TARGET.exists() or TARGET.read_text() != text:
        TARGET.write_text(text)
        print(f"helpgen: wrote {TARGET} ({len(text):,} bytes)")


if __name__ == "__main__":
    main()
