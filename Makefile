# AfterClass: every target sets up what it needs first (scripts/setup.sh is idempotent).
# `make` alone lists the targets; each one's `## ` comment is its line in that list.
.PHONY: help setup run test test-fast screenshots train validate index bench nlu-report lint clean
.DEFAULT_GOAL := help

help:  ## list the targets with one line each (this list)
	@echo "AfterClass · make <target>"
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)$$/\1|\2/' \
		| awk -F'|' '{ printf "  %-12s %s\n", $$1, $$2 }'

setup:  ## create or update .venv and .venv-rasa (instant when nothing changed)
	@scripts/setup.sh

run: setup  ## train if needed, build the KB index, start Rasa + hub, print the URLs
	.venv/bin/afterclass run

test: setup  ## the whole suite: unit, API, Rasa, end-to-end, browser
	.venv/bin/python -m pytest

test-fast: setup  ## unit + API only (under a minute)
	.venv/bin/python -m pytest tests/unit tests/api

screenshots: setup  ## the browser tests, saving the docs' screenshots into docs/images
	AFTERCLASS_SCREENSHOTS=docs/images .venv/bin/python -m pytest tests/browser

train: setup  ## train the Rasa model if config, domain, data or rasa_addons changed
	.venv/bin/afterclass train

validate: setup  ## rasa data validate --fail-on-warnings
	.venv/bin/afterclass validate

index: setup  ## seed the KB store if it is empty and build the search index
	.venv/bin/afterclass build-index

bench: setup  ## bot-turn latency through the hub (docs/measured.md)
	.venv/bin/python bench/turn_latency.py

nlu-report: setup  ## 5-fold cross-validation of our NLU data -> reports/nlu_cv.md
	.venv/bin/python bench/nlu_cv.py

lint: setup  ## ruff over the code, the tests and the bench scripts
	.venv/bin/ruff check bot kb_index handoff actions course_platform replies reading privacy rasa_addons tests bench

clean:  ## delete generated state: var/, models/, results/, .pytest_cache/
	rm -rf var models results .pytest_cache
