"""Load every shipped dataset from an lrjax installed from its wheel, with no checkout.

Run by ``make wheel-check`` (CI runs it) inside a fresh virtual environment that holds only
the built wheel and the loaders' file-format packages (SciPy, Pillow), from a folder outside
the repository: every dataset must come from the installed package's ``lrjax/data/files``.
"""

import sys
from pathlib import Path

import lrjax
from lrjax import data


def main() -> int:
    root = data.data_root()
    package = Path(lrjax.__file__).resolve().parent
    if package / "data" / "files" != root or "site-packages" not in str(root):
        print(f"data_root() is {root}, not the installed package's copy under {package}")
        return 1
    if not (root / "SOURCES.md").is_file():
        print(f"{root} lacks SOURCES.md (the datasets' provenance must ship with them)")
        return 1
    loaded = {}
    for name in data.MSI_FILES:
        loaded[f"msi:{name}"] = data.load_msi(name).shape
    for name in data.SET11:
        loaded[f"set11:{name}"] = data.load_image(name).shape
    for name in data.POLYPHONIC:
        splits = data.load_polyphonic(name)
        loaded[f"polyphonic:{name}"] = tuple(
            len(s) for s in (splits.train, splits.valid, splits.test)
        )
    loaded["cdnet_highway"] = data.load_cdnet_highway().frames.shape
    loaded["i2r_hall"] = data.load_i2r_hall().frames.shape
    loaded["faces"] = data.load_faces()[0].shape
    for key, shape in loaded.items():
        print(f"{key}: {shape}")
    print(f"{len(loaded)} datasets loaded from {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
