"""The Train panel's form, made from the settings' declarations in `config`: the page asks the API
for it and builds its inputs from it, so the page holds no setting of its own.
"""

from mnist_nn.config import describe_limits, high, kind, max_count, settings


def label(option) -> str:
    """The setting's name on the web page's form: "Batch size" for batch_size, unless named."""
    return option.metadata["label"] or option.name.replace("_", " ").capitalize()


def form_settings(options=None) -> list[dict]:
    """The Train panel's form, one entry per setting the web page takes: what the page needs
    to build its input (type, default, limits with the web's caps, choices, help). The API
    serves this list; the page builds its inputs from it, so it holds no setting of its own."""
    entries = []
    for option in settings("web", options).values():
        meta = option.metadata
        entry = {
            "name": option.name,
            "label": label(option),
            "help": meta["help"],
            "type": {int: "int", float: "float", str: "str"}[kind(option)],
            "default": option.default,
            "live": meta["live"],
        }
        if meta["choices"] is not None:
            entry["choices"] = list(meta["choices"])
        elif meta["validate"] is not None:
            entry["limits"] = "checked by the server"  # text, e.g. a stack of layers
        else:
            entry.update(
                low=meta["low"],
                high=high(option, "web"),
                open_low=meta["open_low"],
                open_high=meta["open_high"],
                limits=describe_limits(option, "web"),
            )
        if meta["max_count"]:
            entry["max_count"] = max_count(option, "web")
        entries.append(entry)
    return entries
