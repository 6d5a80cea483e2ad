"""The runReport response, parsed at the boundary. GA4 sends every value as a string; the metric
headers say how to read it (``TYPE_INTEGER`` -> int, currency/float -> Decimal)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marketing_pipeline.http import MalformedRecord

OTHER = "(other)"
INTEGER_TYPES = {"TYPE_INTEGER"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Header(_Model):
    name: str
    type: str | None = None


class Value(_Model):
    value: str | None = None


class Row(_Model):
    dimension_values: list[Value] = Field(default_factory=list, alias="dimensionValues")
    metric_values: list[Value] = Field(default_factory=list, alias="metricValues")


class Metadata(_Model):
    currency_code: str | None = Field(default=None, alias="currencyCode")
    time_zone: str | None = Field(default=None, alias="timeZone")
    data_loss_from_other_row: bool = Field(default=False, alias="dataLossFromOtherRow")


class ReportPage(_Model):
    dimension_headers: list[Header] = Field(default_factory=list, alias="dimensionHeaders")
    metric_headers: list[Header] = Field(default_factory=list, alias="metricHeaders")
    rows: list[Row] = Field(default_factory=list)
    row_count: int = Field(default=0, alias="rowCount")
    metadata: Metadata = Field(default_factory=Metadata)
    property_quota: dict | None = Field(default=None, alias="propertyQuota")

    def records(self) -> list[dict]:
        """Rows as {dimension or metric name: typed value}; a value that does not fit its type raises."""
        dims = [h.name for h in self.dimension_headers]
        metrics = [(h.name, h.type) for h in self.metric_headers]
        out = []
        for n, row in enumerate(self.rows):
            if len(row.dimension_values) != len(dims) or len(row.metric_values) != len(metrics):
                raise MalformedRecord(
                    "GA4",
                    "report row",
                    str(n),
                    "value count does not match the headers",
                    row.model_dump(by_alias=True),
                )
            record = {name: v.value for name, v in zip(dims, row.dimension_values, strict=True)}
            for (name, kind), v in zip(metrics, row.metric_values, strict=True):
                record[name] = _typed(name, kind, v.value, row)
            out.append(record)
        return out


def _typed(name: str, kind: str | None, value: str | None, row: Row) -> int | Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MalformedRecord(
            "GA4",
            "report row",
            name,
            f"{name} value {value!r} is not a number",
            row.model_dump(by_alias=True),
        ) from None
    if kind in INTEGER_TYPES:
        if number != number.to_integral_value():
            raise MalformedRecord(
                "GA4",
                "report row",
                name,
                f"{name} value {value!r} is not an integer",
                row.model_dump(by_alias=True),
            )
        return int(number)
    return number


def parse_page(raw: dict) -> ReportPage:
    try:
        return ReportPage.model_validate(raw)
    except ValidationError as exc:
        raise MalformedRecord.from_validation("GA4", "runReport response", None, exc, raw) from None
