"""Files to arrays: MNIST's IDX files and their download, your own data files, the Dataset and
its splits, augmentation, and framing an image the way MNIST's digits were framed.

May import: `errors`, `config`, `nn`, `saving.files` (atomic writes, safe .npz reading).
"""
