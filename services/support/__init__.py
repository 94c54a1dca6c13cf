"""Support: cases from any channel (phone, e-mail, web, chat), SLA timers and
breaches, customer satisfaction, and inbound e-mail."""

NAME = "support"
# Public paths the gateway routes here (regular expressions over the path).
ROUTES = (r"/api/v1/cases(/.*)?", r"/api/v1/sla-policy")
PUBLIC_ROUTES: tuple[str, ...] = ()
