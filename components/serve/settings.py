"""Serving settings: SageMaker's hosting variables where it defines them, `DEEPFAKE_SERVE_*` for the rest.

The limits bound what one request may cost: SageMaker refuses invocation bodies over 6 MiB, and everything that
arrives (a body, a video in S3, an image header) is checked against a limit before it is decoded.
"""

import os
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deepfake.components.contract import BASE_DIR_ENV, DEFAULT_BASE_DIR, MODEL_OUTPUT
from deepfake.components.extract_faces.component import Params as ExtractionParams

MIB = 1024 * 1024
EXTRACTION = ExtractionParams()


def default_model_dir() -> Path:
    return Path(os.environ.get(BASE_DIR_ENV, str(DEFAULT_BASE_DIR))) / MODEL_OUTPUT


class ServeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEEPFAKE_SERVE_", extra="ignore", populate_by_name=True)

    model_dir: Path = Field(default_factory=default_model_dir, description="Unpacked model.tar.gz, or the archive.")
    host: str = "127.0.0.1"
    port: int = Field(
        8080, ge=1, le=65535, validation_alias=AliasChoices("DEEPFAKE_SERVE_PORT", "SAGEMAKER_BIND_TO_PORT")
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=64,
        validation_alias=AliasChoices("DEEPFAKE_SERVE_WORKERS", "SAGEMAKER_MODEL_SERVER_WORKERS"),
    )
    model_package: str = Field("", description="Registry package served (group/version), echoed in every verdict.")
    frames_per_video: int = Field(16, ge=1, le=300, description="Evenly spaced frames scored from a video.")
    margin: float = Field(EXTRACTION.margin, ge=0, le=1, description="Face crop margin: as extract-faces cropped.")
    align: bool = Field(EXTRACTION.align, description="Crops aligned on the eyes: as extract-faces cropped.")
    max_faces: int = Field(EXTRACTION.max_faces, ge=1, le=16, description="Most faces (people) scored a frame.")
    jpeg_quality: int = Field(EXTRACTION.jpeg_quality, ge=50, le=100, description="As extract-faces encoded crops.")
    min_score: float = Field(EXTRACTION.min_score, gt=0, lt=1)
    max_body_bytes: int = Field(6 * MIB, ge=1024, description="Largest request body (SageMaker's limit is 6 MiB).")
    max_s3_bytes: int = Field(500 * MIB, ge=1024, description="Largest video fetched for an s3_uri request.")
    max_frame_pixels: int = Field(EXTRACTION.max_frame_pixels, ge=64 * 64, description="Largest video frame.")
    max_frames: int = Field(36_000, ge=1, description="Longest video, in frames (20 minutes at 30 fps).")
    max_image_pixels: int = Field(40_000_000, ge=64 * 64, description="Largest image; guards decompression bombs.")
    graceful_timeout_s: int = Field(30, ge=1, description="On SIGTERM, how long in-flight requests may finish.")
