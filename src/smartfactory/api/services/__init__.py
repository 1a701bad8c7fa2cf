"""What the API and the pages both read and do: queries and actions, with no HTTP in them.

Each module takes a ``Server`` (or the registry and a telemetry store) and plain arguments
and returns dataclasses or Pydantic models; routes turn them into JSON, pages into HTML.
"""
