"""Fails its first `failures` attempts (counted in `state_dir`), then copies its input: for retry and failure tests."""

import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from deepfake.components import Component, ComponentKind, InputSpec, OutputSpec, RunContext
from deepfake.components.runtime import main
from examples.quickstart.artifacts import NUMBERS


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state_dir: str = Field(description="Folder that counts attempts across processes.")
    failures: int = Field(0, ge=0, description="How many attempts fail before one succeeds.")
    message: str = Field("flaky failure", description="The reason each failing attempt gives.")


def run(params: Params, ctx: RunContext) -> None:
    state = Path(params.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    attempt = len(list(state.iterdir())) + 1
    (state / f"attempt-{attempt}").touch()
    if attempt <= params.failures:
        raise RuntimeError(f"{params.message} (attempt {attempt})")
    shutil.copy(ctx.inputs["numbers"] / "numbers.jsonl", ctx.outputs["numbers"] / "numbers.jsonl")


COMPONENT = Component(
    name="flaky",
    version="1.0.0",
    kind=ComponentKind.PROCESSING,
    image="tests/flaky",
    description=__doc__,
    params=Params,
    run=run,
    entry_module="tests.toy.flaky",
    inputs={"numbers": InputSpec(type=NUMBERS)},
    outputs={"numbers": OutputSpec(type=NUMBERS)},
)

if __name__ == "__main__":
    raise SystemExit(main(COMPONENT))
