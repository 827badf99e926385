"""extract-faces: sampled frames → detected faces → square JPEG crops, one manifest row a face."""
