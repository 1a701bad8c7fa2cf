"""The web dashboard: server-rendered pages (Jinja2 + HTMX + ECharts) over the API's services."""
