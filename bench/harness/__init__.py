"""Harness shared by tests, benches and scripts: the dev server and a moto server as child processes, Chromium."""
