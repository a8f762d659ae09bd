"""Running a loaded model: what a session, a benchmark and the CLI share (issue #12's layout)."""
