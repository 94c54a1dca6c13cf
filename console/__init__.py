"""The web console: HTML for people, built on the public API only."""
