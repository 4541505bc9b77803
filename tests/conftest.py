"""Shared fixtures come from a plugin, as Quix Streams and Faust lay out their tests."""

pytest_plugins = ["tests.support.fixtures"]
