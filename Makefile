# openbook: `make demo` indexes the bundled corpus and asks it questions; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: demo test venv models bench clean

$(BIN)/openbook: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/openbook

demo: venv
	$(BIN)/openbook index examples/corpus --index demo
	$(BIN)/openbook info --index demo
	@while IFS= read -r q; do $(BIN)/openbook search "$$q" --index demo -k 2; done < examples/questions.txt

test: venv
	$(BIN)/pytest -q

# Rebuild the embedded default models from the fine-tuned checkpoints in $(SHARED) (needs torch, transformers, nncf).
models: venv
	$(BIN)/pip install --quiet -e '.[build]'
	$(BIN)/openbook models build all --shared $(SHARED)

bench: venv
	$(BIN)/python benchmarks/encode.py --squad $(SHARED)/data/squad/dev-v1.1.json

clean:
	rm -rf $(VENV) indexes/demo
