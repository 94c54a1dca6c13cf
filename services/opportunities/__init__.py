"""Opportunities: the sales pipeline, quotas and forecast, and the won-deal
event billing consumes."""

NAME = "opportunities"
