"""Export the bundled models from their torch checkpoints to ONNX and write headscope.json.

    python3 assets/scripts/export_models.py needle-gpt
    python3 assets/scripts/export_models.py needle-llama
    python3 assets/scripts/export_models.py shapes-vlm

Uses the shared export wrappers and manifest writer in headscope_models.py (the same
code assets/export/export_hf.py uses for Hugging Face models).
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import headscope_models as hm  # noqa: E402

ASSETS = os.path.dirname(HERE)


def export_needle(name, folder=None):
    folder = folder or os.path.join(ASSETS, "models", name)
    import needle_data as nd
    ck = torch.load(os.path.join(folder, "checkpoint.pt"), map_location="cpu")
    model = hm.build_decoder(ck["config"])
    model.load_state_dict(ck["state_dict"])
    model.eval()
    arch = ck["config"]["arch"]
    use_pos = arch == "llama"
    hm.export_decoder(model, os.path.join(folder, "model.onnx"), use_position_ids=use_pos)
    inputs = {"input_ids": "input_ids", "attention_mask": "attention_mask"}
    if use_pos:
        inputs["position_ids"] = "position_ids"
    man = hm.make_manifest(
        name, "decoder", arch, "model.onnx", inputs=inputs, bos=hm.BOS, eos=hm.EOS, pad=hm.PAD,
        max_length=ck["config"]["max_len"],
        retrieval={"template": nd.TEMPLATE, "sentenceEnd": "."})
    hm.write_manifest(folder, man)
    return folder


def export_vlm(folder=None):
    import shapes_data as sd
    folder = folder or os.path.join(ASSETS, "models", "shapes-vlm")
    ck = torch.load(os.path.join(folder, "checkpoint.pt"), map_location="cpu")
    model = hm.ShapesVLM(**ck["config"])
    model.load_state_dict(ck["state_dict"])
    model.eval()
    d = ck["config"]["d"]
    hm.export_vision(model.vision, os.path.join(folder, "vision.onnx"), sd.SIZE)
    hm.export_embed(model.lm.embed_tokens, os.path.join(folder, "embed.onnx"))
    hm.export_embeds_decoder(model.lm, os.path.join(folder, "decoder.onnx"), d)
    man = hm.make_manifest(
        "shapes-vlm", "vlm", "llama", "decoder.onnx",
        inputs={"inputs_embeds": "inputs_embeds", "attention_mask": "attention_mask",
                "position_ids": "position_ids"},
        bos=hm.BOS, eos=hm.EOS, pad=hm.PAD, max_length=ck["config"]["max_len"],
        vision={"model": "vision.onnx", "pixelInput": "pixel_values", "output": "image_embeds",
                "embed": "embed.onnx", "embedInput": "input_ids", "embedOutput": "inputs_embeds",
                "imageSize": sd.SIZE, "mean": sd.MEAN, "std": sd.STD, "imageStart": 1,
                "imageTokens": 64, "grid": [8, 8], "imageTokenId": sd.IMAGE_TOKEN_ID})
    hm.write_manifest(folder, man)
    return folder


if __name__ == "__main__":
    torch.set_num_threads(1)
    # usage: export_models.py NAME [NAME ...]   or   export_models.py NAME --dir FOLDER
    names = [a for a in sys.argv[1:] if not a.startswith("--")]
    folder = sys.argv[sys.argv.index("--dir") + 1] if "--dir" in sys.argv else None
    if folder:
        names = names[:1]
    for n in names:
        print(export_vlm(folder) if n == "shapes-vlm" else export_needle(n, folder))
