"""The person model as one ONNX file, and a renderer that runs it with onnxruntime.

**The graph** keeps the contract of export/onnx_contract.py (input `landmarks`, output `image` in [0, 1],
metadata `paste_at`). Everything between (drawing the landmarks, warping the reference, the generator) is torch
code in the renderer module, so it is all inside the graph; the batch dimension is dynamic (the module must
take it from `x.shape[0]`: tracing records `len(x)` and other Python numbers as constants).

**Export** traces the module with the TorchScript-based exporter (`dynamo=False`: the dynamo exporter
needs onnxscript, which this project does not install), at opset 17 or newer, into one file; weights go to a
`MODEL.onnx.data` file beside it only past protobuf's 2 GB limit. `metadata_props` name the producer, the
input and output semantics and state that the output is synthetic. The file is checked with
`onnx.checker`, then run with onnxruntime on a batch of a size other than the traced one and compared with
torch (mean abs difference <= 1e-3, max <= 5e-2), and only then renamed into place.

**Running.** `OnnxRenderer(path, device="auto")` uses CUDA when onnxruntime-gpu can (an NVIDIA driver and
the CUDA/cuDNN libraries it needs are present) and the CPU otherwise; `device="cuda"` insists on CUDA and
says what is missing.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import sys
import uuid
import warnings
from pathlib import Path

import numpy as np

from ..core import __version__
from ..core.errors import UserError, one_line
from . import provenance
from .onnx_contract import INPUT, INPUT_DOC, OUTPUT, OUTPUT_DOC, paste_at, signature_problem

MIN_OPSET = 17
# Export check: float32 convolutions in onnxruntime and torch differ by up to ~1e-2 at single pixels of a
# deep generator (measured on the person renderer with random weights), ~1e-5 on average; a wrong trace (a
# batch size or a branch baked in as a constant) differs by far more on average.
MEAN_TOLERANCE, MAX_TOLERANCE = 1e-3, 5e-2
PROTOBUF_LIMIT = 2 * 1024 ** 3 - 64 * 1024 ** 2     # a margin under 2 GB for the graph itself


def model_metadata(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The metadata_props every exported model carries."""
    fields = provenance.metadata()
    return {"producer": fields["Software"], "synthetic": fields["Description"],
            "DigitalSourceType": fields["DigitalSourceType"], "input": INPUT_DOC, "output": OUTPUT_DOC,
            **{str(k): str(v) for k, v in (extra or {}).items()}}


def data_file(path: Path) -> Path:
    """Where an export past protobuf's limit keeps its weights: MODEL.onnx.data beside MODEL.onnx."""
    return path.parent / f"{path.name}.data"


def export_onnx(module, path: str | os.PathLike, *, metadata: dict[str, str], opset: int = MIN_OPSET,
                example: np.ndarray | None = None) -> Path:
    """Export `module` (forward: landmarks (B, 68, 2) float32 -> image (B, 3, H, W) float32) to `path`.

    `example`: landmarks (N, 68, 2) to trace and verify with (the person's own are best); random points
    in a 256-pixel square otherwise. Written atomically; returns the path."""
    import onnx
    import torch

    path = Path(path)
    if opset < MIN_OPSET:
        raise UserError(f"ONNX opset {opset} is too old: grid_sample needs 16 and this project exports 17 or newer")
    if not path.parent.is_dir():
        raise UserError(f"{path.parent} is not a folder; create it or choose another --out")
    points = _example_batches(example)
    device = next((t.device for t in list(module.parameters()) + list(module.buffers())), torch.device("cpu"))
    was_training = module.training
    module.cpu().eval()                       # trace and verify on the CPU, where onnxruntime runs too
    work = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        work.mkdir()
        traced = work / path.name
        with torch.no_grad():
            expected = module(torch.from_numpy(points["verify"])).numpy()
        _check_output(expected, len(points["verify"]))
        _trace(module, points["trace"], traced, opset)
        model = onnx.load(str(traced), load_external_data=True)
        model.producer_name, model.producer_version = provenance.SOFTWARE, __version__
        model.doc_string = provenance.STATEMENT
        onnx.helper.set_model_props(model, model_metadata(metadata))
        for f in work.iterdir():
            f.unlink()
        external = model.ByteSize() > PROTOBUF_LIMIT
        onnx.save_model(model, str(traced), save_as_external_data=external, all_tensors_to_one_file=True,
                        location=data_file(path).name)
        onnx.checker.check_model(str(traced))
        difference = np.abs(OnnxRenderer(traced, device="cpu")(points["verify"]) - expected)  # other batch size
        if not (difference.mean() <= MEAN_TOLERANCE and difference.max() <= MAX_TOLERANCE):
            raise UserError(f"the ONNX graph does not reproduce the model (mean difference {difference.mean():.2g}, "
                            f"max {difference.max():.2g}); the renderer probably branches on tensor values, "
                            f"which tracing cannot record")
        if external:
            os.replace(work / data_file(path).name, data_file(path))
        os.replace(traced, path)
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}; check the folder and the free disk space") from None
    except onnx.checker.ValidationError as e:
        raise UserError(f"the exported graph is not valid ONNX ({one_line(e, last=True)}); try another --opset") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        module.to(device).train(was_training)
    return path


def _example_batches(example: np.ndarray | None) -> dict[str, np.ndarray]:
    """Two batches of different sizes (2 to trace, 3 to verify), so the batch is not traced as a constant."""
    rng = np.random.default_rng(0)
    if example is None:
        base = rng.uniform(64, 192, (1, 68, 2))
    else:
        base = np.asarray(example, np.float64).reshape(-1, 68, 2)
    jitter = lambda n: (base[np.arange(n) % len(base)] + rng.normal(0, 1.0, (n, 68, 2))).astype(np.float32)
    return {"trace": jitter(2), "verify": jitter(3)}


