from deepfake.deploy.cli import main
from deepfake.pipelines.processes import exit_with

exit_with(main)
