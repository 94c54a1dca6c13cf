"""Marketing campaigns: segments over a replica of accounts and contacts,
members, e-mail sending through SMTP, responses and ROI from won deals."""

NAME = "campaigns"
# Public paths the gateway routes here (regular expressions over the path).
ROUTES = (r"/api/v1/campaigns(/.*)?",)
PUBLIC_ROUTES: tuple[str, ...] = ()
