"""digits arch=textbook: the tutorials' DCGAN, layer by layer, and its BCE with flipped labels."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from translate import Networks
from translate.data.sources import FolderSource, digits_source
from translate.engine.trainer import train
from translate.errors import ConfigError
from translate.paths import translate_home
from translate.plugins import open_source
from translate.testing import EvaluationTests, InferenceTests, SerialisationTests, TrainingTests
from translate_digits.textbook import TextbookDiscriminator, TextbookGenerator
from translate_digits.translator import DigitsTranslator

STARTER = Path(str(DigitsTranslator.starter_weights))


def textbook(preset: str = "textbook", **overrides: str) -> DigitsTranslator:
    torch.manual_seed(0)
    return DigitsTranslator(DigitsTranslator.make_config(preset, overrides)).eval()


def shapes_through(module: torch.nn.Module, names: list[str], *inputs: torch.Tensor) -> dict:
    """The output shape of each named submodule on one forward pass."""
    seen: dict[str, tuple[int, ...]] = {}
    hooks = [module.get_submodule(name).register_forward_hook(
        lambda _m, _i, out, name=name: seen.__setitem__(name, tuple(out.shape)))
        for name in names]
    try:
        output = module(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return {**seen, "output": tuple(output.shape)}


def test_textbook_generator_is_100_to_6272_to_128x7x7_to_28x28():
    model = textbook()
    config, generator = model.config, model.generators.G
    assert (config.arch, config.latent_dim, config.image_size, config.num_classes) == (
        "textbook", 100, 28, 0)
    assert isinstance(generator, TextbookGenerator)
    assert (generator.project.in_features, generator.project.out_features) == (100, 6272)
    shapes = shapes_through(generator, ["project", "upsample.0", "upsample.2", "to_image"],
                            torch.randn(3, 100))
    assert shapes == {"project": (3, 6272), "upsample.0": (3, 128, 14, 14),
                      "upsample.2": (3, 128, 28, 28), "to_image": (3, 1, 28, 28),
                      "output": (3, 1, 28, 28)}
    # The dense layer's 6272 units are the 128 maps of 7x7 the first transposed conv takes.
    assert generator.upsample[0].in_channels == 128 and generator.start == 7
    assert all(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.2
               for m in (generator.upsample[1], generator.upsample[3]))
    seen = {}
    hook = generator.to_image.register_forward_hook(lambda _m, _i, out: seen.update(out=out))
    images = generator(torch.randn(3, 100))
    hook.remove()
    torch.testing.assert_close(images, torch.tanh(seen["out"]))  # tanh out


def test_textbook_discriminator_is_strided_convs_then_one_logit():
    model = textbook()
    critic = model.build_discriminators()["D"]
    assert isinstance(critic, TextbookDiscriminator)
    shapes = shapes_through(critic, ["features.0", "features.3", "realness"],
                            torch.randn(3, 1, 28, 28))
    assert shapes == {"features.0": (3, 64, 14, 14), "features.3": (3, 64, 7, 7),
                      "realness": (3, 1), "output": (3,)}
    assert [m.stride for m in critic.modules() if isinstance(m, torch.nn.Conv2d)] == [(2, 2)] * 2


def test_textbook_conditional_feeds_the_label_to_g_and_d():
    model = textbook("textbook-conditional")
    generator, critic = model.generators.G, model.build_discriminators()["D"].eval()
    # A label embedding joins G's 100 latent numbers; D sees the label as a second channel.
    assert generator.project.in_features == 100 + generator.label_embedding.embedding_dim
    assert critic.features[0].in_channels == 2
    z = torch.randn(1, 100).expand(10, -1)
    images = generator(z, torch.arange(10))
    assert images.shape == (10, 1, 28, 28)
    assert (images[0] - images[1]).abs().max() > 0  # same noise, another class, another image
    logits = critic(images[:1].expand(10, -1, -1, -1), torch.arange(10))
    assert logits.shape == (10,) and logits.unique().numel() == 10


def test_bce_with_real_1_fake_0_for_d_and_the_labels_flipped_for_g():
    for preset in ("textbook", "textbook-conditional"):
        model = textbook(preset)
        critic = model.build_discriminators()["D"].eval()  # no dropout: the same logits twice
        nets = Networks({"G": model.generators.G, "D": critic})
        batch = {"image": torch.rand(8, 1, 28, 28) * 2 - 1, "label": torch.arange(8)}
        generated = model.generate(nets, batch)
        with torch.no_grad():
            real = critic(batch["image"], batch["label"])
            fake = critic(generated["image"], batch["label"])
        d_terms = model.discriminator_loss(nets, batch, {"image": generated["image"].detach()})
        g_terms = model.generator_loss(nets, batch, generated)
        # -log D(x) and -log(1 - D(G(z))): a binary classifier, real = 1, fake = 0.
        torch.testing.assert_close(d_terms["real"], -torch.log(torch.sigmoid(real)).mean())
        torch.testing.assert_close(d_terms["fake"], -torch.log(1 - torch.sigmoid(fake)).mean())
        # G: the same BCE with its fakes labelled real, -log D(G(z)) (non-saturating) ...
        torch.testing.assert_close(g_terms["adversarial"], -torch.log(torch.sigmoid(fake)).mean())
        torch.testing.assert_close(g_terms["adversarial"], F.binary_cross_entropy(
            torch.sigmoid(fake), torch.ones_like(fake)))
        # ... not minus D's loss on them (the minimax form, whose gradient vanishes).
        assert not torch.allclose(g_terms["adversarial"], -d_terms["fake"])
        # D's accuracies ride along for the training watch; they are not loss terms.
        assert {"accuracy/real", "accuracy/fake"} <= set(d_terms)


def test_g_step_reaches_g_and_d_step_does_not():
    model = textbook()
    critic = model.build_discriminators()["D"]
    nets = Networks({"G": model.generators.G, "D": critic})
    batch = {"image": torch.rand(4, 1, 28, 28) * 2 - 1, "label": torch.arange(4)}
    generated = model.generate(nets, batch)
    d_terms = model.discriminator_loss(nets, batch, {"image": generated["image"].detach()})
    (d_terms["real"] + d_terms["fake"]).backward()
    assert all(p.grad is None for p in model.generators.G.parameters())
    model.generator_loss(nets, batch, generated)["adversarial"].backward()
    assert all(p.grad is not None for p in model.generators.G.parameters())


def test_an_unconditional_model_draws_any_digit_and_refuses_a_label():
    model = textbook(width="8", d_width="8")
    images = model.infer(count=5, seed=0)
    assert len(images) == 5 and all(i.size == (28, 28) and i.mode == "L" for i in images)
    assert [list(i.getdata()) for i in images] == [
        list(i.getdata()) for i in model.infer(label="all", count=5, seed=0)]
    with pytest.raises(ConfigError, match=r"^these weights are unconditional .*'all'$"):
        model.infer(label="7", count=5)
    assert [p.name for p in DigitsTranslator.inputs_for(model.config)] == ["count", "seed"]
    conditional = DigitsTranslator.make_config("textbook-conditional")
    assert [p.name for p in DigitsTranslator.inputs_for(conditional)] == [
        "label", "count", "seed"]


def test_an_unconditional_model_trains_on_unlabelled_images(tmp_path):
    for index in range(4):
        Image.new("L", (8, 8), index * 60).save(tmp_path / f"{index}.png")
    model = textbook(width="8", d_width="8")
    item = model.make_dataset(FolderSource(tmp_path), train=True)[0]
    assert item["image"].shape == (1, 28, 28) and "label" not in item
    with pytest.raises(Exception, match="labelled images of 10 classes"):
        textbook("textbook-conditional").make_dataset(FolderSource(tmp_path), train=True)


def write_fake_mnist(raw: Path, per_class: int = 5) -> None:
    """torchvision's MNIST layout (idx files in MNIST/raw), holding a few made-up digits."""
    raw.mkdir(parents=True)
    count, rng = 10 * per_class, np.random.default_rng(0)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = np.repeat(np.arange(10, dtype=np.uint8), per_class)
    for part in ("train", "t10k"):  # torchvision wants both before it opens either
        (raw / f"{part}-images-idx3-ubyte").write_bytes(
            struct.pack(">iiii", 2051, count, 28, 28) + images.tobytes())
        (raw / f"{part}-labels-idx1-ubyte").write_bytes(
            struct.pack(">ii", 2049, count) + labels.tobytes())


