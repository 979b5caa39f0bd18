# Two entry points for a fresh machine (see README): `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
QUESTION ?= ما هي المبادرات التي يشرف عليها المغرب؟

.PHONY: demo serve test browser-deps eval

# -qq: pip still stops on errors, but a machine's own index settings and setuptools' editable-install
# notice do not fill the first screen.
$(BIN)/qa: requirements.txt requirements-dev.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -r requirements-dev.txt
	$(BIN)/pip install -qq --no-deps -e .
	touch $@

index/manifest.json: | $(BIN)/qa
	$(BIN)/qa index seeds --index-dir index

# Set up, index the seeds if absent, and answer a question about them.
demo: $(BIN)/qa index/manifest.json
	$(BIN)/qa ask "$(QUESTION)" --index-dir index

# Set up and open the chat app on the seeds (http://127.0.0.1:7860).
serve: $(BIN)/qa index/manifest.json
	$(BIN)/python app.py --index-dir index

# Debian's Chromium and Arabic fonts for the browser tests (Playwright's own download cannot work here).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/noto ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core >/dev/null; \
	fi

# Set up and run the whole test suite, browser tests included, then the tests that assert what an answer
# says once more with passages embedded in float32: bfloat16 rounds differently from one CPU to the next.
test: $(BIN)/qa browser-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider
	QA_PRECISION=float32 $(BIN)/python -m pytest -q -p no:cacheprovider -m quality

# A README figure: English questions on the held-out XQuAD-ar articles among 3,000 real news articles.
eval: $(BIN)/qa
	$(BIN)/python -m qa.eval ../shared/data/xquad/xquad.ar.json --split heldout --question-lang-file ../shared/data/xquad/xquad.en.json \
		--distractors ../shared/data/news/jawharafm.jsonl.gz
