"""Style transfer building blocks: the AdaIN operation and the decoder's shapes."""

from __future__ import annotations

import torch

from studio.nets.adain import Decoder, DecoderConfig, adain, mean_std


def test_adain_gives_the_content_the_style_statistics() -> None:
    torch.manual_seed(0)
    content = torch.randn(2, 8, 16, 16) * 3 + 1
    style = torch.randn(2, 8, 12, 12) * 0.5 - 2
    out = adain(content, style)
    out_mean, out_std = mean_std(out)
    style_mean, style_std = mean_std(style)
    torch.testing.assert_close(out_mean, style_mean, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out_std, style_std, atol=1e-3, rtol=1e-3)
    # the content's layout survives: normalised maps are the same up to the affine change
    normalised = (content - mean_std(content)[0]) / mean_std(content)[1]
    torch.testing.assert_close((out - style_mean) / style_std, normalised, atol=1e-3, rtol=1e-3)


def test_decoder_upsamples_relu4_1_back_to_pixels() -> None:
    decoder = Decoder(DecoderConfig(width=16)).eval()
    with torch.no_grad():
        image = decoder(torch.randn(1, 512, 4, 6))
    assert image.shape == (1, 3, 32, 48)
