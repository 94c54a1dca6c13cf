"""The gateway: identity, routing to the services, and aggregates."""

NAME = "gateway"
