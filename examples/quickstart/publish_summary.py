"""Renders the summary as Markdown: the step that only runs when the quality gate passes."""

import json

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.artifacts import JSON_REPORT, ArtifactType
from deepfake.components.runtime import main

MARKDOWN = ArtifactType(name="MarkdownReport", description="report.md", required_files=("report.md",))


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field("Numbers", min_length=1, description="Heading of the report.")


def run(params: Params, ctx: RunContext) -> None:
    summary = json.loads((ctx.inputs["summary"] / "summary.json").read_text())
    rows = "\n".join(f"| {key} | {value:.4g} |" for key, value in summary.items())
    (ctx.outputs["report"] / "report.md").write_text(f"# {params.title}\n\n| stat | value |\n|---|---|\n{rows}\n")


COMPONENT = Component(
    name="publish-summary",
    version="1.0.0",
    kind=ComponentKind.PROCESSING,
    image="quickstart/publish-summary",
    description=__doc__,
    params=Params,
    run=run,
    entry_module="examples.quickstart.publish_summary",
    inputs={"summary": InputSpec(type=JSON_REPORT)},
    outputs={"report": OutputSpec(type=MARKDOWN)},
)

if __name__ == "__main__":
    raise SystemExit(main(COMPONENT))
