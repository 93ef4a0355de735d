"""The audit report: one self-contained HTML file and a summary.json, built from the store."""
