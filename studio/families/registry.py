"""Explicit family registry: a manifest's `family` key -> the class that runs it."""

from __future__ import annotations

from studio.core.errors import ManifestError
from studio.core.manifest import MANIFEST_NAME, Manifest
from studio.core.modalities import MODALITIES
from studio.families.adain import AdainFamily
from studio.families.base import Family
from studio.families.diffusion import DiffusionFamily
from studio.families.flow import FlowFamily
from studio.families.gpt import GptFamily
from studio.families.latent_image import GanFamily
from studio.families.pixelcnn import PixelCnnFamily
from studio.families.rbm import RbmFamily
from studio.families.style_features import StyleFeaturesFamily
from studio.families.stylegan import StyleGanFamily
from studio.families.vae import VaeFamily
from studio.families.wavenet import WaveNetFamily

FAMILIES: dict[str, type[Family]] = {}


def register(family: type[Family]) -> None:
    name = family.descriptor.name
    if name in FAMILIES:
        raise ValueError(f"family {name!r} is already registered")
    if family.descriptor.modality not in MODALITIES:
        raise ValueError(
            f"family {name!r} makes an unknown modality {family.descriptor.modality!r}"
        )
    FAMILIES[name] = family


register(GanFamily)
register(VaeFamily)
register(FlowFamily)
register(DiffusionFamily)
register(PixelCnnFamily)
register(RbmFamily)
register(GptFamily)
register(WaveNetFamily)
register(StyleFeaturesFamily)
register(AdainFamily)
register(StyleGanFamily)


def family_for(manifest: Manifest) -> type[Family]:
    """The family class for `manifest`, after checking the manifest gives what it needs."""
    if manifest.family not in FAMILIES:
        raise ManifestError(
            manifest.folder / MANIFEST_NAME,
            "family",
            f"{manifest.family!r} is not a known family; known: {', '.join(sorted(FAMILIES))}",
        )
    family = FAMILIES[manifest.family]
    family.check_manifest(manifest)
    return family
