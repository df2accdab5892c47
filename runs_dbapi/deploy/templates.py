"""Values as templates (Jinja2, `{{ project }}`), filled from the environment, the manifest's
globals, `-e KEY=VALUE` values and the exports of earlier blocks.

A variable with no value is an error naming the file, line and prop, found before any call:
every template's variables are checked against what will be known when it is rendered. An
export not known yet (a tensorboard's ID before the tensorboard is created) renders as a
marker, `<known after apply: board.tensorboardsId>`, which `plan` shows as such.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import meta

from .manifest import Manifest, ManifestError

__all__ = ["UNKNOWN_PREFIX", "base_context", "has_unknown", "render", "unknown",
           "variables_of"]

UNKNOWN_PREFIX = "<known after apply: "

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                          keep_trailing_newline=True)


def unknown(block: str, column: str) -> str:
    return f"{UNKNOWN_PREFIX}{block}.{column}>"


def has_unknown(value: Any) -> bool:
    return any(UNKNOWN_PREFIX in text for text in _strings(value))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def variables_of(value: Any, manifest: Manifest, line: int, *, resource: str = "",
                 prop: str = "") -> set[str]:
    """The template variables `value` uses."""
    names: set[str] = set()
    for text in _strings(value):
        if not _is_template(text):
            continue
        try:
            names |= meta.find_undeclared_variables(_ENV.parse(text))
        except jinja2.TemplateSyntaxError as error:
            raise manifest.error(line + max(error.lineno - 1, 0),
                                 f"template error: {error.message}", resource=resource,
                                 prop=prop) from None
    return names


def render(value: Any, context: Mapping[str, Any], manifest: Manifest, line: int, *,
           resource: str = "", prop: str = "") -> Any:
    """`value` with every text in it rendered; mappings and lists keep their shape."""
    if isinstance(value, str):
        if not _is_template(value):
            return value
        try:
            return _ENV.from_string(value).render(context)
        except jinja2.UndefinedError as error:
            raise manifest.error(line, f"template variable with no value: {error.message} "
                                 "(define it in globals, with -e NAME=VALUE, or in the "
                                 "environment)", resource=resource, prop=prop) from None
        except jinja2.TemplateError as error:
            raise manifest.error(line, f"template error: {error}", resource=resource,
                                 prop=prop) from None
    if isinstance(value, dict):
        return {render(k, context, manifest, line, resource=resource, prop=prop):
                render(v, context, manifest, line, resource=resource, prop=prop)
                for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context, manifest, line, resource=resource, prop=prop)
                for v in value]
    return value


def base_context(manifest: Manifest, variables: Mapping[str, str],
                 environ: Mapping[str, str]) -> dict[str, Any]:
    """The environment, then the globals (rendered in order), then the -e values, which win."""
    context: dict[str, Any] = {**environ, **variables}
    for item in manifest.globals:
        if item.name in variables:
            continue
        _check_known(variables_of(item.value, manifest, item.line), context, manifest,
                     item.line, prop=item.name, what="global")
        context[item.name] = render(item.value, context, manifest, item.line, prop=item.name)
    return context


def check_variables(manifest: Manifest, context: Mapping[str, Any]) -> None:
    """Every prop's variables have a value by the time its block is rendered: in the context
    or exported by an earlier block."""
    known = set(context)
    for block in manifest.blocks:
        for prop in block.props:
            _check_known(variables_of(prop.value, manifest, prop.line, resource=block.name,
                                      prop=prop.name),
                         known, manifest, prop.line, resource=block.name, prop=prop.name)
        known |= set(block.exports)


def _check_known(names: set[str], known: Mapping[str, Any] | set[str], manifest: Manifest,
                 line: int, *, resource: str = "", prop: str = "", what: str = "prop") -> None:
    missing = sorted(name for name in names if name not in known)
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        raise ManifestError(
            manifest.file, line,
            f"template variable{'s' if len(missing) > 1 else ''} {listed} "
            f"{'have' if len(missing) > 1 else 'has'} no value: define "
            f"{'them' if len(missing) > 1 else 'it'} in globals, with -e "
            f"{missing[0]}=VALUE, in the environment, or as an export of an earlier "
            "resource", resource=resource, prop=prop if what == "prop" else f"globals.{prop}")
