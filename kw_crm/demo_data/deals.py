"""Demo data: deals (flask demo). Must be safe to run twice."""


def seed(admin_id: int) -> list[str]:
    return []
