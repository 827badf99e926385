"""Summarises numbers into `summary.json` (count, mean, min, max, stdev): the report a quality gate reads."""

import json
import statistics

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.artifacts import JSON_REPORT
from deepfake.components.runtime import main
from examples.quickstart.artifacts import NUMBERS


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scale: float = Field(1.0, gt=0, description="Multiply every number by this before summarising.")


def run(params: Params, ctx: RunContext) -> None:
    with (ctx.inputs["numbers"] / "numbers.jsonl").open() as handle:
        values = [json.loads(line)["value"] * params.scale for line in handle]
    if not values:
        raise ValueError("numbers.jsonl is empty: the upstream step produced no numbers")
    summary = {
        "count": len(values),
        "mean": statistics.fmean(values),
        "min": min(values),
        "max": max(values),
        "stdev": statistics.pstdev(values),
    }
    (ctx.outputs["summary"] / "summary.json").write_text(json.dumps(summary, indent=2))


COMPONENT = Component(
    name="summarize-numbers",
    version="1.0.0",
    kind=ComponentKind.PROCESSING,
    image="quickstart/summarize-numbers",
    description=__doc__,
    params=Params,
    run=run,
    entry_module="examples.quickstart.summarize_numbers",
    inputs={"numbers": InputSpec(type=NUMBERS)},
    outputs={"summary": OutputSpec(type=JSON_REPORT, description="summary.json")},
)

if __name__ == "__main__":
    raise SystemExit(main(COMPONENT))
