"""A quiet terminal: silence the dependencies' chatter, never wstag's own warnings.

A first ``wstag demo`` should show its progress bars and its figures. Lightning, on
its own, adds advertising tips ("💡 Tip: For seamless cloud uploads..."), hardware
lines ("GPU available: False, used: False", TPU, HPU, "LOCAL_RANK: 0 -
CUDA_VISIBLE_DEVICES"), and warnings that are wrong for this project: the feature
cache makes ``num_workers=0`` the fast choice, checkpoint and log folders are reused on
purpose (that is how runs resume), and a tiny corpus has fewer batches than the
logging interval. Dependencies add deprecation warnings about each other
(``pkg_resources``, torch's ``LeafSpec``) that a user can do nothing about.

Each is silenced by what it says and where it comes from (message, category, module,
or the one logger that prints it); a blanket ``simplefilter("ignore")`` would also hide
the warnings wstag itself raises (a silent recording, a phrase of unknown words), so
there is none. The filters go first in the list, so that a dependency's own
``simplefilter`` at import cannot bring them back; they match so little that they
override nothing else a user asks for with ``PYTHONWARNINGS`` or ``-W``.
"""

from __future__ import annotations

import logging
import warnings

#: Loggers whose INFO lines are only hardware reports and tips; their warnings still show.
#: Child loggers, not ``lightning.pytorch`` itself: importing Lightning resets that one's level.
CHATTY_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",  # GPU/TPU/HPU available, tips, "`Trainer.fit` stopped"
    "lightning.fabric.utilities.rank_zero",
    "lightning.pytorch.accelerators.cuda",  # "LOCAL_RANK: 0 - CUDA_VISIBLE_DEVICES: [0]"
    "lightning.fabric.accelerators.cuda",
)

#: (message regex, category, module regex) of warnings that say nothing to a wstag user.
QUIET_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    # features come from an HDF5 cache: worker processes would only cost start-up time
    (r"The '\w+' does not have many workers", UserWarning, r"lightning\."),
    (r"The number of training batches \(\d+\) is smaller than the logging interval", UserWarning, r"lightning\."),
    # run folders are reused on purpose: that is how an interrupted run resumes
    (r"Checkpoint directory .* exists and is not empty", UserWarning, r"lightning\."),
    # deprecations inside dependencies, about their own calls
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning, r"lightning\."),  # newer torch vs lightning 2.6
    (r"pkg_resources is deprecated", UserWarning, ""),  # sed_scores_eval -> dcase_util, at import
    # DDP on a one-channel conv kernel (C, 1, k, k): the size-1 axis's stride differs, the memory does not
    (r"Grad strides do not match bucket view strides", UserWarning, r"torch\."),
)

def quiet_terminal() -> None:
    """Install the filters above; call before the dependencies are imported.

    The ``wstag`` command calls it at start-up; call it from Python for the same
    terminal. Calling it again changes nothing (``filterwarnings`` replaces an identical
    filter), and it re-installs filters that ``warnings.catch_warnings`` has reset.
    """
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for message, category, module in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
