"""One run folder: create and open it, the manifest, event logs and samples, phase results, records."""
