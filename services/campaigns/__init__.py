"""Marketing campaigns: segments over a replica of accounts and contacts,
members, e-mail sending through SMTP, responses and ROI from won deals."""

NAME = "campaigns"