def test_textbook_trains_on_mnist_in_torchvision_layout(tmp_path):
    write_fake_mnist(translate_home() / "torchvision" / "MNIST" / "raw")
    source = open_source("torchvision:mnist")
    config = DigitsTranslator.make_config("textbook-conditional", {
        "width": "8", "d_width": "8", "batch_size": "4", "steps": "1",
        "evaluate_at_end": "false"})
    item = DigitsTranslator(config).make_dataset(source.split("train"), train=True)[0]
    assert item["image"].shape == (1, 28, 28) and 0 <= int(item["label"]) < 10
    weights = train(DigitsTranslator, config, train_source=source.split("train"),
                    heldout_source=source.split("heldout"), out_dir=tmp_path / "run",
                    device="cpu", progress=False, command="test")
    assert len(DigitsTranslator.from_pretrained(weights).infer(label="3", count=2)) == 2


def test_sngan_refuses_what_only_textbook_can_do():
    with pytest.raises(ConfigError, match="num_classes=0 needs arch=textbook"):
        DigitsTranslator.make_config("starter", {"num_classes": "0"})
    with pytest.raises(ConfigError, match="4 times a power of two"):
        DigitsTranslator.make_config("starter", {"image_size": "24"})
    with pytest.raises(ConfigError, match="multiple of 4"):
        DigitsTranslator.make_config("textbook", {"image_size": "30"})


def test_the_v1_starter_loads_as_sngan_with_d_as_wide_as_g():
    meta = json.loads((STARTER / "config.json").read_text())
    assert meta["format_version"] == 1
    config = DigitsTranslator.config_from_meta(meta)
    assert (config.arch, config.width, config.d_width) == ("sngan", 32, 32)
    assert DigitsTranslator.make_config("starter").d_width == 32  # the recipe is unchanged


def test_evaluation_reports_the_same_figures_for_both_kinds():
    source = digits_source()
    heldout, train = source.split("heldout"), source.split("train")
    figures = {}
    for preset in ("textbook", "textbook-conditional"):
        with torch.no_grad():
            figures[preset] = textbook(preset, width="8", d_width="8").evaluate(
                heldout, train, per_class=10)
    assert set(figures["textbook"]) == set(figures["textbook-conditional"])
    # For the unconditional model a sample counts when the SVM and the nearest real digit
    # agree on its class: real digits score about what the SVM scores on them.
    assert figures["textbook"]["class_accuracy_real_train_digits"] > 0.95
    assert figures["textbook"]["class_accuracy_untrained_baseline"] < 0.3


class TestUnconditionalTextbook(SerialisationTests, TrainingTests, InferenceTests,
                                EvaluationTests):
    """The shared checks on a tiny unconditional textbook model."""

    translator = DigitsTranslator
    tiny = {"arch": "textbook", "num_classes": "0", "width": "8", "d_width": "8",
            "image_size": "16", "latent_dim": "8", "loss": "nonsaturating"}
    evaluation_records = None
    evaluation_options = {"per_class": 10}
