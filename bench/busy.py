"""Burns `seconds` of CPU and reports how long its own work took: the cheap step of the runner benchmark."""

import json
import time

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.artifacts import JSON_REPORT
from deepfake.components.runtime import main


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(0.5, gt=0, le=60)
    index: int = Field(0, ge=0)


def run(params: Params, ctx: RunContext) -> None:
    started = time.perf_counter()
    total = 0
    while time.perf_counter() - started < params.seconds:
        total += sum(range(1000))
    previous = ctx.inputs.get("previous")
    chain = json.loads((previous / "result.json").read_text())["chain"] if previous else []
    compute_s = time.perf_counter() - started
    result = {"chain": [*chain, params.index], "compute_s": compute_s, "total": total}
    (ctx.outputs["result"] / "result.json").write_text(json.dumps(result))


COMPONENT = Component(
    name="busy",
    version="1.0.0",
    kind=ComponentKind.PROCESSING,
    image="bench/busy",
    description=__doc__,
    params=Params,
    run=run,
    entry_module="bench.busy",
    inputs={"previous": InputSpec(type=JSON_REPORT, optional=True)},
    outputs={"result": OutputSpec(type=JSON_REPORT)},
)

if __name__ == "__main__":
    raise SystemExit(main(COMPONENT))
