"""The `health:` section of the site settings: one entry a check, `warning`, `critical`, `enabled`.

```yaml
health:
  timeout: 2s                 # a server that does not answer within it is `unreachable`
  long_query: {warning: 5min, critical: 30min}
  slot_retained_wal: {warning: 1GB, critical: 10GB}
  connections: {warning: 80%}  # the other keys keep their defaults
  disk_space: {warning: 10%, critical: 5%}   # free space: lower is worse
  log_errors: {enabled: false}
```

An entry given in part is merged over its defaults, so `{warning: 1h}` for
long_query keeps critical at 30 min, and is refused: a warning comes before critical.
`null` for warning or critical means "never at that level". Unknown keys are refused
(a mistyped threshold would otherwise silently keep the default). Defaults were chosen
from check_pgactivity's semantics (its services take thresholds on the command line
and have no defaults of their own, except 1 checksum failure being critical).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from . import units

Seconds = Annotated[float, BeforeValidator(units.parse_duration)]
Bytes = Annotated[int, BeforeValidator(units.parse_size)]
Percent = Annotated[float, BeforeValidator(units.parse_percent)]
Count = Annotated[int, BeforeValidator(units.parse_count)]
#: What a threshold's number is in: seconds, bytes, percent, or a plain count.
Unit = Literal["s", "B", "%", ""]


class Toggle(BaseModel):
    """A check without levels: its severity is its own (down is critical)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


class Levels(Toggle):
    """A measured value against two levels; higher is worse unless `lower_is_worse`."""

    UNIT: ClassVar[Unit] = ""
    lower_is_worse: ClassVar[bool] = False
    warning: float | None = None
    critical: float | None = None

    @property
    def unit(self) -> Unit:
        return self.UNIT

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        w, c = self.warning, self.critical
        if w is None or c is None:
            return self
        if self.lower_is_worse and w < c:
            raise ValueError(
                f"warning ({self.show(w)}) is below critical ({self.show(c)}); "
                "for free space the warning level is the higher one"
            )
        if not self.lower_is_worse and w > c:
            raise ValueError(
                f"warning ({self.show(w)}) is above critical ({self.show(c)}); "
                "a warning comes before critical"
            )
        return self

    def show(self, value: float) -> str:
        """`value` in words, in this check's unit."""
        if self.unit == "s":
            return units.format_duration(value)
        if self.unit == "B":
            return units.format_size(value)
        if self.unit == "%":
            return units.format_percent(value)
        return f"{value:g}"

    def severity(self, value: float) -> Literal["warning", "critical"] | None:
        """The level `value` reaches: at or beyond a threshold (below, for free space)."""
        for level, threshold in _levels(self):
            if threshold is None:
                continue
            if value <= threshold if self.lower_is_worse else value >= threshold:
                return level
        return None

    def threshold(self, level: str | None) -> float | None:
        return self.critical if level == "critical" else self.warning


def _levels(levels: Levels) -> tuple[tuple[Literal["warning", "critical"], float | None], ...]:
    return (("critical", levels.critical), ("warning", levels.warning))


class DurationLevels(Levels):
    UNIT: ClassVar[Unit] = "s"
    warning: Seconds | None = None
    critical: Seconds | None = None


class SizeLevels(Levels):
    UNIT: ClassVar[Unit] = "B"
    warning: Bytes | None = None
    critical: Bytes | None = None


class PercentLevels(Levels):
    UNIT: ClassVar[Unit] = "%"
    warning: Percent | None = None
    critical: Percent | None = None


class FreeSpaceLevels(PercentLevels):
    """Free space in percent of the file system: the lower, the worse."""

    lower_is_worse: ClassVar[bool] = True


class CountLevels(Levels):
    warning: Count | None = None
    critical: Count | None = None


class LogLevels(CountLevels):
    """ERROR, FATAL and PANIC lines written within `window` (a PANIC is always critical)."""

    window: Seconds = Field(default=300.0, gt=0)


class LagLevels(Levels):
    """Replay lag as a duration (`30s`, `5min`; a bare number is seconds) or a size (`64MB`).

    Both levels must be of the same kind; which kind is measured follows them.
    """

    measure: Literal["s", "B"] = "s"

    @property
    def unit(self) -> Unit:  # the kind is chosen by the values given, not by the class
        return self.measure

    @model_validator(mode="before")
    @classmethod
    def _kind(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        kinds: dict[str, str] = {}
        for level in ("warning", "critical"):
            raw = data.get(level)
            if raw is None:
                continue
            if isinstance(raw, str) and _has_size_unit(raw):
                data[level], kinds[level] = units.parse_size(raw), "B"
            elif isinstance(raw, str) or "measure" not in data:
                try:
                    data[level], kinds[level] = units.parse_duration(raw), "s"
                except ValueError as exc:
                    raise ValueError(f"{level}: {exc}") from None
            else:  # a number carried over from the defaults, in the unit they say
                kinds[level] = str(data["measure"])
        found = set(kinds.values())
        if len(found) > 1:
            raise ValueError(
                f"warning is a {_KIND[kinds['warning']]} but critical is a {_KIND[kinds['critical']]}: "
                "give both as durations (30s, 5min) or both as sizes (64MB, 1GB)"
            )
        if found:
            data["measure"] = found.pop()
        return data


_KIND = {"s": "duration", "B": "size"}


def _has_size_unit(text: str) -> bool:
    unit = text.strip().lstrip("0123456789. ").lower()
    return bool(unit) and unit in units.SIZES and unit != "m"


class HealthSettings(BaseModel):
    """Thresholds of every health check; the defaults are in the README's table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: How long a server has to answer the checks' one query (also its statement_timeout).
    timeout: Seconds = Field(default=2.0, gt=0, le=60)
    down: Toggle = Toggle()
    unreachable: Toggle = Toggle()
    connections: PercentLevels = PercentLevels(warning=80, critical=90)
    long_query: DurationLevels = DurationLevels(warning=300, critical=1800)
    idle_in_transaction: DurationLevels = DurationLevels(warning=300, critical=1800)
    blocked: DurationLevels = DurationLevels(warning=30, critical=300)
    wraparound: PercentLevels = PercentLevels(warning=50, critical=75)
    replication_lag: LagLevels = LagLevels(warning=60, critical=300, measure="s")
    slot_retained_wal: SizeLevels = SizeLevels(warning=1024**3, critical=10 * 1024**3)
    disk_space: FreeSpaceLevels = FreeSpaceLevels(warning=10, critical=5)
    archive_failing: DurationLevels = DurationLevels(warning=0, critical=300)
    checksum_failures: CountLevels = CountLevels(warning=1, critical=1)
    log_errors: LogLevels = LogLevels(warning=1, critical=100)
    pending_restart: Toggle = Toggle()

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        """An entry given in part keeps the defaults of the keys it does not name."""
        if not isinstance(data, Mapping):
            return data
        merged = dict(data)
        for name, given in data.items():
            field = cls.model_fields.get(str(name))
            default = field.default if field is not None else None
            if isinstance(given, Mapping) and isinstance(default, BaseModel):
                merged[name] = {**default.model_dump(), **given}
        return merged

    def check(self, code: str) -> Toggle:
        """The entry of check `code`."""
        entry = getattr(self, code)
        assert isinstance(entry, Toggle)
        return entry
