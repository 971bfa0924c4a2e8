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
    # demo staff, seeded into an empty database in demo mode only; None = no seeding
    staff_seed: Path | None = ROOT / "data" / "staff.yml"

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # how browsers reach the hub; default http://host:port

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_s: float = 10.0
    rasa_port: int = 5005
    # Shared secrets between the hub and its Rasa server: `actions_token`, which Rasa sends
    # with every action call to /webhook, and `rasa_token`, which the hub sends to Rasa's
    # channel and signs its API calls with. Empty: made once and kept in var/secrets/
    # (bot/keys.py), so the hub and `afterclass run`'s Rasa share them.
    actions_token: str = ""
    rasa_token: str = ""

    max_message_chars: int = 4000
    learner_token_ttl_s: int = 30 * 24 * 3600
    staff_token_ttl_s: int = 12 * 3600
    # Demo mode: demo learners sign in by picking one, demo staff with the public passwords
    # of data/staff.yml, and every page says "demo". Unset: on when the hub listens on a
    # loopback address (`make run`), off anywhere else; true on a public address only when
    # set explicitly.
    demo: bool | None = None
    # Learners arrive signed by the course app: a JWT (HS256) with sub = learner id and an
    # expiry, signed with this secret (docs/integration.md). Tokens that live longer than
    # `learner_jwt_max_age_s` or name another audience are refused.
    learner_signing_secret: str = ""
    learner_jwt_audience: str = "afterclass"
    learner_jwt_max_age_s: int = 24 * 3600

    # Abuse limits, per learner (or staff user name) and per address; "N/minute",
    # "N per 15 minutes" (the `limits` library's notation). Counters live in this process.
    limit_sign_in: str = "20/minute"  # sign-in attempts per address
    limit_sign_in_failures: str = "5 per 15 minutes"  # wrong passwords per user name
    limit_conversations: str = "30/hour"  # new conversations per learner
    limit_messages: str = "30/minute"  # messages per learner
    limit_messages_address: str = "120/minute"  # messages per address

    # Who may frame the pages: the CSP frame-ancestors of /chat (e.g. "https://app.example.com"
    # to embed the chat in the course app); every other page is never framed.
    chat_frame_ancestors: str = "'none'"

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

    # Personal data (bot/retention.py, bot/learner_records.py). Rasa's tracker store, which
    # an erasure and the retention purge clear too: the file `afterclass run` gives Rasa
    # (AFTERCLASS_TRACKER_DB, shared with bot/rasa_env.py), default var/rasa_tracker.db.
    tracker_db: Path | None = None
    retention_transcript_days: int = 180  # after a conversation's last message, none open
    retention_gaps_days: int = 90  # unanswered questions kept for content staff
    retention_audit_days: int = 365
    retention_check_s: float = 3600  # how often the hub looks whether a day's purge is due
    export_link_days: int = 7  # how long a learner's download link (and its file) lives
    # One-time codes that confirm a learner before a privacy request (bot/identity.py): how
    # long one holds, and how long 3 wrong ones lock the learner's checks
    identity_code_ttl_s: int = 600
    identity_lock_s: int = 24 * 3600

    @property
    def demo_mode(self) -> bool:
        """Demo mode as it applies: set explicitly, or on exactly when the hub listens on a
        loopback address (module docstring of `demo`)."""
        return self.demo if self.demo is not None else is_loopback(self.host)

    @property
    def database(self) -> str:
        """The database URL the hub opens (see `database_url`)."""
        return self.database_url or f"sqlite+pysqlite:///{self.var_dir / 'hub.db'}"

    @property
    def tracker_path(self) -> Path:
        return self.tracker_db or self.var_dir / "rasa_tracker.db"

    @property
    def index_dir(self) -> Path:
        return self.kb_index_dir or self.var_dir / "kb_index"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
