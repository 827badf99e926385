"""The component catalogue: a Markdown table of every component's spec, generated so it can never drift from them.

Everything comes from the exported spec (name, version, kind, image, typed ports, params JSON Schema), so the table
shows exactly what another project gets when it loads the JSON. The output depends only on the specs: components
sorted by name, ports in their declared order, params in the schema's order.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from deepfake.components.spec import ComponentSpec, InputSpec, OutputSpec

COMMAND = "python -m deepfake.pipelines components catalogue"
CATALOGUE_FILE = "README.md"
JSON_TYPES = {
    "integer": "int",
    "number": "float",
    "string": "str",
    "boolean": "bool",
    "null": "null",
    "array": "list",
    "object": "dict",
}
TABLE_PIPE = " \\| "  # a `|` inside a table cell, code spans included, must be escaped


def render_catalogue(specs: Sequence[ComponentSpec], package: str) -> str:
    ordered = sorted(specs, key=lambda spec: spec.name)
    lines = [
        f"# Component catalogue: `{package}`",
        "",
        f"Generated from the component specs by `{COMMAND}` (`make catalogue`); do not edit it by hand.",
        "A test fails when this file and the specs disagree.",
        f"`python -m deepfake.pipelines components export DIR --package {package}` writes each spec as JSON, and",
        'another project loads one with `deepfake.components.load_component(path_or_url, version="X.Y.Z")`.',
        "",
        "Inputs marked `?` are optional. Params read `name: type = default`, then their bounds: `[1, 600]` includes",
        "both ends, `(0, 1)` excludes them. A param marked `(required)` has no default.",
        "",
        "| component | version | kind | image | inputs | outputs | params |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_row(spec) for spec in ordered]
    for spec in ordered:
        lines += ["", f"## {spec.name} {spec.version}", "", _text(spec.description)]
        ports = [*_port_lines("input", spec.inputs), *_port_lines("output", spec.outputs)]
        lines += ["", *ports] if ports else []
    return "\n".join(lines) + "\n"


def describe_params(schema: Mapping[str, Any]) -> list[str]:
    """One `name: type = default (bounds)` line a param, from a pydantic-made JSON Schema."""
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    lines = []
    for name, prop in schema.get("properties", {}).items():
        variants = [_resolve(variant, definitions) for variant in prop.get("anyOf", [prop])]
        text = f"{name}: {TABLE_PIPE.join(_type(variant) for variant in variants)}"
        if name in required or "default" not in prop:
            text += " (required)"
        else:
            text += f" = {json.dumps(prop['default'])}"
        limits = [limit for variant in variants if (limit := _limits(variant))]
        if limits:
            text += f" {', '.join(limits)}"
        lines.append(text)
    return lines


def _row(spec: ComponentSpec) -> str:
    inputs = [f"{name}{'?' if port.optional else ''}: {port.type.name}" for name, port in spec.inputs.items()]
    outputs = [f"{name}: {port.type.name}" for name, port in spec.outputs.items()]
    params = describe_params(spec.params_schema)
    cells = [
        f"[{spec.name}](#{spec.name.replace('.', '')}-{spec.version.replace('.', '')})",
        spec.version,
        spec.kind.value,
        f"`{spec.image}`",
        _list(inputs),
        _list(outputs),
        _list(params),
    ]
    return f"| {' | '.join(cells)} |"


def _port_lines(role: str, ports: Mapping[str, InputSpec | OutputSpec]) -> list[str]:
    lines = []
    for name, port in ports.items():
        about = f" {_text(port.description)}" if port.description else ""
        lines.append(f"- {role} `{name}` ({port.type.name}: {_text(port.type.description)}).{about}")
    return lines


def _resolve(variant: Mapping[str, Any], definitions: Mapping[str, Any]) -> Mapping[str, Any]:
    reference = variant.get("$ref", "")
    return definitions.get(reference.rsplit("/", 1)[-1], variant) if reference else variant


def _type(variant: Mapping[str, Any]) -> str:
    if "enum" in variant:
        return TABLE_PIPE.join(json.dumps(value) for value in variant["enum"])
    if "const" in variant:
        return json.dumps(variant["const"])
    if variant.get("type") == "array" and "items" in variant:
        return f"list[{_type(variant['items'])}]"
    return JSON_TYPES.get(variant.get("type", ""), "any")


def _limits(variant: Mapping[str, Any]) -> str:
    low = ("[", variant["minimum"]) if "minimum" in variant else ("(", variant.get("exclusiveMinimum"))
    high = ("]", variant["maximum"]) if "maximum" in variant else (")", variant.get("exclusiveMaximum"))
    if low[1] is None and high[1] is None:
        length = variant.get("minLength")
        return f"length ≥ {length}" if length else ""
    if high[1] is None:
        return f"{'≥' if low[0] == '[' else '>'} {low[1]}"
    if low[1] is None:
        return f"{'≤' if high[0] == ']' else '<'} {high[1]}"
    return f"{low[0]}{low[1]}, {high[1]}{high[0]}"


def _list(items: Sequence[str]) -> str:
    return "<br>".join(f"`{item}`" for item in items) if items else "none"


def _text(text: str) -> str:
    """One Markdown line: docstring line breaks and table pipes would break the layout."""
    return " ".join(text.split()).replace("|", "\\|")
