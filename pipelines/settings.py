"""One settings object; environment variables (`DEEPFAKE_*`) and CLI flags override the defaults."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_", extra="ignore")

    runs_dir: Path = Path("runs")
