"""The report's HTML: one file, styles and script inline, the data as one JSON blob, so it
opens from file:// with no network. jinja2 escapes every value it places in the markup; the
script builds the matrix from the blob with textContent only."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from podnet import __version__

TEMPLATES = "templates"


def _asset(name: str) -> str:
    return resources.files("podnet.report").joinpath(TEMPLATES, name).read_text(encoding="utf-8")


def json_blob(data: dict[str, Any]) -> str:
    """JSON safe inside a <script> element: no "<", ">" or "&" can close it or open a comment
    (each is written as its \\u escape, which JSON.parse reads back as the same character)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("podnet.report", TEMPLATES),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    return env


def render_html(data: dict[str, Any], title: str = "podnet report") -> str:
    for asset in ("report.js", "report.css"):  # inlined: a closing tag would end the element
        if "</" in _asset(asset):
            raise ValueError(f"{asset} holds '</', which would close its inline element")
    page = _environment().get_template("report.html.j2")
    return page.render(title=title, version=__version__, data=data,
                       blob=Markup(json_blob(data)), script=Markup(_asset("report.js")),
                       style=Markup(_asset("report.css")))
