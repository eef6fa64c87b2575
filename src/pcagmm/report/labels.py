"""How a label is shown: by its name where the data set names its labels.

Fashion-MNIST's label 9 is shown as ``Ankle boot (9)``: the name a reader knows, and the
number the data and the files hold. A label without a name, or whose name is its number
(MNIST's digits ``"0"`` to ``"9"``), is shown as the number alone (``9``), as it always
was. Every place that shows a matched label (the terminal report, the cluster means'
titles, report.html, ``pcagmm predict``) shows :func:`label_text`; the files that hold
the number add the name beside it where :func:`named_labels` says there are names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def name_of_label(value, names: Sequence[str] | Mapping | None) -> str | None:
    """The name of label ``value``, or None where it has none worth showing.

    Parameters
    ----------
    value : int or str
        A label as the data hold it.
    names : sequence of str, mapping, or None
        The names indexed by the label (a data set's ``target_names``: item ``i``
        names label ``i``), or a mapping of labels to names.

    Returns
    -------
    str or None
        The name; None without names, for a label they do not cover (a negative or
        too large number, a text label with sequence names), and for a name that is
        the label itself (``"9"`` for 9) or empty.
    """
    if names is None:
        return None
    if isinstance(names, Mapping):
        name = names.get(value)
    elif (
        isinstance(value, int | np.integer)
        and not isinstance(value, bool)
        and 0 <= value < len(names)
    ):
        name = names[int(value)]
    else:
        return None
    if name is None or str(name) in ("", str(value)):
        return None
    return str(name)


def label_text(value, names: Sequence[str] | Mapping | None) -> str:
    """Label ``value`` as shown to a reader: ``"Ankle boot (9)"`` where ``names`` name
    it (:func:`name_of_label`), else the label alone (``"9"``)."""
    name = name_of_label(value, names)
    return str(value) if name is None else f"{name} ({value})"


def named_labels(names: Sequence[str] | None) -> tuple[str, ...] | None:
    """``names`` as a tuple where at least one names its label (Fashion-MNIST's); None
    where there are none or they are only the labels' numbers (MNIST's digits), so that
    files of such data sets hold no name columns or keys."""
    if not names or all(name_of_label(i, names) is None for i in range(len(names))):
        return None
    return tuple(str(name) for name in names)
