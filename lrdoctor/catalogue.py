"""The rule catalogue: one TOML file per rule in `rules/`, loaded and validated as data."""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lrdoctor.columns import SIGNALS
from lrdoctor.errors import CatalogueError
from lrdoctor.findings import CATEGORIES, SEVERITIES
from lrdoctor.tomlcache import read_toml

RULE_KEYS = {
    "id",
    "name",
    "category",
    "severity",
    "detector",
    "requires",
    "summary",
    "message",
    "recommendation",
    "params",
    "rationale",
    "fixtures",
    "signal",
    "optional",
    "reasons",
    "phrases",
}
PARAM_KEYS = {"default", "help", "min", "max", "choices", "provenance"}
REASON_KEYS = {"message", "recommendation", "severity", "confidence"}
RATIONALE_KEYS = {"what", "why", "example", "limits"}


@dataclass(frozen=True)
class Param:
    """A tunable number of a rule, with its default, meaning and allowed range."""

    name: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    # Where the default comes from: a measurement (with its command) or a source.
    provenance: str = ""

    def coerce(self, value: Any, where: str) -> Any:
        """Check a user-supplied value against this parameter's type and range."""
        from lrdoctor.errors import ConfigError

        kind = type(self.default)
        if kind is bool:
            if isinstance(value, str) and value.lower() in {"true", "false"}:
                value = value.lower() == "true"
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false, got {value!r}")
            return value
        if kind in (int, float):
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    raise ConfigError(f"{where}: expected a number, got {value!r}") from None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{where}: expected a number, got {value!r}")
            if isinstance(value, int) and value.bit_length() > 1000:  # float() would overflow
                raise ConfigError(
                    f"{where}: expected a finite number, got a {value.bit_length()}-bit integer"
                )
            if value != value or value in (float("inf"), float("-inf")):
                # NaN passes every range test (all comparisons are false); inf overflows int.
                raise ConfigError(f"{where}: expected a finite number, got {value!r}")
            if kind is int:
                if float(value) != int(value):
                    raise ConfigError(f"{where}: expected a whole number, got {value!r}")
                value = int(value)
            else:
                value = float(value)
            too_low = self.min is not None and value < self.min
            if too_low or self.max is not None and value > self.max:
                raise ConfigError(f"{where}: {value!r} is out of range [{self.min}, {self.max}]")
            return value
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(self.choices)}")
        return value


@dataclass(frozen=True)
class Reason:
    """The words (and, where it must differ, the severity) for one reason code of a rule."""

    code: str
    message: str | None = None
    recommendation: str | None = None
    severity: str | None = None
    # The measured share of findings of this evidence class that were right (0-1).
    confidence: float | None = None


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue: policy (what, how severe, what to say) over a detector."""

    id: str
    name: str
    category: str
    severity: str
    detector: str
    requires: tuple[str, ...]
    summary: str
    message: str
    # One template, or one per cause (e.g. {lr_too_high = ..., numerical = ...}).
    recommendation: str | dict[str, str]
    params: dict[str, Param] = field(default_factory=dict)
    rationale: dict[str, str] = field(default_factory=dict)
    fixtures: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Signals the detector uses when they are logged (read for column projection).
    optional: tuple[str, ...] = ()
    # For generic (custom) rules: the logged metric they watch.
    signal: str | None = None
    # Reason code -> its words and severity; the rule-level ones are the defaults.
    reasons: dict[str, Reason] = field(default_factory=dict)
    # Slot -> {code: phrase}: a slot that carries a code is written with its phrase.
    phrases: dict[str, dict[str, str]] = field(default_factory=dict)
    path: str = ""

    def recommendation_for(self, cause: str | None) -> str:
        if isinstance(self.recommendation, str):
            return self.recommendation
        return self.recommendation.get(cause or "", self.recommendation.get("default", ""))

    def words(self, reason: str | None, cause: str | None = None) -> tuple[str, str]:
        """(message, recommendation) templates for a reason code (or the older cause)."""
        r = self.reasons.get(reason or "")
        message = r.message if r and r.message is not None else self.message
        if r and r.recommendation is not None:
            return message, r.recommendation
        return message, self.recommendation_for(cause)

    def severity_for(self, reason: str | None) -> str:
        """The rule file's severity for a reason: its own where it has one, else the rule's."""
        r = self.reasons.get(reason or "")
        return r.severity if r and r.severity else self.severity

    def confidence_for(self, reason: str | None) -> float | None:
        r = self.reasons.get(reason or "")
        return r.confidence if r else None

    @property
    def templates(self) -> list[str]:
        recs = self.recommendation
        out = [self.message, *(recs.values() if isinstance(recs, dict) else [recs])]
        for r in self.reasons.values():
            out.extend(t for t in (r.message, r.recommendation) if t is not None)
        for table in self.phrases.values():
            out.extend(table.values())
        return out

    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.params.items()}


def builtin_rules_dir() -> Path:
    """The catalogue inside the installed wheel, or the checkout's `rules/` when editable."""
    packaged = resources.files("lrdoctor") / "_rules"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "rules"


