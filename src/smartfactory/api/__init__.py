"""The HTTP API under /api/v1 and the services the API and the web pages both read.

``services`` hold every query and action (no FastAPI in them); ``routes`` are thin FastAPI
routers over them; ``auth`` signs people and scripts in; ``problems`` turns errors into
RFC 9457 problem details.
"""
