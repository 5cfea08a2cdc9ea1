"""Helpers shared by unit and integration tests (toy layers, fakes)."""
