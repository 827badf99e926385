"""The component spec: the one description of a component that the DAG, the compilers and other projects read.

A spec is plain data. It exports to JSON and loads back from a file or URL, so a pipeline can use a component
without importing the Python module that implements it.
"""

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from deepfake.components.artifacts import ArtifactType
from deepfake.components.contract import MODEL_OUTPUT, ComponentKind

SPEC_FORMAT: Final = 1
MAX_SPEC_BYTES = 1024 * 1024
PORT_NAME = r"^[a-z][a-z0-9_]{0,62}$"


class ComponentLoadError(ValueError):
    """A spec file or URL could not be read, is not a valid spec, or is not the pinned version."""


class InputSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ArtifactType
    description: str = ""
    optional: bool = False
    streamed: bool = Field(
        False,
        description="A training input SageMaker may stream (FastFile input mode) instead of downloading it before the"
        " job starts: the component opens its files as it needs them (a FaceDataset's shards by offset).",
    )


class OutputSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ArtifactType
    description: str = ""


class MetricSpec(BaseModel):
    """A number the component prints in its log: SageMaker reads it with `regex` (MetricDefinitions), and so does
    the local runner (into run.json and the run report). The regex's one group is the value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_:.\-/]{1,255}$")
    regex: str = Field(min_length=1, max_length=500, description="SageMaker's limit is 500 characters.")

    @model_validator(mode="after")
    def _one_group(self) -> "MetricSpec":
        try:
            groups = re.compile(self.regex).groups
        except re.error as exc:
            raise ValueError(f"metric '{self.name}': regex {self.regex!r} does not compile ({exc})") from exc
        if groups != 1:
            raise ValueError(f"metric '{self.name}': regex {self.regex!r} needs exactly one group, the value")
        return self


class ComponentSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    spec_format: Literal[1] = SPEC_FORMAT
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$", description="Semantic version; bump it when behaviour changes.")
    kind: ComponentKind
    image: str = Field(min_length=1, description="Image repository name, without registry or tag.")
    description: str
    entrypoint: tuple[str, ...] = Field(min_length=1)
    params_schema: dict[str, Any]
    inputs: dict[str, InputSpec] = {}
    outputs: dict[str, OutputSpec] = {}
    metrics: tuple[MetricSpec, ...] = ()

    @model_validator(mode="after")
    def _check_ports(self) -> "ComponentSpec":
        for port in (*self.inputs, *self.outputs):
            if not re.fullmatch(PORT_NAME, port):
                raise ValueError(f"port name '{port}' must match {PORT_NAME} (it becomes a folder and channel name)")
        if self.kind is ComponentKind.TRAINING and set(self.outputs) != {MODEL_OUTPUT}:
            raise ValueError(
                f"a training component has exactly one output named '{MODEL_OUTPUT}' (SageMaker uploads /opt/ml/model);"
                f" got {sorted(self.outputs)}: write extra files to RunContext.output_data_dir"
            )
        return self

    @property
    def param_names(self) -> list[str]:
        return list(self.params_schema.get("properties", {}))

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_json(self) -> str:
        """A spec without metrics exports without the key, as before metrics existed, so older loaders read it."""
        document = self.model_dump(mode="json", exclude=set() if self.metrics else {"metrics"})
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def load_component(source: str | Path, version: str | None = None) -> ComponentSpec:
    """Load a spec exported by `python -m deepfake.pipelines components export`, from a path or an http(s) URL.

    `version` pins the component: a spec of any other version is refused, so a pipeline never silently runs
    a component it was not written against.
    """
    text = _read_source(str(source))
    try:
        spec = ComponentSpec.model_validate_json(text)
    except ValidationError as exc:
        raise ComponentLoadError(f"{source}: not a valid component spec: {exc}") from exc
    if version is not None and spec.version != version:
        raise ComponentLoadError(
            f"{source}: component '{spec.name}' is version {spec.version}, but the pipeline pins {version};"
            f" load the matching spec or update the pin after checking the component's changes"
        )
    return spec


def _read_source(source: str) -> str:
    scheme = urllib.parse.urlparse(source).scheme
    if scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(source, timeout=30) as response:
                data = response.read(MAX_SPEC_BYTES + 1)
        except OSError as exc:
            raise ComponentLoadError(f"{source}: cannot fetch the component spec: {exc}") from exc
    elif scheme in ("", "file"):
        path = Path(urllib.parse.urlparse(source).path if scheme == "file" else source)
        if not path.is_file():
            raise ComponentLoadError(f"{source}: no such spec file")
        with path.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    else:
        raise ComponentLoadError(f"{source}: unsupported scheme '{scheme}'; use a file path or an http(s) URL")
    if len(data) > MAX_SPEC_BYTES:
        raise ComponentLoadError(f"{source}: larger than {MAX_SPEC_BYTES} bytes; not a component spec")
    return data.decode()
