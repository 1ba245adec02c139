# Two commands for everyone: `make demo` (the main job) and `make test` (all tests).
# Each installs what it needs into .venv by itself: the demo only requirements-demo.txt,
# the tests (and bench, fuzz) requirements.txt, which adds the test and fuzz tools.
PY ?= python3
VENV := .venv
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed
# MicroPython's WebAssembly port (32-bit) for the import-heap figures: npm ci into
# tools/wasmheap/node_modules from its package-lock.json, again only when that changes
WASM := tools/wasmheap
WASM_STAMP := $(WASM)/node_modules/.installed

.PHONY: demo test bench mpy clean

$(DEMO_STAMP): requirements-demo.txt
	test -x $(VENV)/bin/pip || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-demo.txt
	touch $(DEMO_STAMP)

$(STAMP): requirements.txt requirements-demo.txt
	test -x $(VENV)/bin/pip || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP) $(DEMO_STAMP)

$(WASM_STAMP): $(WASM)/package.json $(WASM)/package-lock.json
	cd $(WASM) && npm ci --no-audit --no-fund --loglevel=error
	touch $(WASM_STAMP)

demo: $(DEMO_STAMP)
	sh tools/ensure_debian.sh mosquitto
	$(VENV)/bin/python -m tools.demo

test: $(STAMP) $(WASM_STAMP)
	sh tools/ensure_debian.sh mosquitto
	$(VENV)/bin/python -m pytest host_tests -q

bench: $(STAMP) $(WASM_STAMP)
	sh tools/ensure_debian.sh mosquitto
	$(VENV)/bin/python -m tools.bench

mpy: $(STAMP)
	$(VENV)/bin/python -c "import sys; sys.path.insert(0, 'host_tests'); from mpy import compile_tree; print(len(compile_tree('lib', 'build/lib')), 'files compiled into build/lib')"

clean:
	rm -rf $(VENV) build .pytest_cache $(WASM)/node_modules
