import pytest
import yaml

from bot import runtime as actions_runtime
from bot.settings import ROOT
from course_platform import demo_store, load_platform
from course_platform.refund_policy import RefundPolicy
from handoff import BusinessHours
from kb_index import store as kb_store
from kb_index.encoders import HashingEncoder
from kb_index.service import KnowledgeBase


@pytest.fixture
def rt(tmp_path, database):
    """An actions runtime on a temporary database: demo platform, seed KB, hashing encoder."""
    with database.write() as conn:
        demo_store.seed_if_empty(conn, ROOT / "data" / "platform" / "demo.yml")
        kb_store.seed_if_empty(conn, ROOT / "data" / "kb")
    db = database
    kb = KnowledgeBase(tmp_path / "kb", HashingEncoder())
    kb.ensure(db.reading(kb_store.published_entries))
    runtime = actions_runtime.Runtime(
        db=db,
        kb=kb,
        platform=load_platform("demo", db),
        hours=BusinessHours(),
        base_url="http://hub.test",
        policy=RefundPolicy.load(ROOT / "data" / "refund_policy.yml"),
        guides=yaml.safe_load((ROOT / "data" / "troubleshooting.yml").read_text("utf-8")),
    )
    actions_runtime.install(runtime)
    yield runtime
    actions_runtime.install(None)
