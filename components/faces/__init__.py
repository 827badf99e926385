"""Face-video domain code shared by extract-faces, the demo dataset and the serving container."""
