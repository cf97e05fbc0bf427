"""Family descriptors and the modality registry: one home for what a family can do."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from studio.core.catalog import BUNDLED_MODELS, Catalog
from studio.core.descriptor import Capability, Control, FamilyDescriptor, Sampler
from studio.core.errors import RequestError
from studio.core.modalities import MODALITIES, modality_of
from studio.core.requests import ImageRequest
from studio.core.text_request import TextRequest
from studio.engine.run import run_to_completion
from studio.engine.runtime import ModelRuntime
from studio.families.registry import FAMILIES

STUDIO = Path(__file__).resolve().parents[1] / "studio"


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_declares_a_consistent_descriptor(name: str) -> None:
    d = FAMILIES[name].descriptor
    assert d.name == name
    assert d.modality in MODALITIES
    assert d.networks, "a family runs at least one network"
    assert len(set(d.sampler_names)) == len(d.samplers)
    assert len({c.field for c in d.controls}) == len(d.controls)
    request_fields = set(MODALITIES[d.modality].request_type.__dataclass_fields__)
    for control in d.controls:
        assert control.field in request_fields, f"{name}: {control.field} sets no request field"
        assert control.minimum <= control.default <= control.maximum
        assert set(control.samplers) <= set(d.sampler_names)


def test_controls_take_the_models_defaults_within_their_range() -> None:
    steps = Control("steps", "Steps", 5, 100, 25, integer=True, default_key="default_steps")
    assert steps.default_for({}) == 25
    assert steps.default_for({"default_steps": 40}) == 40
    assert steps.default_for({"default_steps": 4000}) == 100  # clamped into the range
    assert isinstance(steps.default_for({"default_steps": 40.4}), int)
    d = FamilyDescriptor(
        "toy", "image", ("g",), samplers=(Sampler("a", "A"), Sampler("b", "B")), controls=(steps,)
    )
    assert d.default_sampler({}) == "a"
    assert d.default_sampler({"default_sampler": "b"}) == "b"
    assert d.default_sampler({"default_sampler": "nonsense"}) == "a"
    assert d.defaults({"default_steps": 40}) == {"steps": 40}
    assert d.defaults({}) == {}  # the request's own default stands


def test_runtime_reads_capabilities_from_the_descriptor() -> None:
    runtime = ModelRuntime(Catalog([(BUNDLED_MODELS, "bundled")]))
    flow = runtime.describe("flow-emoji-32")
    assert flow.can_encode and flow.has_truncation
    assert flow.default("temperature") == pytest.approx(
        float(flow.manifest.parameters.get("default_temperature", 1.0))
    )
    rbm = runtime.describe("rbm-glyphs-28")
    assert rbm.can_encode and rbm.encode_label == "Complete glyph…"
    assert not rbm.has_truncation
    assert rbm.descriptor.can(Capability.STEP_PREVIEWS)
    gan = runtime.describe("gan-emoji-32")
    assert not gan.can_encode and gan.default("steps") is None


def test_one_job_entry_point_checks_the_modality() -> None:
    runtime = ModelRuntime(Catalog([(BUNDLED_MODELS, "bundled")]))
    with pytest.raises(RequestError, match="makes image, not text"):
        run_to_completion(runtime.job(TextRequest("gan-emoji-32", prompt="a")))
    result = run_to_completion(runtime.job(ImageRequest("gan-emoji-32", seed=3)))
    assert result.pixels.shape == (32, 32, 3)
    assert modality_of(result.request).name == "image"


def test_model_defaults_reach_the_request() -> None:
    runtime = ModelRuntime(Catalog([(BUNDLED_MODELS, "bundled")]))
    for model_id in ("flow-emoji-32", "ddpm-emoji-32", "gpt-kjv"):
        manifest = runtime.catalog.get(model_id)
        request = runtime.request_at_defaults(model_id)
        if "default_temperature" in manifest.parameters:
            assert request.temperature == pytest.approx(
                float(manifest.parameters["default_temperature"])
            )
    assert runtime.default_text_request("gpt-kjv").prompt == str(
        runtime.catalog.get("gpt-kjv").parameters.get("default_prompt", "")
    )


def _family_class_names() -> set[str]:
    return {cls.__name__ for cls in FAMILIES.values()} | {"ImageFamily", "LatentImageFamily"}


def test_nothing_outside_families_tests_a_family_class_or_name() -> None:
    """The engine, CLI and panels ask the descriptor; only families/ knows its classes (the
    engine's typed `image_family` view for encoding is the one allowed isinstance)."""
    classes, offenders = _family_class_names(), []
    family_names = set(FAMILIES)
    for path in STUDIO.rglob("*.py"):
        if "families" in path.parts or "training" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance":
                names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                if names & classes and names != {"ImageFamily"}:
                    offenders.append(f"{path.name}:{node.lineno} isinstance {names & classes}")
            if isinstance(node, ast.Compare):
                consts = {
                    c.value
                    for c in ast.walk(node)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
                words = {a.attr for a in ast.walk(node) if isinstance(a, ast.Attribute)}
                words |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                if consts & family_names and any("family" in w for w in words):
                    offenders.append(f"{path.name}:{node.lineno} compares a family name")
    assert not offenders, offenders
