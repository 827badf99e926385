from deepfake.pipelines.cli.main import main
from deepfake.pipelines.processes import exit_with

exit_with(main)
