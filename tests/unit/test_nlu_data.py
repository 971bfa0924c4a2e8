"""The NLU files' example blocks hold examples only. A '#' line inside `examples: |` is block
text, not a YAML comment: Rasa drops it with a warning at every train, and
`rasa data validate --fail-on-warnings` does not catch it (tests/rasa)."""

import yaml

from bot.settings import ROOT


def test_every_line_of_an_example_block_is_an_example():
    stray = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            examples = item.get("examples")
            if not isinstance(examples, str):
                continue
            name = item.get("intent") or item.get("lookup") or item.get("synonym")
            stray += [
                f"{path.name} ({name}): {line}"
                for line in examples.splitlines()
                if line.strip() and not line.startswith("- ")
            ]
    assert not stray, "move these out of the block, above the item:\n" + "\n".join(stray)
