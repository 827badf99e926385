"""The split-dataset stage: group-aware, label-stratified train/validation/test splits of a FaceDataset."""
