"""Item pipelines: extraction (in a process pool), then the archive."""
