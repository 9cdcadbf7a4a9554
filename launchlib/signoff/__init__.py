"""Sign-off: the append-only ledger, who may sign, go/no-go gates, the checklist widget and page."""
