from components.ingest_videos.component import COMPONENT
from components.runtime import main

raise SystemExit(main(COMPONENT))
