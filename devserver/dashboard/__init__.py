"""The dev server's operator dashboard (/_dev/dashboard): the lake read in the background, rendered by quicksight."""

from devserver.dashboard.web import STATUS_PATH, dashboard_blueprint

__all__ = ["STATUS_PATH", "dashboard_blueprint"]
