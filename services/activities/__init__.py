"""Activities: calls, meetings, visits, e-mails and tasks; the agenda, follow-up
reminders, minutes and agreements, and an iCalendar feed per user."""

NAME = "activities"
# The feed carries its own secret (?token=…): calendar apps send no bearer token.
# (The gateway's table, gateway/route_table.py, says which service owns which path.)
PUBLIC_ROUTES: tuple[str, ...] = (r"/api/v1/users/[^/]+/calendar\.ics",)
