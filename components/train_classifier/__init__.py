"""train-classifier: fine-tunes the detector on face crops, resumable from checkpoints, on one CPU or many GPUs."""
