"""The entry point, and a way around typer for the commands users repeat or wait on: ``explain``,
``lab up`` and ``lab probe``.

Parsing a command line through typer costs more than a repeated ``explain`` itself: importing
typer, and then pydantic, which typer (0.29) imports to coerce any option that is not a flag
(0.3-0.5 s of CPU on the shared machine, docs/benchmarks.md). ``parse`` recognises the plain
form of those command lines (their own options, each once or repeated as typer allows,
``--opt VALUE`` or ``--opt=VALUE``, an optional ``--no-cache`` before the command) and runs the
same code the typer command runs; anything else (``--help``, an unknown or malformed option,
a value that looks like an option) goes to typer, which says what is wrong as it always has.

This module imports nothing that computes: the command's own imports happen when it runs.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from collections.abc import Callable

from podnet.errors import OutputError, PodnetError, exit_code_for

# The commands run here, each with its options: the keyword each option sets. What a keyword
# holds: a list (repeatable), a flag, a number; anything else is one string.
_COMMANDS: dict[tuple[str, ...], dict[str, str]] = {
    ("explain",): {"-f": "filename", "--filename": "filename", "--from": "src", "--to": "dst",
                   "--port": "port", "-o": "output", "--output": "output", "--nodes": "nodes",
                   "--no-ipblock-matches-pods": "no_ipblock_matches_pods"},
    ("lab", "up"): {"-f": "filename", "--filename": "filename", "--name": "name", "--cni": "cni",
                    "--nodes": "nodes", "--proxy": "proxy", "--dry-run": "dry_run",
                    "--migrated-gateway": "migrated_gateway"},
    ("lab", "probe"): {"--name": "name", "--ports": "ports", "-o": "output", "--output": "output",
                       "--timeout": "timeout"},
}
_LISTS = {"filename"}
_FLAGS = {"no_ipblock_matches_pods", "dry_run", "migrated_gateway"}
_INTS = {"nodes"}
_FLOATS = {"timeout"}
# checked as typer's option callbacks check them (podnet.cli.common.choices), in the order the
# options came on the command line, as click processes them
_CHOICES = {"cni": ("--cni", "CNI_MODES"), "proxy": ("--proxy", "PROXY_MODES")}


def explain(filename: list[str], src: str = "", dst: str = "", port: str = "",
            output: str = "table", nodes: int = 3, no_ipblock_matches_pods: bool = False) -> None:
    """``podnet explain``: why one flow is allowed or denied (typer's command calls this)."""
    from podnet.cli.loading import check_format, load_cluster
    from podnet.cli.output import emit_json, print_lines
    from podnet.errors import UsageError
    from podnet.policy.explain import evaluator_for, explain_data
    from podnet.policy.query import find_endpoint, parse_port

    check_format(output, ("table", "json"))
    cluster = load_cluster(filename, nodes)

    if not src or not dst or not port:
        raise UsageError("explain needs --from, --to and --port")
    number, proto = parse_port(port)
    a, b = find_endpoint(cluster, src), find_endpoint(cluster, dst)
    # only the policies that can select a or b are compiled (not all 10,000 of a big one)
    ev = evaluator_for(cluster, (a, b), ipblock_matches_pods=not no_ipblock_matches_pods)
    v = ev.verdict(a, b)
    data = explain_data(v, number, proto)
    if output == "json":
        emit_json(data)
        return
    lines = [f"{data['from']} -> {data['to']} {port}: "
             f"{'ALLOWED' if data['allowed'] else 'DENIED'}"]
    if v.self_traffic:
        lines.append("  a pod may always reach itself")
    for side in ("egress", "ingress"):
        d = data[side]
        assert isinstance(d, dict)
        lines.append(f"  {side} of {d['pod']}: {d['summary']}")
        for pol in d["policies"]:
            rules = ", ".join(pol["allowedBy"]) or "no rule matches this flow"
            lines.append(f"    {pol['policy']}: {'allows' if pol['allows'] else 'denies'}"
                         f" ({rules}); lets {pol['connections']} through for this pair")
    print_lines(lines)


def parse(argv: list[str]) -> Callable[[], None] | None:
    """The command this command line asks for (``explain``, ``lab up``, ``lab probe``), ready
    to run; None when typer should parse it (another command, or anything beyond the plain
    form)."""
    args = list(argv)
    no_cache = bool(args) and args[0] == "--no-cache"
    if no_cache:
        args.pop(0)
    command = next((c for c in _COMMANDS if tuple(args[:len(c)]) == c), None)
    if command is None:
        return None
    options = _COMMANDS[command]
    kwargs: dict[str, object] = {k: [] for k in set(options.values()) & _LISTS}
    rest = args[len(command):]
    while rest:
        token = rest.pop(0)
        name, eq, value = token.partition("=") if token.startswith("--") else (token, "", "")
        key = options.get(name)
        if key is None:
            return None
        if key in _FLAGS:
            if eq:
                return None
            kwargs[key] = True
            continue
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        if value.startswith("-") and value != "-":
            return None  # typer may read it as a value or an option: let it decide
        if key in _INTS:
            if not value.isascii() or not value.isdigit():
                return None
            kwargs[key] = int(value)
        elif key in _FLOATS:
            if not _plain_decimal(value):
                return None
            kwargs[key] = float(value)
        elif key in _LISTS:
            values = kwargs[key]
            assert isinstance(values, list)
            values.append(value)
        else:
            kwargs[key] = value  # the last counts; click checks it where the first one came
    checks = [(key, *_CHOICES[key]) for key in kwargs if key in _CHOICES]

    def run() -> None:
        from podnet.cli.loading import CACHE, check_choice
        from podnet.model import vocabulary

        for key, flag, allowed in checks:
            check_choice(flag, str(kwargs[key]), getattr(vocabulary, allowed))
        CACHE["enabled"] = not no_cache
        _runner(command)(**kwargs)
        sys.exit(0)  # as typer ends a command: stdout is flushed and checked on the way out

    return run


def _plain_decimal(value: str) -> bool:
    """Digits with at most one point: what float() and click read alike (no exponent, inf or
    nan, which go to typer)."""
    whole, _, fraction = value.partition(".")
    digits = whole + fraction
    return bool(digits) and digits.isascii() and digits.isdigit()


def _runner(command: tuple[str, ...]) -> Callable[..., None]:
    """The plain function behind the typer command, imported when it runs."""
    if command == ("explain",):
        return explain
    from podnet.cli import lab_run

    return lab_run.up if command == ("lab", "up") else lab_run.probe


def guarded(run: Callable[[], None]) -> None:
    """Run a command; podnet's errors become one line on stderr and their exit code (never a
    traceback). A command ends with ``SystemExit`` (typer's way to return)."""
    try:
        try:
            run()
        except SystemExit as done:  # stdout must be out before success
            if not done.code:
                _flush_stdout()
            raise
    except OutputError as e:
        print(f"podnet: error: {e}", file=sys.stderr)
        _discard_stdout()
        sys.exit(exit_code_for(e))
    except PodnetError as e:
        print(f"podnet: error: {e}", file=sys.stderr)
        sys.exit(exit_code_for(e))
    except BrokenPipeError:
        sys.exit(0)
    except MemoryError:
        print("podnet: error: out of memory", file=sys.stderr)
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    # One short batch run over acyclic data (the model is immutable tuples and maps): the
    # cyclic collector would rescan the growing heap over and over and free nothing, a
    # quarter of `reach` on 150,000 pods. Reference counting still frees what is dropped.
    # (The lab's long-running servers are their own processes and keep the collector.)
    gc.disable()
    from podnet.cli.fasthelp import serve

    args = sys.argv[1:] if argv is None else argv
    serve(args)  # help and usage without typer; exits if so
    from podnet.cli.codecache import install

    install(args)  # before the command's modules define their dataclasses
    call = parse(args)
    if call is None:
        from podnet.cli.app import main as full

        full(argv)
        return
    guarded(call)


def entry() -> None:
    """The console script and ``python -m podnet``: ``main``, then out without the interpreter's
    teardown, which frees every object one by one (40 ms after `lab up`, the whole model after
    a command on a large cluster) to hand the memory back to a kernel that takes it anyway.
    Exit handlers still run and the streams are flushed; with a thread left to join, or an
    error that is no ``SystemExit``, the interpreter leaves its own way."""
    try:
        main()
    except SystemExit as done:
        # here, while the traceback keeps the frames (and the model) alive: no frees
        if any(t.is_alive() and not t.daemon and t is not threading.main_thread()
               for t in threading.enumerate()):
            raise
        code = done.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)  # what the interpreter does with sys.exit("text")
            code = 1
        _leave(code or 0)
    _leave(0)


def _leave(code: int) -> None:
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            pass  # the reader left: nothing to tell it (``guarded`` exits 0 on it too)
        except (OSError, ValueError):
            code = code or 120  # the interpreter's status when its last flush fails
    os._exit(code)


def _flush_stdout() -> None:
    """Output printed through the text layer (rich tables, typer.echo) fails here, if it fails
    at all, so the exit status says so."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        raise OutputError(f"writing the output failed: {e.strerror or e}") from None


def _discard_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's flush at exit drops what could not be
    written, instead of failing again with a traceback-like 'Exception ignored' on stderr."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):  # no real fd (a test's stream): nothing to do
        pass
