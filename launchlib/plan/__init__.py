"""The war-room plan as data: model, thresholds, vocabulary, plan and YAML files, Markdown in and out.

The lowest layer above :mod:`launchlib.errors`: everything else reads the plan; it reads nothing else.
"""
