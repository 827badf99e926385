"""One settings object; environment variables (`DEEPFAKE_*`) and CLI flags override the defaults."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_", extra="ignore")

    runs_dir: Path = Path("runs")
    s3_stage_max_bytes: int = Field(100 * 1024**3, gt=0, description="Largest s3:// input the local runner downloads.")
