"""Claims as data: each panel's claims, stated in the config as assertions over its tables, are
evaluated on every run with a bootstrap confidence interval and a verdict.

A claim compares a statistic of one selection of rows (``a``), optionally minus the same statistic
of another (``b``), with a threshold:

- ``threshold``: stat(a) op threshold, e.g. the median OOD r² at N = 24 is above 0.9;
- ``trend``: stat(a at x = to) − stat(a at x = from) op threshold (``from`` / ``to`` default to the
  smallest and largest value of the setting ``x`` in the table), e.g. OOD r² rises with N;
- ``compare``: stat(a) − stat(b) op threshold, where a and b may come from different tables: an
  ordering between two series, or a margin over a baseline;
- ``near``: |stat(a) [− stat(b)] − target| ≤ tol, e.g. ID r² within 0.03 of the Bayes observer;
- ``correlation``: Spearman's ρ between a and b over the units both have (paired), op threshold,
  e.g. two disentanglement scores agree across models;
- ``spread``: the mean spread (sd) of units within each value of ``groups`` minus the spread of
  the groups' means, e.g. the seed moves a score more than the hyperparameter does.

Rows are first reduced to independent units (by default one trained network: experiment × task
count × seed; folds and decoder fits are repeated measurements of the same network), by the median
of their values. The statistic (median by default) is taken over units, and its 95 % confidence
interval by a percentile bootstrap that resamples units within each selection. The verdict:

- ``holds`` when the whole interval is on the claimed side of the threshold;
- ``fails`` when the whole interval is on the other side;
- ``inconclusive`` otherwise, and always when a selection has fewer than ``min_units`` units (3 by
  default): too few networks to decide is never a "holds".

``where`` maps a column to a value, a list of values, or comparisons such as ``{">=": 2}`` or
``{">=": "dim"}`` (another column of the same row).

Claims marked ``exact`` are deterministic numerical checks (a theorem evaluated on fixed draws):
their statistic has no sampling interval and is compared as it is. ``deviation_from: c`` replaces
each value by |value − c| (an angle's distance from 90°, a correlation's magnitude).
``paired: true`` (compare, near) takes the statistic of the per-unit differences a − b over the
units both selections have, and resamples the pairs. ``for_each: <column>`` repeats a claim for
every value of a column (one row per value, ``<id>[<value>]``).

Models that failed their health check (a panel with a ``generative_health`` table: any of a
model's checks not healthy, ``disentangle.generative.health``) are left out of every claim of that
panel that does not itself read the health table: a score of a model that did not train says
nothing about its method. The ledger row's note names the models left out.

This module imports no torch (pandas, numpy, scipy): the ledger job runs it on tables alone.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TESTS = ("threshold", "trend", "compare", "near", "correlation", "spread")
OPS = (">", "<", ">=", "<=")
STATS = ("median", "mean", "max", "min", "std")
VERDICTS = ("holds", "fails", "inconclusive")
DEFAULT_UNITS = ("experiment", "model", "family", "code_size", "n_tasks", "seed")
N_BOOT = 2000
LEDGER_COLUMNS = [
    "panel",
    "section",
    "claim",
    "statement",
    "test",
    "statistic",
    "value",
    "ci_low",
    "ci_high",
    "op",
    "threshold",
    "n_a",
    "n_b",
    "verdict",
    "note",
]


class ClaimError(ValueError):
    """A claim cannot be evaluated as written (a bad key, column or table); names the claim."""


@dataclass(frozen=True)
class Selection:
    """Rows of one table kind matching ``where`` (column → value or list of values)."""

    table: str
    where: dict = field(default_factory=dict)
    value: str | None = None  # the column measured; the claim's ``value`` when not given


@dataclass(frozen=True)
class Claim:
    """One claim, parsed from the config (see the module docstring)."""

    id: str
    statement: str
    test: str
    a: Selection
    b: Selection | None = None
    x: str | None = None
    groups: str | None = None
    x_from: object = None
    x_to: object = None
    op: str = ">"
    threshold: float = 0.0
    target: float | None = None
    tol: float | None = None
    stat: str = "median"
    value: str = "value"
    units: tuple[str, ...] | None = None
    min_units: int = 3
    exact: bool = False
    paired: bool = False
    for_each: str | None = None
    deviation_from: float | None = None

    @classmethod
    def from_dict(cls, entry: dict, where: str = "claim") -> Claim:
        """Parse a config entry; a ClaimError names ``where`` and the bad key."""
        entry = dict(entry)
        known = {
            "id", "statement", "test", "table", "where", "a", "b", "x", "from", "to", "op",
            "threshold", "target", "tol", "stat", "value", "units", "min_units", "exact",
            "for_each", "deviation_from", "groups", "paired",
        }  # fmt: skip
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ClaimError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(known)}")
        for key in ("id", "statement", "test"):
            if key not in entry:
                raise ClaimError(f"{where}: the key {key!r} is missing")
        test = entry["test"]
        if test not in TESTS:
            raise ClaimError(f"{where}.test = {test!r}: expected one of {TESTS}")

        def selection(node, name) -> Selection:
            if node is None:
                if "table" not in entry:
                    raise ClaimError(f"{where}: give 'table' (and 'where') or '{name}'")
                return Selection(entry["table"], dict(entry.get("where") or {}))
            if not isinstance(node, dict) or "table" not in node:
                raise ClaimError(f"{where}.{name}: expected a mapping with 'table' and 'where'")
            extra = sorted(set(node) - {"table", "where", "value"})
            if extra:
                raise ClaimError(f"{where}.{name}: unknown key(s) {extra}")
            return Selection(node["table"], dict(node.get("where") or {}), node.get("value"))

        a = selection(entry.get("a"), "a")
        b = selection(entry["b"], "b") if "b" in entry else None
        if test in ("compare", "correlation") and b is None:
            raise ClaimError(f"{where}: a '{test}' claim needs 'b'")
        if test in ("threshold", "trend") and b is not None:
            raise ClaimError(f"{where}: a '{test}' claim takes no 'b'")
        if entry.get("paired") and (b is None or test not in ("compare", "near")):
            raise ClaimError(f"{where}: 'paired' applies to a 'compare' or 'near' claim with 'b'")
        if test == "spread" and not entry.get("groups"):
            raise ClaimError(f"{where}: a 'spread' claim needs 'groups' (e.g. the swept value)")
        if test == "spread" and b is not None:
            raise ClaimError(f"{where}: a 'spread' claim takes no 'b'")
        if test == "trend" and not entry.get("x"):
            raise ClaimError(f"{where}: a 'trend' claim needs 'x' (the setting it runs over)")
        if test == "near" and (entry.get("target") is None or entry.get("tol") is None):
            raise ClaimError(f"{where}: a 'near' claim needs 'target' and 'tol'")
        op = entry.get("op", ">")
        if op not in OPS:
            raise ClaimError(f"{where}.op = {op!r}: expected one of {OPS}")
        stat = entry.get("stat", "median")
        if stat not in STATS:
            raise ClaimError(f"{where}.stat = {stat!r}: expected one of {STATS}")
        numbers = {}
        for key in ("threshold", "target", "tol", "deviation_from"):
            if entry.get(key) is not None:
                try:
                    numbers[key] = float(entry[key])
                except (TypeError, ValueError):
                    raise ClaimError(f"{where}.{key} = {entry[key]!r}: expected a number") from None
                if not math.isfinite(numbers[key]):
                    raise ClaimError(f"{where}.{key} = {entry[key]!r}: expected a finite number")
        min_units = entry.get("min_units", 3)
        if not isinstance(min_units, int) or isinstance(min_units, bool) or min_units < 1:
            raise ClaimError(f"{where}.min_units = {min_units!r}: expected an integer >= 1")
        units = entry.get("units")
        return cls(
            id=str(entry["id"]),
            statement=str(entry["statement"]),
            test=test,
            a=a,
            b=b,
            x=entry.get("x"),
            groups=entry.get("groups"),
            x_from=entry.get("from"),
            x_to=entry.get("to"),
            op=op,
            threshold=numbers.get("threshold", 0.0),
            target=numbers.get("target"),
            tol=numbers.get("tol"),
            stat=stat,
            value=entry.get("value", "value"),
            units=tuple(units) if units is not None else None,
            min_units=min_units,
            exact=bool(entry.get("exact", False)),
            paired=bool(entry.get("paired", False)),
            for_each=entry.get("for_each"),
            deviation_from=numbers.get("deviation_from"),
        )

    @property
    def tables(self) -> set[str]:
        return {self.a.table} | ({self.b.table} if self.b else set())


#: where-values that stand for the largest or smallest value a numeric column takes in the table
#: (e.g. ``frequency: max``, the top of a sweep whose grid differs between presets)
EXTREMES = ("max", "min")


def _matches(df: pd.DataFrame, where: dict, claim_id: str) -> pd.Series:
    keep = pd.Series(True, index=df.index)
    for column, wanted in where.items():
        if column not in df.columns:
            raise ClaimError(
                f"claim {claim_id!r}: column {column!r} is not in the table; it has "
                f"{', '.join(map(str, df.columns))}"
            )
        col = df[column]
        if isinstance(wanted, dict):  # comparisons: {">=": 2} or {">=": "other_column"}
            for op, rhs in wanted.items():
                if op not in OPS:
                    raise ClaimError(f"claim {claim_id!r}: where.{column}: {op!r} is not in {OPS}")
                other = df[rhs] if isinstance(rhs, str) and rhs in df.columns else rhs
                if isinstance(other, str):
                    raise ClaimError(f"claim {claim_id!r}: where.{column}: no column {rhs!r}")
                left = pd.to_numeric(col, errors="coerce")
                keep &= {">": left > other, "<": left < other, ">=": left >= other,
                         "<=": left <= other}[op]  # fmt: skip
            continue
        if wanted in EXTREMES:  # the largest / smallest value of the column in the table
            numeric = pd.to_numeric(col, errors="coerce")
            if numeric.isna().all():
                raise ClaimError(
                    f"claim {claim_id!r}: where.{column}: {wanted!r} needs a numeric column"
                )
            wanted = float(numeric.max() if wanted == "max" else numeric.min())
        values = wanted if isinstance(wanted, list) else [wanted]
        hit = pd.Series(False, index=df.index)
        for v in values:
            if isinstance(v, float) and not isinstance(col.dtype, pd.CategoricalDtype):
                hit |= np.isclose(pd.to_numeric(col, errors="coerce"), v, rtol=0, atol=1e-9)
            else:
                hit |= col == v
        keep &= hit
    return keep


def unit_series(df: pd.DataFrame, claim: Claim, where: dict, value: str | None = None) -> pd.Series:
    """The selection's values (column ``value``, by default the claim's) reduced to one per unit
    (median over its repeated rows), indexed by the unit's key."""
    value = value or claim.value
    if value not in df.columns:
        raise ClaimError(f"claim {claim.id!r}: the table has no column {value!r}")
    rows = df[_matches(df, where, claim.id)]
    rows = rows[np.isfinite(pd.to_numeric(rows[value], errors="coerce"))]
    values = rows[value].astype(float)
    if claim.deviation_from is not None:  # |value − c|, e.g. an angle's distance from 90°
        values = (values - claim.deviation_from).abs()
    if rows.empty or (claim.exact and claim.units is None):
        return values.reset_index(drop=True)
    units = [u for u in (claim.units or DEFAULT_UNITS) if u in rows.columns]
    if claim.units is not None and len(units) != len(claim.units):
        missing = sorted(set(claim.units) - set(units))
        raise ClaimError(f"claim {claim.id!r}: unit column(s) {missing} are not in the table")
    if not units:
        return values.reset_index(drop=True)
    return rows.assign(**{value: values}).groupby(units, dropna=False)[value].median()


