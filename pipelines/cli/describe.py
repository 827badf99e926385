"""`python -m deepfake.pipelines describe`: a pipeline's parameters, as a user sets them, and where each one goes."""

from deepfake.pipelines.dag import Pipeline, PipelineParameter

HOW_TO_SET = 'set each with --param NAME=VALUE, or make pipeline-run PARAMS="NAME=VALUE ..."'


def describe(pipeline: Pipeline) -> str:
    lines = [f"{pipeline.name}: {pipeline.description}", f"steps: {' → '.join(pipeline.topological_order())}", ""]
    lines.append(f"parameters ({HOW_TO_SET}):")
    width = max((len(name) for name in pipeline.parameters), default=0)
    for parameter in pipeline.parameters.values():
        lines.append(f"  {parameter.name:<{width}}  {parameter.type:<7}  default {_default(parameter)}")
        if parameter.description:
            lines.append(f"  {'':<{width}}  {parameter.description}")
        if parameter.choices:
            lines.append(f"  {'':<{width}}  one of: {', '.join(parameter.choices)}")
        lines.append(f"  {'':<{width}}  → {', '.join(pipeline.uses(parameter.name)) or 'nothing'}")
    return "\n".join(lines) + "\n"


def describe_markdown(pipeline: Pipeline) -> str:
    """The table the README lists (a test compares the two)."""
    lines = ["| Parameter | Type | Default | Description | Sets |", "|---|---|---|---|---|"]
    for parameter in pipeline.parameters.values():
        description = parameter.description
        if parameter.choices:
            description += f" One of: {', '.join(parameter.choices)}."
        uses = ", ".join(f"`{use}`" for use in pipeline.uses(parameter.name))
        lines.append(f"| `{parameter.name}` | {parameter.type} | `{_default(parameter)}` | {description} | {uses} |")
    return "\n".join(lines) + "\n"


def _default(parameter: PipelineParameter) -> str:
    return str(parameter.default).lower() if isinstance(parameter.default, bool) else str(parameter.default)
