"""Opportunities: the sales pipeline, quotas and forecast, and the won-deal
event billing consumes."""

NAME = "opportunities"
# Public paths the gateway routes here (regular expressions over the path).
ROUTES = (
    r"/api/v1/opportunities(/.*)?",
    r"/api/v1/pipeline(/.*)?",
    r"/api/v1/quotas(/.*)?",
    r"/api/v1/forecast",
)
PUBLIC_ROUTES: tuple[str, ...] = ()
