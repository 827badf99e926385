"""face-audit: how many of a batch's videos show a face, with the library's ingest and extraction components."""
