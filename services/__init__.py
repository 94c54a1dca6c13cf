"""Cadena's bounded contexts, one package each."""
