"""The ``podnet`` command: one typer app, command groups in sibling modules, and the single
handler that turns errors into one-line messages and exit codes (never a traceback)."""

from __future__ import annotations

import gc
import sys
from importlib import import_module

import typer

from podnet.errors import PodnetError, exit_code_for

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="The Kubernetes cluster network: predicted from manifests, "
                       "built for real in network namespaces.")

# Each module registers its commands on import (`register(app)`).
COMMAND_MODULES = ("analyze", "policy", "connlist", "services", "trace", "dns", "ingress", "doctor", "lab",
                   "host", "report")

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
        app(args=argv, prog_name="podnet")
    except PodnetError as e:
        print(f"podnet: error: {e}", file=sys.stderr)
        sys.exit(exit_code_for(e))
    except BrokenPipeError:
        sys.exit(0)
    except MemoryError:
        print("podnet: error: out of memory", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