def unit_values(df: pd.DataFrame, claim: Claim, where: dict) -> np.ndarray:
    return unit_series(df, claim, where).to_numpy(dtype=float)


def _spearman(a: np.ndarray, b: np.ndarray):
    """Spearman's rank correlation of paired samples along the last axis (ties take their
    average rank, as bootstrap resamples repeat values)."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a, axis=-1), rankdata(b, axis=-1)
    ra -= ra.mean(axis=-1, keepdims=True)
    rb -= rb.mean(axis=-1, keepdims=True)
    den = np.sqrt((ra**2).sum(axis=-1) * (rb**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ra * rb).sum(axis=-1) / np.where(den > 0, den, 1), 0.0)


def _stat(values: np.ndarray, name: str, axis=None):
    funcs = {"median": np.median, "mean": np.mean, "max": np.max, "min": np.min, "std": np.std}
    return funcs[name](values, axis=axis)


def _bootstrap(a: np.ndarray, b: np.ndarray | None, claim: Claim, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    if claim.test == "correlation":  # resample the pairs together
        idx = rng.integers(0, len(a), (N_BOOT, len(a)))
        lo, hi = np.percentile(_spearman(a[idx], b[idx]), [2.5, 97.5])
        return float(lo), float(hi)
    boot = _stat(a[rng.integers(0, len(a), (N_BOOT, len(a)))], claim.stat, axis=1)
    if b is not None:
        boot = boot - _stat(b[rng.integers(0, len(b), (N_BOOT, len(b)))], claim.stat, axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return float(lo), float(hi)


def _side(lo: float, hi: float, op: str, threshold: float) -> str:
    """holds / fails / inconclusive for an interval against ``op threshold``."""
    if op in (">", ">="):
        above = lo > threshold if op == ">" else lo >= threshold
        below = hi <= threshold if op == ">" else hi < threshold
        return "holds" if above else "fails" if below else "inconclusive"
    under = hi < threshold if op == "<" else hi <= threshold
    over = lo >= threshold if op == "<" else lo > threshold
    return "holds" if under else "fails" if over else "inconclusive"


def _near(lo: float, hi: float, target: float, tol: float) -> str:
    if lo >= target - tol and hi <= target + tol:
        return "holds"
    if hi < target - tol or lo > target + tol:
        return "fails"
    return "inconclusive"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _condition(key, value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}{op}{_fmt(rhs)}" for op, rhs in value.items())
    return f"{key}={'|'.join(map(_fmt, value)) if isinstance(value, list) else _fmt(value)}"


def _describe(sel: Selection, value: str = "value") -> str:
    cond = ", ".join(_condition(k, v) for k, v in sel.where.items())
    column = sel.value or value
    name = f"{sel.table}.{column}" if column != "value" else sel.table
    return f"{name}[{cond}]" if cond else name


def evaluate(claim: Claim, tables: dict[str, pd.DataFrame], seed: int = 0) -> list[dict]:
    """Evaluate ``claim`` on ``tables`` (table kind → one concatenated DataFrame): one ledger row
    per claim (per value of ``for_each``). Raises ClaimError for a claim that cannot be read."""
    for kind in claim.tables:
        if kind not in tables:
            raise ClaimError(
                f"claim {claim.id!r}: table {kind!r} is not among the panel's tables "
                f"({', '.join(sorted(tables))})"
            )
    if claim.for_each:
        col = claim.for_each
        if col not in tables[claim.a.table].columns:
            raise ClaimError(f"claim {claim.id!r}: for_each column {col!r} is not in the table")
        table = tables[claim.a.table]
        selected = table[_matches(table, claim.a.where, claim.id)]  # only the values a selects
        values = sorted(selected[col].dropna().unique().tolist(), key=str)
        rows = []
        for v in values:
            v = v.item() if hasattr(v, "item") else v
            a = Selection(claim.a.table, {**claim.a.where, col: v}, claim.a.value)
            b = (
                Selection(claim.b.table, {**claim.b.where, col: v}, claim.b.value)
                if claim.b
                else None
            )
            if b is not None and col not in tables[b.table].columns:
                b = claim.b  # the reference (e.g. a baseline) has no such column: shared
            changes = {"id": f"{claim.id}[{v}]", "a": a, "b": b, "for_each": None}
            sub = Claim(**{**claim.__dict__, **changes})
            rows += evaluate(sub, tables, seed)
        return rows
    a_sel, b_sel = claim.a, claim.b
    note = ""
    if claim.test == "trend":
        df = tables[a_sel.table]
        if claim.x not in df.columns:
            raise ClaimError(f"claim {claim.id!r}: setting x = {claim.x!r} is not in the table")
        present = df[_matches(df, a_sel.where, claim.id)][claim.x].dropna()
        if present.empty:
            x_from = x_to = None
        else:
            x_from = claim.x_from if claim.x_from is not None else present.min().item()
            x_to = claim.x_to if claim.x_to is not None else present.max().item()
        b_sel = Selection(a_sel.table, {**a_sel.where, claim.x: x_from}, a_sel.value)
        a_sel = Selection(a_sel.table, {**a_sel.where, claim.x: x_to}, a_sel.value)
        if x_from is not None and x_from == x_to:
            note = f"only one value of {claim.x} in this preset"
    if claim.test == "spread":
        return [_spread(claim, tables[a_sel.table], seed)]
    a = unit_series(tables[a_sel.table], claim, a_sel.where, a_sel.value)
    b = unit_series(tables[b_sel.table], claim, b_sel.where, b_sel.value) if b_sel else None
    da, db = _describe(a_sel, claim.value), _describe(b_sel, claim.value) if b_sel else ""
    if claim.deviation_from is not None:  # both terms are |x − c|
        da = f"|x − {claim.deviation_from:g}| of {da}"
        db = f"|x − {claim.deviation_from:g}| of {db}" if db else db
    if (claim.test == "correlation" or claim.paired) and len(a) and len(b):  # pair the units
        if isinstance(a.index, pd.RangeIndex) or isinstance(b.index, pd.RangeIndex):
            raise ClaimError(f"claim {claim.id!r}: pairing needs unit columns (give 'units')")
        common = a.index.intersection(b.index)
        a, b = a.loc[common], b.loc[common]
    if claim.test == "correlation":
        statistic = f"spearman({da}, {db})"
    elif claim.paired:  # the statistic of the per-unit differences
        statistic = f"{claim.stat}({da} − {db}, paired by unit)"
        a, b = a - b, None
    else:
        statistic = f"{claim.stat}({da})" + (f" − {claim.stat}({db})" if b_sel else "")
    a = a.to_numpy(dtype=float)
    b = b.to_numpy(dtype=float) if b is not None else None
    row = {
        "claim": claim.id,
        "statement": claim.statement,
        "test": claim.test,
        "statistic": statistic,
        "op": claim.op if claim.test != "near" else "≈",
        "threshold": claim.target if claim.test == "near" else claim.threshold,
        "n_a": int(len(a)),
        "n_b": int(len(b)) if b is not None else 0,
    }
    if len(a) == 0 or (b is not None and len(b) == 0) or note:
        empty = {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan}
        return [row | empty | {"verdict": "inconclusive", "note": note or "no rows in this run"}]
    if claim.test == "correlation":
        value = float(_spearman(a, b))
    else:
        value = float(_stat(a, claim.stat) - (_stat(b, claim.stat) if b is not None else 0.0))
    if claim.exact:
        lo = hi = value
    else:
        small = min(len(a), len(b) if b is not None else len(a))
        if small < claim.min_units:
            few = f"{small} unit(s) < {claim.min_units}: too few to decide"
            interval = {"ci_low": math.nan, "ci_high": math.nan}
            return [row | interval | {"value": value, "verdict": "inconclusive", "note": few}]
        lo, hi = _bootstrap(a, b, claim, seed ^ zlib.crc32(claim.id.encode()))
    notes = [f"tolerance ±{claim.tol:g}"] if claim.test == "near" else []
    if claim.exact:
        notes.append("no sampling interval: a deterministic check")
    if claim.test == "near":
        verdict = _near(lo, hi, claim.target, claim.tol)
    else:
        verdict = _side(lo, hi, claim.op, claim.threshold)
    note = "; ".join(notes)
    return [row | {"value": value, "ci_low": lo, "ci_high": hi, "verdict": verdict, "note": note}]


def _spread_value(groups: list[np.ndarray]) -> float:
    within = np.mean([g.std(ddof=1) for g in groups])
    between = np.std([g.mean() for g in groups], ddof=1)
    return float(within - between)


def _spread(claim: Claim, df: pd.DataFrame, seed: int) -> dict:
    """Mean spread across units (seeds) within a group minus the spread of the group means
    (across hyperparameter values): > 0 when the seed moves a score more than the setting."""
    if claim.groups not in df.columns:
        raise ClaimError(f"claim {claim.id!r}: groups column {claim.groups!r} is not in the table")
    units = tuple(claim.units or DEFAULT_UNITS)
    keyed = Claim(**{**claim.__dict__, "units": tuple(u for u in units if u in df.columns)})
    rows = df[_matches(df, claim.a.where, claim.id)]
    groups = []
    for _, part in rows.groupby(claim.groups, dropna=False):
        groups.append(unit_series(part, keyed, {}, claim.a.value).to_numpy(dtype=float))
    row = {
        "claim": claim.id,
        "statement": claim.statement,
        "test": "spread",
        "statistic": f"sd within {claim.groups} − sd of means ({_describe(claim.a, claim.value)})",
        "op": claim.op,
        "threshold": claim.threshold,
        "n_a": int(sum(len(g) for g in groups)),
        "n_b": len(groups),
    }
    nan = {"ci_low": math.nan, "ci_high": math.nan}
    if len(groups) < 2 or min(len(g) for g in groups) < 2:
        return row | nan | {"value": math.nan, "verdict": "inconclusive",
                            "note": "needs 2 groups of 2 units or more"}  # fmt: skip
    value = _spread_value(groups)
    small = min(len(g) for g in groups)
    if small < claim.min_units:
        note = f"{small} unit(s) per {claim.groups} < {claim.min_units}: too few to decide"
        return row | nan | {"value": value, "verdict": "inconclusive", "note": note}
    rng = np.random.default_rng(seed ^ zlib.crc32(claim.id.encode()))
    boot = [
        _spread_value([g[rng.integers(0, len(g), len(g))] for g in groups]) for _ in range(N_BOOT)
    ]
    lo, hi = (float(v) for v in np.percentile(boot, [2.5, 97.5]))
    verdict = _side(lo, hi, claim.op, claim.threshold)
    return row | {"value": value, "ci_low": lo, "ci_high": hi, "verdict": verdict, "note": ""}


HEALTH_TABLE = "generative_health"


def unhealthy_models(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The models with a failed check in the panel's health table (none without one)."""
    health = tables.get(HEALTH_TABLE)
    if health is None or health.empty:
        return []
    for column in ("model", "healthy"):
        if column not in health.columns:
            raise ClaimError(f"table {HEALTH_TABLE!r}: no column {column!r}")
    return sorted(set(health.loc[~health["healthy"].astype(bool), "model"]))


