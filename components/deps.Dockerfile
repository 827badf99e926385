# The dependency layers every component image starts from, built once: one stage a set of extras.
# `make build-components` builds the stages its images name (ARG DEPS_IMAGE=deepfake/deps-<stage>) first; by hand:
#   docker build -f components/deps.Dockerfile --target video -t deepfake/deps-video .
# BASE_IMAGE: any Debian/Ubuntu image with python3.11 and its venv module (README, "Container images").
# Each stage copies pyproject.toml only where it installs from it, after torch, so a dependency edit never
# reinstalls torch; every stage installs with constraints.txt, so its layers are the same on every build.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE} AS python
# The default user stays root: SageMaker runs containers as root on root-owned /opt/ml mounts. The local docker
# runner passes --user, so nothing runs as root on a workstation.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH PYTHONPATH=/opt/program MPLCONFIGDIR=/tmp/matplotlib
RUN python3 -m venv /opt/venv
WORKDIR /opt/program
COPY constraints.txt ./

# split-dataset: the core dependencies only.
FROM python AS core
COPY pyproject.toml setup.py ./
RUN pip install --constraint constraints.txt "." && rm -rf build *.egg-info

# Shared libraries opencv (libGL, glib) and mediapipe (EGL, GLES) load; slim bases lack them.
FROM python AS media
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 libegl1 libgles2 \
    && rm -rf /var/lib/apt/lists/*

# ingest-videos, extract-faces: decord, MediaPipe, OpenCV.
FROM media AS video
COPY pyproject.toml setup.py ./
RUN pip install --constraint constraints.txt ".[video]" && rm -rf build *.egg-info

# The same torch layer under every torch image, so docker stores it (5.7 GB) once.
FROM media AS torch
RUN pip install --constraint constraints.txt torch torchvision

# train-classifier, evaluate-model, score-videos.
FROM torch AS train
COPY pyproject.toml setup.py ./
RUN pip install --constraint constraints.txt ".[train]" && rm -rf build *.egg-info

# serve: sampling and detection as extract-faces does them, scoring as evaluate-model does, the HTTP server.
FROM torch AS serve
COPY pyproject.toml setup.py ./
RUN pip install --constraint constraints.txt ".[video,train,serve]" && rm -rf build *.egg-info
