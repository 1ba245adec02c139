"""Fixtures for tests that drive the modem simulator (tools/modemsim)."""
