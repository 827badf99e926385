"""The local model registry: SQLite and a folder a version, on the interface of registry/packages.py.

It copies the model archive and the evaluation into its own folder, so deleting a run never leaves a registered
version without its files.
"""

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from deepfake.pipelines.registry.packages import ApprovalStatus, ModelPackage, RegistryError

SCHEMA = """
CREATE TABLE IF NOT EXISTS packages (
    model_group TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    model_data TEXT NOT NULL,
    image TEXT NOT NULL,
    metrics TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (model_group, version)
)
"""


class LocalRegistry:
    """`<folder>/registry.sqlite` plus `<folder>/<group>/<version>/` holding model.tar.gz and evaluation.json."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(SCHEMA)

    def register(
        self, group: str, model_archive: Path, metrics_file: Path, image: str, status: ApprovalStatus, source: str
    ) -> ModelPackage:
        metrics = json.loads(metrics_file.read_text())
        with self._connect() as connection, _transaction(connection):
            (latest,) = connection.execute(
                "SELECT COALESCE(MAX(version), 0) FROM packages WHERE model_group = ?", (group,)
            ).fetchone()
            version = latest + 1
            target = self.folder / group / str(version)
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(model_archive, target / model_archive.name)
            shutil.copy2(metrics_file, target / metrics_file.name)
            package = ModelPackage(
                group=group,
                version=version,
                status=status,
                model_data=str((target / model_archive.name).resolve()),  # stored relative to the registry folder
                image=image,
                metrics=metrics,
                source=source,
                created_at=datetime.now(UTC),
            )
            connection.execute(
                "INSERT INTO packages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    group,
                    version,
                    status.value,
                    f"{group}/{version}/{model_archive.name}",
                    image,
                    json.dumps(metrics),
                    source,
                    package.created_at.isoformat(),
                ),
            )
        return package

    def get(self, group: str, version: int) -> ModelPackage:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT * FROM packages WHERE model_group = ? AND version = ?", (group, version)
            ).fetchone()
        if row is None:
            known = ", ".join(str(package.version) for package in self.list(group)) or "none"
            raise RegistryError(f"no version {version} in model group '{group}' (versions: {known})")
        return self._package(row)

    def list(self, group: str) -> list[ModelPackage]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT * FROM packages WHERE model_group = ? ORDER BY version DESC", (group,)
            ).fetchall()
        return [self._package(row) for row in rows]

    def set_status(self, group: str, version: int, status: ApprovalStatus) -> ModelPackage:
        self.get(group, version)
        with self._connect() as connection:
            connection.execute(
                "UPDATE packages SET status = ? WHERE model_group = ? AND version = ?", (status.value, group, version)
            )
        return self.get(group, version)

    def newest_approved(self, group: str) -> ModelPackage:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT * FROM packages WHERE model_group = ? AND status = ? ORDER BY version DESC LIMIT 1",
                (group, ApprovalStatus.APPROVED.value),
            ).fetchone()
        if row is None:
            raise RegistryError(f"no approved version in model group '{group}': approve one first (make approve)")
        return self._package(row)

    def _package(self, row: sqlite3.Row) -> ModelPackage:
        """A version's files where the registry folder is now (rows written before relative paths hold absolute)."""
        return ModelPackage(
            group=row["model_group"],
            version=row["version"],
            status=ApprovalStatus(row["status"]),
            model_data=str(self.folder.resolve() / row["model_data"]),
            image=row["image"],
            metrics=json.loads(row["metrics"]),
            source=row["source"],
            created_at=datetime.fromisoformat(row["created_at"]),
        )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        path = self.folder / "registry.sqlite"
        try:
            connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise RegistryError(
                f"cannot open the local registry {path} ({exc}): check the folder's permissions"
            ) from exc
        connection.row_factory = sqlite3.Row
        try:
            yield connection
        except sqlite3.DatabaseError as exc:
            raise RegistryError(
                f"the local registry {path} is not a readable registry ({exc}): move it aside (the model files"
                " beside it stay) and register the models again"
            ) from exc
        finally:
            connection.close()


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """An immediate write lock, so two runs registering at once get distinct versions."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
