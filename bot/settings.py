"""All hub settings in one place (env prefix AFTERCLASS_, or a .env file); see .env.example."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kb_index.config import KBConfig

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFTERCLASS_", env_file=".env", extra="ignore")

    root: Path = ROOT
    var_dir: Path = ROOT / "var"
    # The hub's database: "" = the embedded SQLite file var/hub.db; or any SQLAlchemy URL,
    # sqlite:///path/hub.db or postgresql://user:password@host:5432/afterclass
    database_url: str = ""
    kb_index_dir: Path | None = None  # default: var/kb_index
    kb_seed_dir: Path = ROOT / "data" / "kb"
    platform_seed_dir: Path = ROOT / "data" / "platform"
    staff_seed: Path | None = ROOT / "data" / "staff.yml"  # demo staff; None = no seeding

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # how browsers reach the hub; default http://host:port

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_s: float = 10.0
    rasa_port: int = 5005
    # Shared secret Rasa sends with every action call to /webhook (endpoints.yml `token`).
    # `afterclass run` makes a fresh one per start when empty; with none at all the webhook
    # only accepts calls from this machine.
    actions_token: str = ""

    max_message_chars: int = 4000
    learner_token_ttl_s: int = 30 * 24 * 3600
    staff_token_ttl_s: int = 12 * 3600
    # Demo mode lets the learner page pick a demo learner by id. In production the course
    # app signs the learner id with this shared secret (HMAC-SHA256) instead.
    demo_learner_login: bool = True
    learner_signing_secret: str = ""

    # "demo" = the demo platform in the hub database, "http" = HttpPlatform, or
    # "package.module:Class" for a deployment's own adapter; options go to its constructor
    platform: str = "demo"
    refund_policy: Path = ROOT / "data" / "refund_policy.yml"
    troubleshooting: Path = ROOT / "data" / "troubleshooting.yml"
    platform_options: dict = Field(default_factory=dict)

    alert_rules: Path = ROOT / "data" / "alerts.yml"
    alert_check_s: float = 60  # how often it looks; 0 = never
    alert_webhook: str = ""  # POST {"alerts": [...]} here when an alert starts or clears

    service_tz: str = "Asia/Shanghai"
    service_opens: str = "09:00"
    service_closes: str = "21:00"

    kb: KBConfig = Field(default_factory=KBConfig)

    @property
    def database(self) -> str:
        """The database URL the hub opens (see `database_url`)."""
        return self.database_url or f"sqlite+pysqlite:///{self.var_dir / 'hub.db'}"

    @property
    def index_dir(self) -> Path:
        return self.kb_index_dir or self.var_dir / "kb_index"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
