# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The Blender tests' second environment: bpy 5.3 on Python 3.13 (requirements-blender5.txt). PYTHON313 is the
# first Python 3.13 that runs: python3.13 on PATH, else one of pyenv's.
PYENV_313  = $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.13*/bin/python3.13)
PYTHON313 ?= $(firstword $(foreach p,python3.13 $(PYENV_313),$(shell $(p) -c 'print("$(p)")' 2>/dev/null)))
VENV5  := .venv-blender5
PY5    := $(VENV5)/bin/python
STAMP5 := $(VENV5)/.installed

.PHONY: env env-blender5 demo test extension clean

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

env-blender5: $(STAMP5)

$(STAMP5): requirements-blender5.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "error: no Python 3.13 found (bpy 5.3 needs it): make test \
	  PYTHON313=/path/to/python3.13" >&2; exit 2; }
	test -x $(PY5) || $(PYTHON313) -m venv $(VENV5)
	$(PY5) -m pip install --upgrade pip
	$(PY5) -m pip install -r requirements-blender5.txt
	$(PY5) -m pip install --no-deps --no-build-isolation -e .
	touch $(STAMP5)

demo: env
	$(PY) -m core demo

# Both runs always run (make fails if either does): the whole suite on bpy 4.5 (Python 3.11), then the Blender
# tests on bpy 5.3 (Python 3.13) with the worker on .venv's Python. Both install the real linux-x64 zip, its
# wheels downloaded into build/wheels once.
test: env env-blender5
	@status=0; \
	echo "== the whole suite, bpy 4.5 LTS (Python 3.11): $(PY) -m pytest"; \
	TALKING_HEADS_DOWNLOAD_WHEELS=1 $(PY) -m pytest || status=1; \
	echo "== tests/blender, bpy 5.3 (Python 3.13), the worker on $(PY): $(PY5) -m pytest tests/blender"; \
	TALKING_HEADS_DOWNLOAD_WHEELS=1 TALKING_HEADS_WORKER_PYTHON=$(abspath $(PY)) \
	  $(PY5) -m pytest tests/blender || status=1; \
	exit $$status

extension: env
	$(PY) -m blender_addon.build --out dist

clean:
	rm -rf out dist build

# The real-window suite (tests/gui/): Debian's Blender 5.2 in a chroot on a private X server installs the linux
# zip and goes down the artist's path, buttons pressed as in the sidebar, Esc and Ctrl+Z as real keys. As root
# (the chroot is built once into /tmp/talking-heads-gui from apt's mirror); screenshots and log in out/gui/.
.PHONY: test-gui
test-gui: env
	rm -rf build/gui/dist
	$(PY) -m blender_addon.build --out build/gui/dist
	bash tests/gui/setup.sh
	bash tests/gui/run.sh build/gui/dist/talking_heads-*-linux_x64.zip
