"""The ``podnet`` command: one typer app, command groups in sibling modules, and the single
handler that turns errors into one-line messages and exit codes (never a traceback)."""

from __future__ import annotations

import gc
import os
import sys
from importlib import import_module

import typer

from podnet.errors import OutputError, PodnetError, exit_code_for

# Plain help and usage errors (rich_markup_mode=None): typer's rich help imports rich and
# markdown-it, about half of `podnet --help`'s start-up (docs/benchmarks.md, "Start-up").
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="The Kubernetes cluster network: predicted from manifests, "
                       "built for real in network namespaces.")

# Each module registers its commands on import (`register(app)`). They import only typer and
# podnet.cli.common at the top; what a command computes with is imported when it runs.
COMMAND_MODULES = ("analyze", "policy", "connlist", "diff", "gateway", "services", "trace",
                   "dns", "ingress", "doctor", "lab", "host", "report", "watch")

@app.callback()
def _options(no_cache: bool = typer.Option(
        False, "--no-cache", help="Build the cluster model afresh: neither read nor write the "
        "model cache ($XDG_CACHE_HOME/podnet; also PODNET_NO_CACHE=1).")) -> None:
    from podnet.cli.common import CACHE

    CACHE["enabled"] = not no_cache


for _name in COMMAND_MODULES:
    import_module(f"podnet.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    # One short batch run over acyclic data (the model is immutable tuples and maps): the
    # cyclic collector would rescan the growing heap over and over and free nothing, a
    # quarter of `reach` on 150,000 pods. Reference counting still frees what is dropped.
    # (The lab's long-running servers are their own processes and keep the collector.)
    gc.disable()
    # Standalone mode lets typer report usage errors itself (exit 2); podnet's own errors
    # come through here and become one line on stderr.
    try:
        try:
            app(args=argv, prog_name="podnet")
        except SystemExit as done:  # typer's way to return: stdout must be out before success
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


if __name__ == "__main__":
    main()
