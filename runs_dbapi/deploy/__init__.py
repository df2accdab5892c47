"""Deploy from a manifest (issue 14): the seed page's Manifest tab, planned, applied, tested and
torn down idempotently, through the driver's own statements.

    from runs_dbapi import connect
    from runs_dbapi.deploy import apply, load_manifest, plan

    manifest = load_manifest("stack.yml", variables={"env": "dev"})
    with connect(project="my-project", location="us-central1") as connection:
        print(plan(connection, manifest).changed)
        apply(connection, manifest)

Modules: manifest (YAML with lines, checked against the catalog), templates (Jinja2, strict),
desired (the declared resources in the API's types, checked by its rules), state (what exists,
compared field by field), sql (the statements), engine (plan, apply, test, teardown).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .desired import resolve_block
from .engine import ApplyError, BlockReport, Change, Report, apply, plan, teardown, test
from .manifest import Manifest, ManifestError, parse_manifest
from .sql import Statement
from .state import FieldDiff
from .templates import base_context, check_variables, render, unknown

__all__ = ["ApplyError", "BlockReport", "Change", "FieldDiff", "Manifest", "ManifestError",
           "Report", "Statement", "apply", "check_manifest", "load_manifest", "parse_manifest",
           "plan", "teardown", "test"]


def check_manifest(manifest: Manifest, variables: Mapping[str, str] | None = None,
                   environ: Mapping[str, str] | None = None) -> Manifest:
    """Fill the manifest's context and check everything that can be checked before any call:
    every template variable has a value, every value known now is one the API takes."""
    manifest.context = base_context(manifest, dict(variables or {}),
                                    os.environ if environ is None else environ)
    check_variables(manifest, manifest.context)
    context = dict(manifest.context)
    for block in manifest.blocks:
        rendered = {p.name: render(p.value, _with_unknowns(context, manifest, block),
                                   manifest, p.line, resource=block.name, prop=p.name)
                    for p in block.props}
        resolve_block(manifest, block, rendered, None)
    return manifest


def _with_unknowns(context: dict[str, object], manifest: Manifest, upto: object
                   ) -> dict[str, object]:
    """The context with the exports of the blocks before `upto` as not-yet-known markers."""
    values = dict(context)
    for block in manifest.blocks:
        if block is upto:
            break
        values.update({name: unknown(block.name, name) for name in block.exports})
    return values


def load_manifest(path: str | os.PathLike[str], *, variables: Mapping[str, str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Manifest:
    """Read, parse and check a manifest file (ManifestError names the file, line and prop)."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(file, None, f"cannot read it: {error.strerror or error}") from None
    return check_manifest(parse_manifest(text, file), variables, environ)
