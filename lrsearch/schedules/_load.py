"""Reading a spec from a JSON file: the boundary where a file's problems get its path."""

from __future__ import annotations

import json
from pathlib import Path

from lrsearch.errors import LrsearchError, SpecError
from lrsearch.schedules._spec import ScheduleSpec

__all__ = ["load_spec"]


def load_spec(path: str | Path) -> ScheduleSpec:
    """Read a spec from a JSON file: a spec itself, or an export with a ``schedule`` key.

    Example:
        >>> import tempfile, os
        >>> spec = ScheduleSpec("linear", peak_lr=0.05, total_steps=10, params={"final_ratio": 0})
        >>> path = os.path.join(tempfile.mkdtemp(), "spec.json"); spec.save(path)
        >>> load_spec(path) == spec
        True
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LrsearchError(f"{path}: no such file; expected a schedule spec JSON") from None
    except json.JSONDecodeError as exc:
        raise LrsearchError(f"{path}: not valid JSON ({exc})") from None
    except UnicodeDecodeError as exc:
        raise LrsearchError(f"{path}: not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset "
                            f"{exc.start}); a spec is a JSON file, which is UTF-8") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise LrsearchError(f"{path}: cannot read it ({exc.strerror})") from None
    if isinstance(data, dict) and "schedule" in data and "family" not in data:
        data = data["schedule"]
    try:
        return ScheduleSpec.from_dict(data)
    except SpecError as exc:
        raise SpecError(exc.problems, prefix=f"{path}: ") from None
