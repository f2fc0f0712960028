"""The parity suite's probe: a function and a contract overlay that never ship with the app."""
