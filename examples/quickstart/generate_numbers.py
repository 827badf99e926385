"""Writes `count` pseudo-random numbers in [0, 1): a stand-in for a data-ingest stage."""

import json
import random

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import Component, ComponentKind, OutputSpec, RunContext
from deepfake.components.runtime import main
from examples.quickstart.artifacts import NUMBERS


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(1000, ge=1, le=1_000_000, description="How many numbers to draw.")
    seed: int = Field(0, ge=0, description="Random seed; the same seed gives the same numbers.")


def run(params: Params, ctx: RunContext) -> None:
    rng = random.Random(params.seed)
    with (ctx.outputs["numbers"] / "numbers.jsonl").open("w") as handle:
        for _ in range(params.count):
            handle.write(json.dumps({"value": rng.random()}) + "\n")


COMPONENT = Component(
    name="generate-numbers",
    version="1.0.0",
    kind=ComponentKind.PROCESSING,
    image="quickstart/generate-numbers",
    description=__doc__,
    params=Params,
    run=run,
    entry_module="examples.quickstart.generate_numbers",
    outputs={"numbers": OutputSpec(type=NUMBERS, description="The drawn numbers.")},
)

if __name__ == "__main__":
    raise SystemExit(main(COMPONENT))
