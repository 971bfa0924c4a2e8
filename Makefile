# AfterClass: every target sets up what it needs first (scripts/setup.sh is idempotent).
.PHONY: setup run test test-fast train validate index bench nlu-report lint clean

setup:
	@scripts/setup.sh

run: setup  ## train if needed, build the KB index, start Rasa + hub, print the URLs
	.venv/bin/afterclass run

test: setup  ## the whole suite: unit, API, Rasa, end-to-end, browser
	.venv/bin/python -m pytest

test-fast: setup  ## unit + API only (seconds)
	.venv/bin/python -m pytest tests/unit tests/api

train: setup
	.venv/bin/afterclass train

validate: setup
	.venv/bin/afterclass validate

index: setup
	.venv/bin/afterclass build-index

bench: setup  ## print the performance figures quoted in the README
	.venv/bin/python bench/turn_latency.py

nlu-report: setup  ## 5-fold cross-validation of our NLU data -> reports/nlu_cv.md
	.venv/bin/python bench/nlu_cv.py

lint: setup
	.venv/bin/ruff check bot kb_index handoff actions course_platform replies reading rasa_addons tests bench

clean:
	rm -rf var models results .pytest_cache
