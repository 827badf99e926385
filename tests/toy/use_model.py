"""Reads a packed model (model.tar.gz, unpacked by the runtime) and reports what it holds."""

import json

from pydantic import BaseModel, ConfigDict

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.artifacts import JSON_REPORT
from deepfake.components.runtime import main
from tests.toy.fit_mean import TOY_MODEL


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def run(params: Params, ctx: RunContext) -> None:
    model = json.loads((ctx.inputs["model"] / "model.json").read_text())
    (ctx.outputs["report"] / "report.json").write_text(json.dumps({"mean": model["mean"], "model": model}))


COMPONENT = Component(
    name="use-model",
    version="1.0.0",
    kind=ComponentKind.PROCESSING,
    image="tests/use-model",
    description=__doc__,
    params=Params,
    run=run,
    entry_module="tests.toy.use_model",
    inputs={"model": InputSpec(type=TOY_MODEL)},
    outputs={"report": OutputSpec(type=JSON_REPORT)},
)

if __name__ == "__main__":
    raise SystemExit(main(COMPONENT))
