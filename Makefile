# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: env demo test extension clean

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
# One OpenCV: face-alignment asks for opencv-python (the GUI build, which needs libGL), and it installs its own
# cv2 over the headless one's. Remove it, then put the headless build's files back (same version, nothing else).
	$(PY) -m pip uninstall -y opencv-python
	$(PY) -m pip install --force-reinstall --no-deps "opencv-python-headless==$$($(PY) -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: env
	$(PY) -m core demo

test: env
	$(PY) -m pytest

extension: env
	$(PY) -m blender_addon.build --out dist

clean:
	rm -rf out dist build
