"""The SageMaker target: compiler.py (the only module importing the `sagemaker` SDK) and execution.py (boto3).

Import the submodule you need; this package imports neither, so `execution` never loads the SDK (~3 s).
"""
