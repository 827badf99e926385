"""The SageMaker target: compiler.py and local_mode.py (which import the `sagemaker` SDK), execution.py (boto3).

Import the submodule you need; this package imports neither, so `execution` never loads the SDK (~3 s).
"""
