"""The ``podnet`` command: one typer app, command groups in sibling modules, and the single
handler that turns errors into one-line messages and exit codes (never a traceback)."""

from __future__ import annotations

import gc
import sys
from importlib import import_module

import typer

from podnet.cli import quick
from podnet.cli.quick import guarded

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
    """Entry point for a caller that has imported the command line already (tests, embedding):
    a quick command still skips typer's argument parsing (see ``podnet.cli.quick``)."""
    gc.disable()  # see podnet.cli.quick.main
    call = quick.parse(sys.argv[1:] if argv is None else argv)
    guarded(call or (lambda: app(args=argv, prog_name="podnet")))


if __name__ == "__main__":
    main()
