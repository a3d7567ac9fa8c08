"""Isolation (offline, a TRANSLATE_HOME per test) comes from gan-translate's own pytest plugin,
translate/testing/pytest_plugin.py, which pytest loads through the `pytest11` entry point
wherever gan-translate is installed."""
