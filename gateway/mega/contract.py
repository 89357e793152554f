"""MEGA push-leads contract constants, shared by the gateway and megasim."""

SOURCE_PLATFORMS = (
    "google_ads", "meta_ads", "google_organic", "direct", "referral", "hubspot",
    "zoho", "ghl", "shopify", "zenmaid", "lead_docket", "salesforce",
)
SOURCE_TYPES = ("form", "phone_call", "email", "chat", "sms", "manual", "import")
LEAD_LINES = ("buyer", "seller")
ON_DUPLICATE = ("update", "skip")
ROW_STATUSES = ("created", "updated", "skipped", "failed")

WRITE_SCOPE = "public_api:leads:write"
SINGLE_PATH = "/api/agents/crm/leads"
BULK_PATH = "/api/agents/crm/leads/bulk"
MAX_BULK_ROWS = 500

# Fields a bulk row may carry; the single endpoint takes the same minus the bulk-only ones.
CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_email")
BULK_ONLY_FIELDS = ("row_ref", "owner_id", "lead_line")
LEAD_FIELDS = (
    *CONTACT_FIELDS, "source_platform", "source_type", "stage_slug", "owner_id",
    "lead_line", "custom_fields",
)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "authorization_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(status: int, message: str) -> dict[str, dict[str, object]]:
    """MEGA's error shape, which leadgate's own answers use too."""
    return {"error": {"type": ERROR_TYPES.get(status, "api_error"), "code": status,
                      "message": message}}
