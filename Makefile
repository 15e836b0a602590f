# openbook: `make demo` indexes the bundled corpus and asks it questions; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: demo test venv models bench clean

$(BIN)/openbook: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,serve,ray,train]'
	touch $@

venv: $(BIN)/openbook

demo: venv
	$(BIN)/openbook index examples/corpus --index demo
	$(BIN)/openbook info --index demo
	$(BIN)/openbook search "How do bees tell each other where flowers are?" --index demo -k 2
	@while IFS= read -r q; do $(BIN)/openbook ask "$$q" --index demo --top-answers 2; done < examples/questions.txt

test: venv
	# UTF-8 mode: OpenVINO sets the C locale to "C" while it compiles a model, so a test process whose other thread
	# decodes a child's output by the locale meanwhile would read ASCII (see openbook.models.runtime.compile_in_background)
	PYTHONUTF8=1 $(BIN)/pytest -q

# Rebuild the embedded default models from the fine-tuned checkpoints in $(SHARED) (needs torch, transformers, nncf),
# then measure them on SQuAD v1.1 dev and keep the figures in their manifests.
models: venv
	$(BIN)/pip install --quiet -e '.[build]'
	$(BIN)/openbook models build all --shared $(SHARED)
	$(BIN)/openbook eval retrieval $(SHARED)/data/squad/dev-v1.1.json --record
	$(BIN)/openbook eval reader $(SHARED)/data/squad/dev-v1.1.json --record

# Speed against plain PyTorch, ask latency, search latency and scale (needs torch and matplotlib: the bench extra).
bench: venv
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/encode.py --squad $(SHARED)/data/squad/dev-v1.1.json
	$(BIN)/python benchmarks/read.py --squad $(SHARED)/data/squad/dev-v1.1.json
	$(BIN)/python benchmarks/ask.py --squad $(SHARED)/data/squad/dev-v1.1.json --mode hybrid
	$(BIN)/python benchmarks/ask.py --squad $(SHARED)/data/squad/dev-v1.1.json --mode hybrid --read-all
	$(BIN)/python benchmarks/cascade.py time --squad $(SHARED)/data/squad/dev-v1.1.json --questions 500
	$(BIN)/python benchmarks/ask.py --squad $(SHARED)/data/squad/dev-v1.1.json --mode dense
	$(BIN)/python benchmarks/ask.py --squad $(SHARED)/data/squad/dev-v1.1.json --mode hybrid --index-type ivf
	$(BIN)/python benchmarks/batching.py --squad $(SHARED)/data/squad/dev-v1.1.json
	$(BIN)/python benchmarks/search.py --squad $(SHARED)/data/squad/dev-v1.1.json
	$(BIN)/python benchmarks/reshape.py --squad $(SHARED)/data/squad/dev-v1.1.json
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf $(VENV) indexes/demo
