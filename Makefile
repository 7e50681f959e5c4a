# `make test` / `make demo` work on a fresh machine: they create .venv/ and install
# the pinned stack (requirements/constraints.txt), building mmcv's ops once.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
CONSTRAINTS := requirements/constraints.txt
STAMP := $(VENV)/.installed

.PHONY: install test test-slow demo clean

install: $(STAMP)

$(STAMP): setup.py $(CONSTRAINTS) requirements/build_mmcv.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c $(CONSTRAINTS) setuptools wheel ninja
	$(PIP) install -q -c $(CONSTRAINTS) torch torchvision
	$(PIP) install -q -c $(CONSTRAINTS) --find-links "$$(requirements/build_mmcv.sh $(PY))" -e '.[tests,onnx,vis]'
	$(PY) -c "import mmcv.ops, mmseg_mopeft; print('environment ready')"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests

test-slow: $(STAMP)
	$(PY) -m pytest tests -m slow

demo: $(STAMP)
	$(PY) demo/train_demo.py

clean:
	rm -rf $(VENV) work_dirs
