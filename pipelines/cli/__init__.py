"""`python -m deepfake.pipelines`: the command line over the DAG, the runners, the compiler and the images."""
