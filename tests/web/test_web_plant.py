"""The plant API: what the plant is, its hierarchy, and replacing it with a checked plant file."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from smartfactory.app import plant as service
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace
from smartfactory.model.plant import Level
from smartfactory.model.plant_file import load_plant
from web_accounts import DEMO_PLANT_FILE, Client, session_client, token_client

PLANT_TEXT = DEMO_PLANT_FILE.read_text(encoding="utf-8")


def _admin(app: FastAPI, lang: str = "en") -> Client:
    return token_client(app, "admin", lang)


def _stored(workspace: Workspace) -> tuple[str, str]:
    records = workspace.registry.list_plants()
    assert len(records) == 1
    return records[0]["source_sha256"], records[0]["source_path"]


def test_the_plant_is_its_id_names_industry_and_time_zone(app: FastAPI) -> None:
    response = token_client(app, "viewer").get("/api/v1/plant")
    assert response.status_code == 200
    plant = load_plant(DEMO_PLANT_FILE)
    body = response.json()
    assert body["id"] == plant.plant.id
    assert body["name"] == {"en": plant.plant.name.en, "zh": plant.plant.name.zh}
    assert body["industry"] == "discrete"
    assert body["timezone"] == "Asia/Shanghai"
    assert body["equipment"] == len(plant.equipment)


def test_the_hierarchy_is_the_isa95_tree_with_both_names(app: FastAPI, workspace: Workspace) -> None:
    response = token_client(app, "viewer").get("/api/v1/plant/hierarchy")
    assert response.status_code == 200
    root = response.json()["root"]
    plant = load_plant(DEMO_PLANT_FILE)
    assert root["level"] == "enterprise"
    assert root["id"] == plant.enterprise.id
    levels: list[str] = []

    def walk(node: dict[str, object], depth: int) -> None:
        assert node["name"]["en"] and node["name"]["zh"]  # type: ignore[index]
        levels.append(f"{depth}:{node['level']}")
        for child in node["children"]:  # type: ignore[attr-defined]
            walk(child, depth + 1)

    walk(root, 0)
    order = ["enterprise", "site", "area", "line", "work_cell", "equipment"]
    assert all(order.index(entry.split(":")[1]) == int(entry.split(":")[0]) for entry in levels)
    assert sum(1 for entry in levels if entry.endswith("equipment")) == len(plant.equipment)
    # the service's model gives the same tree to the pages
    tree = service.hierarchy(workspace)
    assert [n.id for n in tree.nodes(Level.equipment)] == [e.id for e in plant.equipment]
    assert tree.root.find(plant.equipment[0].id) is not None


def test_the_equipment_list_says_where_each_machine_sits(workspace: Workspace) -> None:
    plant = load_plant(DEMO_PLANT_FILE)
    listed = service.equipment_list(workspace)
    assert [e.id for e in listed] == [e.id for e in plant.equipment]
    line_of = plant.line_of_equipment()
    for info in listed:
        assert info.line_id == line_of[info.id]
        model = plant.equipment_by_id()[info.id]
        assert info.work_cell_id == model.parent
        assert [s.name for s in info.signals] == [s.name for s in model.signals]
    assert service.equipment_info(workspace, "no-such-machine") is None


@pytest.mark.parametrize("as_json", [False, True])
def test_an_admin_replaces_the_plant_with_a_valid_file(
    app: FastAPI, workspace: Workspace, as_json: bool
) -> None:
    edited = PLANT_TEXT.replace(load_plant(DEMO_PLANT_FILE).plant.name.en, "Renamed Plant", 1)
    assert edited != PLANT_TEXT
    assert workspace.plant().plant.name.en != "Renamed Plant"  # cached before the change
    client = _admin(app)
    if as_json:
        response = client.put("/api/v1/plant", json={"toml": edited})
    else:
        response = client.put(
            "/api/v1/plant", content=edited, headers={"Content-Type": "text/plain; charset=utf-8"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["name"]["en"] == "Renamed Plant"
    # the cache was dropped: every reader sees the new plant at once
    assert client.get("/api/v1/plant").json()["name"]["en"] == "Renamed Plant"
    assert _stored(workspace)[1] == "uploaded by admin"


def test_a_bad_plant_file_lists_every_problem_with_line_and_field(app: FastAPI, workspace: Workspace) -> None:
    before = _stored(workspace)
    broken = PLANT_TEXT.replace('industry = "discrete"', 'industry = "chemistry"', 1).replace(
        "[[equipment]]", "[[equipment]]\ncolour = 'red'", 1
    )
    assert broken.count("chemistry") == 1 and "colour" in broken
    response = _admin(app).put("/api/v1/plant", content=broken, headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    fields = {e["field"]: e for e in body["errors"]}
    assert "body.toml.plant.industry" in fields
    assert "body.toml.equipment[0].colour" in fields
    industry = fields["body.toml.plant.industry"]
    assert industry["line"] == broken.splitlines().index('industry = "chemistry"') + 1
    assert industry["message"].startswith(f"line {industry['line']}: ")
    assert "2 problem(s)" in body["detail"]
    assert _stored(workspace) == before  # nothing saved


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"", "text/plain", 422),
        (b"   \n", "text/plain", 422),
        (b"schema = [", "text/plain", 422),
        (b"\xff\xfe\x00", "text/plain", 422),
        (b"{not json", "application/json", 422),
        (b'{"toml": 5}', "application/json", 422),
        (b'["x"]', "application/json", 422),
        (b"<plant/>", "application/xml", 415),
        (b'schema = "smartfactory.plant/1"\n', "text/plain", 422),
    ],
)
def test_malformed_plant_uploads_are_refused_and_nothing_changes(
    app: FastAPI, workspace: Workspace, content: bytes, content_type: str, status: int
) -> None:
    before = _stored(workspace)
    response = _admin(app).put("/api/v1/plant", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _stored(workspace) == before


def test_a_file_of_another_plant_cannot_replace_the_stored_one(app: FastAPI, workspace: Workspace) -> None:
    before = _stored(workspace)
    other = PLANT_TEXT.replace(f'id = "{load_plant(DEMO_PLANT_FILE).plant.id}"', 'id = "another-plant"', 1)
    response = _admin(app).put("/api/v1/plant", content=other, headers={"Content-Type": "text/plain"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "body.plant.id"
    assert _stored(workspace) == before
    assert len(workspace.registry.list_plants()) == 1


def test_a_too_large_plant_file_is_413(app: FastAPI, workspace: Workspace) -> None:
    before = _stored(workspace)
    big = b"#" * (service.MAX_PLANT_FILE + 1)
    response = _admin(app).put("/api/v1/plant", content=big, headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    assert _stored(workspace) == before


def test_the_plant_file_errors_are_in_chinese_for_chinese_users(app: FastAPI) -> None:
    response = _admin(app, lang="zh-CN").put(
        "/api/v1/plant", content="   ", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 422
    assert response.json()["title"] == "工厂文件无效"


def test_only_admins_replace_the_plant(app: FastAPI, workspace: Workspace) -> None:
    before = _stored(workspace)
    for role in (Role.viewer, Role.engineer):
        response = token_client(app, role.value).put(
            "/api/v1/plant", content=PLANT_TEXT, headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 403
    browser = session_client(app, "admin")
    no_csrf = browser.put("/api/v1/plant", content=PLANT_TEXT, headers={"Content-Type": "text/plain"})
    assert no_csrf.status_code == 403
    assert _stored(workspace) == before
