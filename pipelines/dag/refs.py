"""References a DAG wires with: a pipeline parameter, a step's output, a value inside a step's JSON report."""

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Every DAG object: immutable, and a misspelt field is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ParamRef(Frozen):
    """A pipeline parameter used as a step param, an input URI or a condition operand."""

    kind: Literal["param"] = "param"
    name: str


class OutputRef(Frozen):
    kind: Literal["output"] = "output"
    step: str
    output: str


class JsonValue(Frozen):
    """A value read at run time from a JSON file inside a step's output (SageMaker: PropertyFile + JsonGet)."""

    kind: Literal["json"] = "json"
    step: str
    output: str
    file: str
    path: str
