"""What a folder holds: result folders (runs, comparisons, sweeps) and checkpoints.

``scan(folder)`` walks a folder and describes each item it finds — complete or not, what
kind, its scenarios and seeds, how its configuration differs from the defaults, and what
produced it (package and Mesa versions, when) — reading only the ``COMPLETE`` marker, the
store's ``runs`` table and checkpoint headers, never the results themselves. It is what
``admarket status DIR`` prints. The journal a stopped sweep or compare left beside its
folder (:mod:`admarket.outputs.sweep_journal`, :mod:`admarket.outputs.compare_journal`) is
listed too, with how to resume it: it sits in the folder that holds the study's folder, so
that is the one to scan.

A result is complete only if ``admarket query`` and ``admarket report`` would take it: the
check they apply (:func:`admarket.outputs.manifest.check_complete`: every file the marker
lists is there with its size, so one ``stat`` per file and no hashing), and no file
admarket did not write in it (which ``query``, ``report`` and a new result into the folder
refuse). Otherwise it is *damaged*, with their one-line reason.

A study or run still being written is told from a stopped one by who holds its output
lock (:func:`admarket.outputs.output_lock.holder`, which reads the lock without taking it).

What a killed admarket process left is listed as a *leftover*, with what it is and whether
it is safe to delete: a build folder or a result moved aside beside a result's folder
(:data:`admarket.outputs.publish.LEFTOVER`), and the copy of a ledger that ``run
--ledger-out FILE`` staged beside FILE (:data:`admarket.atomic.STAGED`; an empty one only beside a
ledger) — only what admarket's own naming and content show it made, and nothing a live
process holds.

The parts: the walk (:mod:`.folder`), an item and its texts (:mod:`.item`), and each kind
of item — result folders and their damage (:mod:`.result_folder`), checkpoints
(:mod:`.checkpoints`), stopped studies' journals (:mod:`.journals`), and leftovers
(:mod:`.leftovers`).
"""

from admarket.outputs.inventory.folder import OWNED_DIRS, scan
from admarket.outputs.inventory.item import Item, config_diff, config_text, seed_text
from admarket.outputs.inventory.result_folder import damage

__all__ = ["OWNED_DIRS", "Item", "config_diff", "config_text", "damage", "scan", "seed_text"]
