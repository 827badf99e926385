"""The detector model shared by train-classifier, evaluate-model and the serving container."""
