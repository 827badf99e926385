"""A component as Python code: its spec plus the params model and the `run()` that does the work."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Generic, TypeVar

from pydantic import BaseModel

from deepfake.components.context import RunContext
from deepfake.components.contract import ComponentKind
from deepfake.components.spec import ComponentSpec, InputSpec, MetricSpec, OutputSpec

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class Component(Generic[P]):
    """Define one per stage, in `<stage>/component.py`; `<stage>/__main__.py` hands it to `runtime.main`.

    `run(params, ctx)` receives params already validated by `params` and the resolved folders in `ctx`; it raises
    to fail (the runtime writes the reason where SageMaker looks for it).
    """

    name: str
    version: str
    kind: ComponentKind
    image: str
    description: str
    params: type[P]
    run: Callable[[P, RunContext], None]
    entry_module: str
    inputs: Mapping[str, InputSpec] = field(default_factory=dict)
    outputs: Mapping[str, OutputSpec] = field(default_factory=dict)
    metrics: tuple[MetricSpec, ...] = ()

    def __post_init__(self) -> None:
        if self.params.model_config.get("extra") != "forbid":
            raise TypeError(
                f"component '{self.name}': set model_config = ConfigDict(extra='forbid') on "
                f"{self.params.__name__} so a misspelt param is an error, not ignored"
            )
        self.spec  # noqa: B018 - build the spec now so a bad definition fails at import

    @cached_property
    def spec(self) -> ComponentSpec:
        return ComponentSpec(
            name=self.name,
            version=self.version,
            kind=self.kind,
            image=self.image,
            description=self.description,
            entrypoint=("python", "-m", self.entry_module),
            params_schema=self.params.model_json_schema(),
            inputs=dict(self.inputs),
            outputs=dict(self.outputs),
            metrics=self.metrics,
        )
