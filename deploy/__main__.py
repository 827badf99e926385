import sys

from deepfake.deploy.cli import main

sys.exit(main())
