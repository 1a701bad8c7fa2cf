"""Users, roles, browser sessions, API tokens, CSRF and log-in rate limiting."""

from smartfactory.app.roles import Role

__all__ = ["Role"]
