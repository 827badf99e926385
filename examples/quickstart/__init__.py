"""A three-step pipeline of tiny components: the shape of every component and pipeline in this project."""
