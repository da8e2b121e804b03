"""Turn core results into JSON-ready values: dataclasses to dicts, NaN to null, times to ISO text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Recursively convert dataclasses, tuples, numpy scalars, NaN and datetimes for ``json.dumps``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (int, float)):
        return value
    return str(value)
