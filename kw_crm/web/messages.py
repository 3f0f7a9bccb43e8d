"""Validation messages as a person reads them on a page. Services and the API name a field by
its key (``health_min``: right for a program reading ``error.fields``); a page names it by
its label ("Minimum health"), and a key never reaches the screen. Every page that shows a
service's field messages outside the field itself goes through ``human_messages``."""
import re

# Keys whose label is not just the key with spaces.
LABELS = {
    "health_min": "Minimum health", "health_max": "Maximum health", "health_score": "Health",
    "per_page": "Rows per page", "owner_id": "Owner", "customer_id": "Customer", "contact_id": "Contact",
    "deal_id": "Deal", "due_after": "Due from", "due_before": "Due until", "include_inactive": "Include archived",
    "q": "Search", "value_cents": "Value", "expires_at": "Expiry date", "url": "Address (URL)",
    "followup_days": "Follow-up days",
}
NOT_A_FIELD = {"_schema", "_form", "form"}  # messages about the whole input
_KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def label(key: str) -> str:
    return LABELS.get(key) or key.replace("_", " ").strip().capitalize()


def human_text(message: str) -> str:
    """``message`` with every snake_case key in it written as its label."""
    def replace(match):
        text = label(match.group(0))
        return text if match.start() == 0 else text[0].lower() + text[1:]
    return _KEY.sub(replace, message)


def human_messages(fields: dict | None) -> list[str]:
    """One sentence per message, without field keys; a message that does not name its field
    is prefixed with the field's label ("Minimum health: Must be a whole number from 0 to 100.")."""
    result = []
    for key, messages in (fields or {}).items():
        for message in messages if isinstance(messages, list) else [messages]:
            if isinstance(message, dict):  # a nested schema's fields
                result.extend(human_messages(message))
                continue
            text = human_text(str(message))
            name = label(str(key))
            if key not in NOT_A_FIELD and name.lower() not in text.lower():
                text = f"{name}: {text}"
            if text not in result:
                result.append(text)
    return result
