"""Talking to a target over HTTP: where it is, checks (probes), open-loop sampling, synthetic samples."""
