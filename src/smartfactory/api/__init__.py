"""The HTTP API under /api/v1: thin routers over ``smartfactory.app``.

``routes`` parse requests and return the application layer's models; ``auth`` holds the
FastAPI dependencies that sign people and scripts in; ``problems`` turns errors into RFC 9457
problem details.
"""