def without_models(
    claim: Claim, tables: dict[str, pd.DataFrame], models: list[str]
) -> tuple[dict[str, pd.DataFrame], str]:
    """``tables`` without the rows of ``models`` in the tables ``claim`` reads, and a note naming
    those that were present; a claim on the health table itself keeps every row."""
    if not models or HEALTH_TABLE in claim.tables:
        return tables, ""
    kept, dropped = dict(tables), set()
    for kind in claim.tables:
        table = tables.get(kind)
        if table is None or "model" not in table.columns:
            continue
        bad = table["model"].isin(models)
        dropped |= set(table.loc[bad, "model"])
        kept[kind] = table[~bad]
    if not dropped:
        return tables, ""
    return kept, f"left out, failed their health check: {', '.join(sorted(dropped))}"


def evaluate_panel(
    panel: str, section: str, claims: list[dict], tables: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Every claim of one panel as ledger rows (``LEDGER_COLUMNS``), each on the models that
    passed their health check (the module docstring)."""
    rows = []
    unhealthy = unhealthy_models(tables)
    for i, entry in enumerate(claims):
        claim = Claim.from_dict(entry, f"panels.{panel}.claims[{i}]")
        for kind in claim.tables:  # name a missing table before filtering
            if kind not in tables:
                evaluate(claim, tables)
        used, left_out = without_models(claim, tables, unhealthy)
        for r in evaluate(claim, used):
            if left_out:
                r["note"] = "; ".join(n for n in (r.get("note"), left_out) if n)
            rows.append({"panel": panel, "section": section, **r})
    df = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    return df


def _number(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e4):
        return f"{v:.2e}"
    return f"{v:.3f}"


def _interval(row) -> str:
    if math.isnan(row["ci_low"]):
        return "–"
    if row["ci_low"] == row["ci_high"]:
        return "no interval"
    return f"[{_number(row['ci_low'])}, {_number(row['ci_high'])}]"


VERDICT_MARK = {"holds": "holds", "fails": "**fails**", "inconclusive": "inconclusive"}


def counts_line(df: pd.DataFrame) -> str:
    counts = df["verdict"].value_counts()
    parts = [f"{int(counts.get(v, 0))} {v}" for v in VERDICTS]
    return f"{len(df)} claims: " + ", ".join(parts)


def ledger_markdown(df: pd.DataFrame, preset: str, heading: str = "#") -> str:
    """The ledger as readable Markdown: one table per panel, in ledger order."""
    lines = [
        f"{heading} Claims ledger: preset `{preset}`",
        "",
        "Generated by the workflow from the run's tables (`disentangle.claims`); do not edit.",
        "Each claim is a statistic over units (a network, a model, or what the claim names) with a",
        "95 % bootstrap interval; *holds* / *fails* when the whole interval is on one side of the",
        "threshold, *inconclusive* otherwise or with fewer than 3 units per selection.",
        "",
        counts_line(df) + ".",
        "",
    ]
    for panel, rows in df.groupby("panel", sort=False):
        lines += [f"{heading}# `{panel}`", ""]
        lines += [
            "| claim | statistic | value | 95 % CI | test | verdict |",
            "|---|---|---:|---|---|---|",
        ]
        for _, r in rows.iterrows():
            test = f"{r['op']} {_number(r['threshold'])}"
            note = f" ({r['note']})" if isinstance(r["note"], str) and r["note"] else ""
            lines.append(
                f"| {r['claim']}: {r['statement']} | `{r['statistic']}` | {_number(r['value'])} "
                f"| {_interval(r)} | {test} | {VERDICT_MARK[r['verdict']]}{note} |"
            )
        lines.append("")
    return "\n".join(lines)


#: the questions the ``beyond`` section asks, answered in the README from the ledger: each with
#: the (label, panel, claim) rows that answer it; a claim ending in ``[`` stands for every level
#: of a ``for_each`` claim, counted per verdict
BEYOND_QUESTIONS = (
    (
        "Where the input is entangled (the Fourier encoder at the top ω, 24 tasks), are the "
        "networks above a linear integrator of the inputs?",
        (
            ("leaky RNN", "beyond-encoder", "above-integrator-entangled"),
            ("GPT-2", "beyond-encoder-gpt", "above-integrator-entangled"),
        ),
    ),
    (
        "There, are they above the untrained networks?",
        (
            ("leaky RNN", "beyond-encoder", "above-untrained-entangled"),
            ("GPT-2", "beyond-encoder-gpt", "above-untrained-entangled"),
        ),
    ),
    (
        "There, does OOD r² rise with the number of tasks (a growing margin over baselines that "
        "do not depend on it)?",
        (
            ("leaky RNN", "beyond-encoder", "rises-with-tasks-entangled"),
            ("GPT-2", "beyond-encoder-gpt", "rises-with-tasks-entangled"),
        ),
    ),
    (
        "At 24 tasks, are the networks above the integrator for each boundary geometry (the "
        "paper's lines among them) and each noise kind beyond the paper's?",
        (
            ("geometries", "beyond-geometry", "above-integrator-at-24["),
            ("noise kinds", "beyond-noise", "above-integrator-at-24["),
        ),
    ),
)
ANSWER = {"holds": "yes", "fails": "**no**", "inconclusive": "inconclusive"}


def beyond_answers(df: pd.DataFrame) -> list[str]:
    """One line per ``BEYOND_QUESTIONS`` entry with rows in ``df``: each label's answer (yes /
    **no** / inconclusive, from the claim's verdict) with its value and interval, or its levels'
    verdict counts."""
    lines = []
    for question, parts in BEYOND_QUESTIONS:
        answers = []
        for label, panel, claim in parts:
            here = df[df["panel"] == panel]
            if claim.endswith("["):
                rows = here[here["claim"].str.startswith(claim)]
                if len(rows):
                    c = rows["verdict"].value_counts()
                    counts = ", ".join(
                        f"{ANSWER[v]} for {int(c[v])}" for v in VERDICTS if c.get(v, 0)
                    )
                    answers.append(f"{label}: {counts} of {len(rows)}")
                continue
            rows = here[here["claim"] == claim]
            if len(rows):
                r = rows.iloc[0]
                answers.append(
                    f"{label}: {ANSWER[r['verdict']]} ({_number(r['value'])}, CI {_interval(r)})"
                )
        if answers:
            lines.append(f"- {question} " + "; ".join(answers) + ".")
    return lines


def readme_summary(df: pd.DataFrame, preset: str) -> str:
    """The README's results block: counts per verdict and section, every claim of the ``beyond``
    section (what the replication found beyond the paper, holding or not), and every other claim
    that fails."""
    lines = [f"Preset `{preset}`: {counts_line(df)}."]
    if preset == "smoke":
        lines[0] += (
            " The smoke preset trains a few hundred batches with one or two networks per"
            " condition: it exercises the machinery and does not test the paper."
        )
    lines.append("")
    lines += ["| section | holds | fails | inconclusive |", "|---|---:|---:|---:|"]
    for section, rows in df.groupby("section", sort=False):
        c = rows["verdict"].value_counts()
        lines.append(
            f"| {section} | {int(c.get('holds', 0))} | {int(c.get('fails', 0))} "
            f"| {int(c.get('inconclusive', 0))} |"
        )
    beyond = df[df["section"] == "beyond"]
    if len(beyond):  # what the replication found beyond the paper: every claim, whatever it says
        lines += [
            "",
            "Beyond the paper ([docs/beyond.md](docs/beyond.md); every value and interval in "
            "[docs/results.md](docs/results.md)):",
            "",
        ]
        answers = beyond_answers(beyond)
        if answers:
            lines += [*answers, "", "Every beyond claim, by verdict:", ""]
        for panel, rows in beyond.groupby("panel", sort=False):
            parts = []
            for verdict in VERDICTS:
                ids = rows.loc[rows["verdict"] == verdict, "claim"].tolist()
                if ids:
                    parts.append(f"{VERDICT_MARK[verdict]}: {', '.join(ids)}")
            lines.append(f"- `{panel}` ({len(rows)} claims): " + "; ".join(parts) + ".")
    failing = df[(df["verdict"] == "fails") & (df["section"] != "beyond")]  # beyond: above
    if len(failing):
        lines += ["", "Claims that fail on this run:", ""]
        for _, r in failing.iterrows():
            lines.append(
                f"- `{r['panel']}` {r['claim']}: {r['statement']} "
                f"({_number(r['value'])}, CI {_interval(r)}; claimed {r['op']} "
                f"{_number(r['threshold'])})"
            )
    return "\n".join(lines)
