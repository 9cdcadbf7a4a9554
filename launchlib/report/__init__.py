"""What people read afterwards: the scorecard, charts, phase pages, the run report and the index."""
