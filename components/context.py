"""What `run()` receives besides its params: resolved folders and the cluster it runs on."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunContext:
    """`inputs` holds only the inputs that were provided (an optional input may be absent).

    `hosts`/`current_host` come from SageMaker's resource config; a component shards its work by `host_index`.
    """

    inputs: Mapping[str, Path]
    outputs: Mapping[str, Path]
    hosts: tuple[str, ...] = ("algo-1",)
    current_host: str = "algo-1"
    output_data_dir: Path | None = None
    checkpoint_dir: Path | None = None

    @property
    def host_index(self) -> int:
        return self.hosts.index(self.current_host)

    @property
    def num_hosts(self) -> int:
        return len(self.hosts)
