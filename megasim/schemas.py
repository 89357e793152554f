"""Request schemas of MEGA's push-leads endpoints, as the seeds' OpenAPI states them."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from gateway.mega.contract import (
    LEAD_LINES,
    MAX_BULK_ROWS,
    ON_DUPLICATE,
    SOURCE_PLATFORMS,
    SOURCE_TYPES,
)

SCALARS = (str, int, float, bool, type(None))


class CustomFieldMap(fields.Dict):
    """Slug -> scalar (string | number | boolean | null)."""

    def __init__(self, **kwargs: Any):
        super().__init__(keys=fields.String(), values=fields.Raw(allow_none=True), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        result = super()._deserialize(value, attr, data, **kwargs)
        bad = sorted(k for k, v in result.items() if not isinstance(v, SCALARS))
        if bad:
            raise ValidationError(f"values must be scalars (string, number, boolean, null): "
                                  f"{', '.join(bad)}")
        return result


class SingleLeadSchema(Schema):
    class Meta:
        unknown = RAISE

    contact_name = fields.String()
    contact_phone = fields.String()
    contact_email = fields.Email()
    source_platform = fields.String(validate=validate.OneOf(SOURCE_PLATFORMS))
    source_type = fields.String(validate=validate.OneOf(SOURCE_TYPES))
    stage_slug = fields.String()
    custom_fields = CustomFieldMap()


class BulkLeadRowSchema(SingleLeadSchema):
    row_ref = fields.String()
    owner_id = fields.UUID()
    lead_line = fields.String(validate=validate.OneOf(LEAD_LINES))


class BulkImportSchema(Schema):
    class Meta:
        unknown = RAISE

    leads = fields.List(fields.Nested(BulkLeadRowSchema), required=True)
    on_duplicate = fields.String(load_default="update", validate=validate.OneOf(ON_DUPLICATE))
    dry_run = fields.Boolean(load_default=False)

    @validates("leads")
    def _row_count(self, value: list[Any], **_: Any) -> None:
        if not 1 <= len(value) <= MAX_BULK_ROWS:
            raise ValidationError(f"must hold 1 to {MAX_BULK_ROWS} rows, got {len(value)}")


def flatten_messages(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested messages as `path: message` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            out.extend(flatten_messages(value, f"{prefix}{key}." if key != "_schema" else prefix))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix.rstrip('.')}: {m}" if prefix else m for m in messages]
    if isinstance(messages, list):
        return [line for m in messages for line in flatten_messages(m, prefix)]
    return [f"{prefix.rstrip('.')}: {messages}"]