@cache
def load_builtin() -> tuple[Rule, ...]:
    return load_dir(builtin_rules_dir())


# Phrases several rules share (how an LR suggestion was found, the signs of a side); a rule's
# own [phrases.<slot>] take precedence. A folder of custom rules may bring its own.
SHARED_PHRASES = "_phrases.toml"


def load_dir(folder: Path) -> tuple[Rule, ...]:
    if not folder.is_dir():
        raise CatalogueError(
            f"{folder}: no such rules folder", "create it, or fix --rules / rules-dirs"
        )
    shared_file = folder / SHARED_PHRASES
    if not shared_file.is_file():
        shared_file = builtin_rules_dir() / SHARED_PHRASES
    shared = load_shared_phrases(shared_file)
    rules = [
        load_file(p, shared) for p in sorted(folder.glob("*.toml")) if not p.name.startswith("_")
    ]
    if not rules:
        raise CatalogueError(f"{folder}: holds no rule files (*.toml)")
    return tuple(sorted(rules, key=lambda r: r.id))


def load_shared_phrases(path: Path) -> dict[str, dict[str, str]]:
    """The [phrases.<slot>] tables of the shared phrase file (none when it is absent)."""
    if not path.is_file():
        return {}
    try:
        data = read_toml(path)
    except (OSError, ValueError) as exc:  # ValueError: bad TOML, not UTF-8, 4,300+ digits
        raise CatalogueError(f"{path}: not a valid phrase file ({exc})") from exc
    if set(data) - {"phrases"}:
        raise CatalogueError(f"{path}: a phrase file holds only [phrases.<slot>] tables")

    def fail(problem: str) -> CatalogueError:
        return CatalogueError(f"{path}: {problem}")

    return _phrases(data.get("phrases", {}), fail)


def load_file(path: Path, shared: dict[str, dict[str, str]] | None = None) -> Rule:
    """Parse and validate one rule file; nothing in it is executed or evaluated."""
    try:
        data = read_toml(path)
    except (OSError, ValueError) as exc:  # ValueError: bad TOML, not UTF-8, 4,300+ digits
        raise CatalogueError(f"{path}: not a valid rule file ({exc})") from exc

    def fail(problem: str) -> CatalogueError:
        return CatalogueError(f"{path}: {problem}")

    _check_header(data, fail)
    requires, optional = tuple(data.get("requires", ())), tuple(data.get("optional", ()))
    for sig in (*requires, *optional):
        if sig not in SIGNALS:
            raise fail(f"requires unknown signal {sig!r}; known: {', '.join(SIGNALS)}")
    rationale = data.get("rationale", {})
    if set(rationale) - RATIONALE_KEYS:
        raise fail(f"rationale has unknown keys; valid: {', '.join(sorted(RATIONALE_KEYS))}")
    recommendation = data.get("recommendation", "")
    reasons = _reasons(data.get("reasons", {}), fail)
    templates = [
        data["message"],
        *(recommendation.values() if isinstance(recommendation, dict) else [recommendation]),
    ]
    for template in templates:
        _check_template(template, fail)
    templates += [t for r in reasons.values() for t in (r.message, r.recommendation) if t]
    return Rule(
        id=data["id"],
        name=data["name"],
        category=data["category"],
        severity=data["severity"],
        detector=data["detector"],
        requires=requires,
        summary=data["summary"],
        message=data["message"],
        recommendation=recommendation,
        params=_params(data.get("params", {}), fail),
        rationale=rationale,
        fixtures={k: tuple(v) for k, v in data.get("fixtures", {}).items()},
        optional=optional,
        signal=data.get("signal"),
        reasons=reasons,
        phrases=_with_shared(_phrases(data.get("phrases", {}), fail), shared or {}, templates),
        path=str(path),
    )


