"""serve: the model's inference container (SageMaker hosting contract: `<image> serve`, /ping, /invocations).

Not a pipeline step: the registered model package points at this image. Its name and version live here, light to
import, for the image build and the compiler.
"""

NAME = "serve"
VERSION = "2.1.0"
IMAGE = "deepfake/serve"
