"""Activities: calls, meetings, visits, e-mails and tasks; the agenda, follow-up
reminders, minutes and agreements, and an iCalendar feed per user."""

NAME = "activities"
# Public paths the gateway routes here (regular expressions over the path).
ROUTES = (
    r"/api/v1/activities(/.*)?",
    r"/api/v1/agenda",
    r"/api/v1/users/[^/]+/calendar\.ics",
    r"/api/v1/users/[^/]+/calendar-token",
)
# The feed carries its own secret (?token=…): calendar apps send no bearer token.
PUBLIC_ROUTES: tuple[str, ...] = (r"/api/v1/users/[^/]+/calendar\.ics",)
