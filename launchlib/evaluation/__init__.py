"""Judging samples: windowed metrics, the rollback-trigger engine, success criteria, sources, replay."""
