"""evaluate-model: scores a split's faces, aggregates them per video, and reports SageMaker model-quality metrics."""