def _check_output(image: np.ndarray, batch: int) -> None:
    if image.ndim != 4 or image.shape[0] != batch or image.shape[1] != 3:
        raise UserError(f"the renderer returned an array of shape {image.shape}; expected (batch, 3, H, W)")


def _trace(module, points: np.ndarray, target: Path, opset: int) -> None:
    import torch

    try:
        with warnings.catch_warnings():
            # The tracer warns about Python-side shape arithmetic; the numerical check after export is what
            # tells whether the graph is right.
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (torch.from_numpy(points),), str(target), dynamo=False,
                              input_names=[INPUT], output_names=[OUTPUT], opset_version=opset,
                              dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}}, do_constant_folding=True)
    except (torch.onnx.errors.OnnxExporterError, RuntimeError) as e:
        raise UserError(f"cannot export the renderer to ONNX opset {opset}: {one_line(e, last=True)}") from None


class OnnxRenderer:
    """Runs an exported person model: `renderer(landmarks (N, 68, 2)) -> (N, 3, H, W)` float32 in [0, 1]."""

    def __init__(self, path: str | os.PathLike, device: str = "auto"):
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such ONNX model; export one with `python -m core export onnx`")
        if device not in ("auto", "cpu", "cuda"):
            raise UserError(f"unknown device {device!r}: use auto, cpu or cuda")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = self._session(ort, options, device)
        except UserError:
            raise
        except Exception as e:                # onnxruntime raises its own exception types for bad files
            raise UserError(f"{self.path} is not a valid ONNX model ({one_line(e, last=True)}); export it again") from None
        self.providers = self.session.get_providers()
        self.device = "cuda" if self.providers[0] == "CUDAExecutionProvider" else "cpu"
        self._check_signature()
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    def _session(self, ort, options, device: str):
        cpu = ["CPUExecutionProvider"]
        if device == "cpu" or "CUDAExecutionProvider" not in ort.get_available_providers():
            if device == "cuda":
                raise UserError("this onnxruntime has no CUDA support; install onnxruntime-gpu or use --device cpu")
            return ort.InferenceSession(str(self.path), options, providers=cpu)
        if device == "auto" and not _nvidia_driver_present():
            return ort.InferenceSession(str(self.path), options, providers=cpu)
        if hasattr(ort, "preload_dlls"):      # CUDA/cuDNN from pip packages or torch, where they are
            try:
                ort.preload_dlls()
            except Exception:
                pass
        ort.set_default_logger_severity(4)    # a failed CUDA provider logs errors before falling back
        try:
            session = ort.InferenceSession(str(self.path), options, providers=["CUDAExecutionProvider"] + cpu)
        finally:
            ort.set_default_logger_severity(2)
        if device == "cuda" and session.get_providers()[0] != "CUDAExecutionProvider":
            raise UserError("onnxruntime could not use CUDA (it needs the CUDA and cuDNN versions listed for "
                            "onnxruntime-gpu); install them or use --device cpu")
        return session

    def _check_signature(self) -> None:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        problem = signature_problem(inputs, outputs)
        if problem:
            raise UserError(f"{self.path} is not a person model exported by this project: {problem}; export it "
                            f"with `python -m core export onnx`")
        height, width = outputs[0].shape[2:]
        self.size = (height, width) if isinstance(height, int) and isinstance(width, int) else None

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        points = np.asarray(landmarks, np.float32)
        if points.shape == (68, 2):
            points = points[None]
        if points.ndim != 3 or points.shape[1:] != (68, 2):
            raise UserError(f"landmarks must be an (N, 68, 2) array of x, y pixels, not {points.shape}")
        if not np.all(np.isfinite(points)):
            raise UserError("the landmarks hold NaN or infinite values; track the video again")
        if len(points) == 0:
            return np.zeros((0, 3) + (self.size or (0, 0)), np.float32)
        try:
            return self.session.run([OUTPUT], {INPUT: np.ascontiguousarray(points)})[0]
        except Exception as e:                 # onnxruntime's own exception types
            raise UserError(f"onnxruntime could not run {self.path.name} on {len(points)} frames "
                            f"({one_line(e, last=True)}); export the model again") from None


def _nvidia_driver_present() -> bool:
    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def export_person(person_path: str | os.PathLike, out: str | os.PathLike, *, opset: int = MIN_OPSET,
                  overwrite: bool = False) -> Path:
    """Export a person model file (from `python -m core finetune`) to ONNX."""
    if not Path(person_path).is_file():
        raise UserError(f"{person_path}: no such person model; fine-tune one with `python -m core finetune`")
    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise UserError(f"{out}: give the ONNX file a name ending in .onnx")
    if out.exists() and not overwrite:
        raise UserError(f"{out} already exists; choose another --out or pass --overwrite")
    from ..core.model.person import load_person

    person = load_person(person_path)
    h, w = person.image.shape[:2]
    x0, y0, side = person.native_box
    # The export renders the photo's face box at the photo's own resolution (core/model/native.py): its
    # output goes into the photo at `paste_at`.
    extra = {"person": Path(person_path).name, "reference_image_size": f"{w}x{h}",
             "output_size": f"{side}x{side}", **paste_at(x0, y0),
             "crop_box": ",".join(f"{v:g}" for v in person.box)}
    return export_onnx(person.native_renderer(), out, metadata=extra, opset=opset,
                       example=person.image_points[None])
