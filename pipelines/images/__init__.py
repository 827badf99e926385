"""Component images: what to build (targets.py), building and pushing (build.py, ecr.py, docker_cli.py), the
images manifest that records the pushes (manifest.py) and which image runs a component (resolver.py)."""
