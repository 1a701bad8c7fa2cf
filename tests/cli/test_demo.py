"""`smartfactory demo --no-serve`: everything the demo does but serving, ready to be served."""

from __future__ import annotations

from pathlib import Path

from clitools import ROOT, cli, ok
from smartfactory.app.accounts import authenticate
from smartfactory.app.answers import saved
from smartfactory.cli.serve import DEMO_PASSWORD, DEMO_USER
from smartfactory.store import REGISTRY_FILE, Registry


def test_demo_without_serving_leaves_a_store_to_sign_in_to(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = ok(cli("demo", "--no-serve", "--days", "1", "--store", str(store), cwd=ROOT))
    assert f"sign in as {DEMO_USER} / {DEMO_PASSWORD}" in result.stdout
    with Registry.open(store / REGISTRY_FILE) as registry:
        user = authenticate(registry, DEMO_USER, DEMO_PASSWORD)
        answers = saved(registry)
    assert user is not None and user.role.value == "admin"
    # the worked answers are the plant's saved self-assessment, so the assessment page has one
    assert answers.rows and not answers.answers.missing
    # a second demo keeps what is there (the user's password, the answers) and still works
    ok(cli("demo", "--no-serve", "--days", "1", "--store", str(store), cwd=ROOT))
    with Registry.open(store / REGISTRY_FILE) as registry:
        assert len(saved(registry).rows) == len(answers.rows)
