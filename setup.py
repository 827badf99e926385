"""The library installs as one namespace, `deepfake.components`, `deepfake.pipelines` and `deepfake.deploy`, from the
top-level folders of the same names, so a host project's own `pipelines` package (the SageMaker project template's
layout) never shadows it. pyproject.toml holds everything else; this file only maps the folders."""

from setuptools import find_packages, setup

LIBRARY = ("components", "pipelines", "deploy")

# Files beside the code that an installed (not editable) library reads: the built-in pipelines' specs, the image
# definitions the compiler looks the serving image up in, the deployment's templates, stage configs and clips.
PACKAGE_DATA = {
    "deepfake.components": ["*/Dockerfile", "deps.Dockerfile", "README.md"],
    "deepfake.pipelines.builtin": ["specs/*.json"],
    "deepfake.deploy": ["templates/*.yml", "config/*.json", "smoke_samples/*", "*.yml", "test/*.yml"],
}

setup(
    package_dir={f"deepfake.{folder}": folder for folder in LIBRARY},
    packages=[f"deepfake.{package}" for package in find_packages(include=[f"{folder}*" for folder in LIBRARY])],
    package_data=PACKAGE_DATA,
)