def _check_header(data: dict, fail) -> None:
    """Known keys only; the identity strings present; category and severity known."""
    unknown = set(data) - RULE_KEYS
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}; valid keys: {', '.join(sorted(RULE_KEYS))}")
    for key in ("id", "name", "category", "severity", "detector", "summary", "message"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise fail(f"{key!r} must be a non-empty string")
    if data["category"] not in CATEGORIES:
        raise fail(f"category {data['category']!r} is not one of {', '.join(CATEGORIES)}")
    if data["severity"] not in SEVERITIES:
        raise fail(f"severity {data['severity']!r} is not one of {', '.join(SEVERITIES)}")


def _params(table: dict, fail) -> dict[str, Param]:
    """The [params.<name>] tables: each needs a default; its keys are PARAM_KEYS only."""
    params = {}
    for pname, spec in table.items():
        if not isinstance(spec, dict) or "default" not in spec:
            raise fail(f"parameter {pname!r} needs a table with a default")
        if set(spec) - PARAM_KEYS:
            raise fail(f"parameter {pname!r} has unknown keys {sorted(set(spec) - PARAM_KEYS)}")
        params[pname] = Param(
            name=pname,
            default=spec["default"],
            help=spec.get("help", ""),
            min=spec.get("min"),
            max=spec.get("max"),
            choices=tuple(spec.get("choices", ())),
            provenance=spec.get("provenance", ""),
        )
    return params


def _reasons(table: Any, fail) -> dict[str, Reason]:
    if not isinstance(table, dict):
        raise fail("`reasons` must hold tables like [reasons.<code>]")
    out = {}
    for code, spec in table.items():
        where = f"reasons.{code}"
        if not isinstance(spec, dict):
            raise fail(f"{where} must be a table")
        if set(spec) - REASON_KEYS:
            raise fail(
                f"{where} has unknown keys {sorted(set(spec) - REASON_KEYS)}; "
                f"valid: {', '.join(sorted(REASON_KEYS))}"
            )
        for key in ("message", "recommendation"):
            if key in spec:
                if not isinstance(spec[key], str):
                    raise fail(f"{where}.{key} must be a string")
                _check_template(spec[key], fail)
        severity = spec.get("severity")
        if severity is not None and severity not in SEVERITIES:
            raise fail(f"{where}.severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        confidence = spec.get("confidence")
        if confidence is not None and (
            isinstance(confidence, bool)
            or not isinstance(confidence, int | float)
            or not 0 <= confidence <= 1
        ):
            raise fail(f"{where}.confidence must be a number from 0 to 1")
        out[code] = Reason(
            code,
            spec.get("message"),
            spec.get("recommendation"),
            severity,
            None if confidence is None else float(confidence),
        )
    return out


def _with_shared(
    own: dict[str, dict[str, str]], shared: dict[str, dict[str, str]], templates: list[str]
) -> dict[str, dict[str, str]]:
    """The rule's phrases plus the shared tables of the slots its templates (or phrases) use."""
    out = dict(own)
    pending = [t for t in templates] + [p for table in own.values() for p in table.values()]
    while pending:
        for slot in template_fields(pending.pop()):
            if slot in shared and slot not in out:
                out[slot] = dict(shared[slot])
                pending.extend(out[slot].values())
    return out


def _phrases(table: Any, fail) -> dict[str, dict[str, str]]:
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise fail('`phrases` must hold tables like [phrases.<slot>] of code = "text"')
    for slot, codes in table.items():
        for code, text in codes.items():
            if not isinstance(text, str):
                raise fail(f"phrases.{slot}.{code} must be a string")
            _check_template(text, fail)
    return {slot: dict(codes) for slot, codes in table.items()}


def build_catalogue(rules_dirs: Sequence[Path] = ()) -> tuple[Rule, ...]:
    """The built-in rules plus the user's rule folders, each bound to an existing detector."""
    rules = list(load_builtin())
    for folder in rules_dirs:
        for rule in load_dir(Path(folder)):
            clash = next((r for r in rules if r.id == rule.id or r.name == rule.name), None)
            if clash is not None:
                raise CatalogueError(
                    f"{rule.path}: rule {rule.id} {rule.name} clashes with {clash.id} "
                    f"{clash.name} ({clash.path}); give it another id and name"
                )
            rules.append(bind(rule))
    return tuple(sorted(rules, key=lambda r: r.id))


def bind(rule: Rule) -> Rule:
    """Check a user's rule against the detector it names; returns it with the detector's
    choices on its text parameters (so `--set` and the config are checked against them)."""
    import inspect

    from lrdoctor.detectors import REGISTRY, SLOTS
    from lrdoctor.detectors.generic import CHOICES
    from lrdoctor.errors import ConfigError

    fn = REGISTRY.get(rule.detector)
    if fn is None:
        raise CatalogueError(
            f"{rule.path}: unknown detector {rule.detector!r}; "
            f"detectors: {', '.join(sorted(REGISTRY))}"
        )
    signature = inspect.signature(fn).parameters
    accepted = [n for n in list(signature)[1:] if n != "signal"]
    takes_signal = "signal" in signature
    if takes_signal and not rule.signal:
        raise CatalogueError(
            f'{rule.path}: detector {rule.detector!r} needs `signal = "<column name>"`'
        )
    if rule.signal and not takes_signal:
        generic = [n for n, f in REGISTRY.items() if "signal" in inspect.signature(f).parameters]
        raise CatalogueError(
            f"{rule.path}: detector {rule.detector!r} does not watch a `signal`; drop the key "
            f"or use a generic detector: {', '.join(sorted(generic))}"
        )
    unfilled = unfilled_slots(rule)
    if unfilled:
        fills = sorted(SLOTS[rule.detector] | set(rule.params) | EVIDENCE_SLOTS)
        raise CatalogueError(
            f"{rule.path}: template slot {unfilled[0]!r} is not filled by detector "
            f"{rule.detector!r}; it fills: {', '.join(fills)}"
        )
    params = {}
    for name, param in rule.params.items():
        if name not in accepted:
            raise CatalogueError(
                f"{rule.path}: detector {rule.detector!r} has no parameter {name!r}; "
                f"its parameters: {', '.join(accepted)}"
            )
        allowed = CHOICES.get(rule.detector, {}).get(name)
        if allowed and not param.choices:
            param = replace(param, choices=allowed)
        try:
            param.coerce(param.default, f"{rule.path}: params.{name}.default")
        except ConfigError as exc:
            raise CatalogueError(str(exc)) from None
        params[name] = param
    return replace(rule, params=params)


# Slots every template may name: the evidence's own fields (filled when the detector measured
# them) and the watched signal of a generic rule; the rule's parameters are slots too.
EVIDENCE_SLOTS = frozenset(
    {"observed", "limit", "step", "step_end", "cause", "suggested_lr", "optimizer", "signal"}
)


def unfilled_slots(rule: Rule) -> list[str]:
    """Template slots the rule's detector never fills (empty when it does not declare slots)."""
    from lrdoctor.detectors import SLOTS

    declared = SLOTS.get(rule.detector)
    if declared is None:
        return []
    known = EVIDENCE_SLOTS | declared | set(rule.params)
    return sorted({f for t in rule.templates for f in template_fields(t)} - known)


def template_fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def _check_template(template: str, fail) -> None:
    # Templates name plain slots only: no attribute or index access, so a rule file cannot
    # reach into Python objects.
    try:
        fields = template_fields(template)
    except ValueError as exc:
        raise fail(f"malformed template {template!r} ({exc})") from exc
    bad = [f for f in fields if not f.isidentifier()]
    if bad:
        raise fail(f"template slots must be plain names, not {bad}")
    # No conversions (!r) and no slots nested in a format spec: the spec is a fixed word.
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name and (conversion is not None or "{" in (spec or "")):
            raise fail(
                f"template slot {name!r} takes a plain format spec only (no !r, no nested {{…}})"
            )
