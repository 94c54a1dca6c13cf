"""Support: cases from any channel (phone, e-mail, web, chat), SLA timers and
breaches, customer satisfaction, and inbound e-mail."""

NAME = "support"
