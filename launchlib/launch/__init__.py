"""What a phase does on launch day: its context, the phases, checks, rollback, monitor, parameters."""
