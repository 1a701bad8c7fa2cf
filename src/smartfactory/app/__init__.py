"""The application layer: the ``Workspace`` and every use case, shared by the CLI, the API and the pages.

A use case is a function (or a small class) taking a workspace, plain arguments and the
language, and returning a Pydantic model. The front ends only parse their input and render
that model: ``smartfactory kpi --format json`` and ``GET /api/v1/kpis`` give the same document.
"""
