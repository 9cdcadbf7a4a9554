"""Running the launch: rehearsals, one phase on a kernel, the supervisor, the console, dry runs."""
