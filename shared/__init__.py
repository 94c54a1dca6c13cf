"""Cadena's common library: what at least two services use."""
