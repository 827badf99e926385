import sys

from deepfake.pipelines.cli.main import main

sys.exit(main())
