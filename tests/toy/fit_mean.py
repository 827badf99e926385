"""A training component: "fits" the mean of its channel and writes a model folder, as SageMaker training does."""

import json
import os
import statistics

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import (
    ArtifactType,
    Component,
    ComponentKind,
    InputSpec,
    MetricSpec,
    OutputSpec,
    RunContext,
)
from deepfake.components.contract import MODEL_ARCHIVE
from deepfake.components.runtime import main
from examples.quickstart.artifacts import NUMBERS

TOY_MODEL = ArtifactType(
    name="ToyModel", description="model.json", required_files=("model.json",), archive=MODEL_ARCHIVE
)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(1, ge=1, le=100)
    learning_rate: float = Field(0.1, gt=0, le=1)
    tags: list[str] = Field(default_factory=list)
    note: str | None = None


def run(params: Params, ctx: RunContext) -> None:
    with (ctx.inputs["train"] / "numbers.jsonl").open() as handle:
        values = [json.loads(line)["value"] for line in handle]
    model = {"mean": statistics.fmean(values), **params.model_dump(), "hosts": list(ctx.hosts)}
    for epoch in range(1, params.epochs + 1):
        print(f"epoch={epoch}; loss={1 / epoch:.4f}", flush=True)
    (ctx.outputs["model"] / "model.json").write_text(json.dumps(model))
    assert ctx.output_data_dir is not None and ctx.checkpoint_dir is not None
    (ctx.output_data_dir / "metrics.json").write_text(json.dumps({"epochs": params.epochs}))
    runs = ctx.checkpoint_dir / "runs.txt"
    runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
    if os.environ.get("FIT_MEAN_FAIL_ONCE") and len(runs.read_text()) == 1:
        raise RuntimeError("first attempt fails after writing a checkpoint")


COMPONENT = Component(
    name="fit-mean",
    version="1.0.0",
    kind=ComponentKind.TRAINING,
    image="tests/fit-mean",
    description=__doc__,
    params=Params,
    run=run,
    entry_module="tests.toy.fit_mean",
    inputs={"train": InputSpec(type=NUMBERS)},
    outputs={"model": OutputSpec(type=TOY_MODEL)},
    metrics=(MetricSpec(name="loss", regex=r"epoch=\d+; loss=([0-9.]+)"),),
)

if __name__ == "__main__":
    raise SystemExit(main(COMPONENT))
