"""This project's pipelines: the package the SageMaker project template names `pipelines`, one folder a pipeline."""
