"""The simulated trading system: the HTTP app (two releases), its server, faults and scenarios."""
