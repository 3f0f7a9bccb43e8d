"""Merging a duplicate contact into the one that stays: its notes, activities, deals,
attachments and communications move over, blanks of the survivor are filled from it, and it is
deleted — one transaction, audited on both."""
from sqlalchemy import update

from .. import signals
from ..db import commit, session
from ..errors import Conflict, Invalid, NotFound
from ..models import Activity, Attachment, Communication, Contact, Deal, Note
from ..schemas.base import load_or_invalid
from ..schemas.communications import MergeInput
from . import audit
from .contacts import get_contact

MOVED = (("notes", Note), ("activities", Activity), ("deals", Deal), ("attachments", Attachment),
         ("communications", Communication))
FILLED = ("email", "phone", "job_title", "company", "customer_id", "notes", "vendor_user_id")


def merge(contact_id, data: dict, *, actor_id: int | None) -> Contact:
    """Merge contact ``contact_id`` into ``data["into_id"]``; returns the survivor."""
    source = get_contact(contact_id)
    into_id = load_or_invalid(MergeInput(), data)["into_id"]
    if into_id == source.id:
        raise Invalid({"into_id": ["A contact cannot be merged into itself."]})
    try:
        target = get_contact(into_id)
    except NotFound:
        raise Invalid({"into_id": ["No such contact."]}) from None
    if source.customer_id and target.customer_id and source.customer_id != target.customer_id:
        raise Conflict("Contacts of different customers are not merged: link both to one customer first.")

    moved = {}
    for label, model in MOVED:
        values = {"contact_id": target.id}
        if model is Deal:  # a concurrent edit of a moved deal must not restore the old link
            values["version"] = Deal.version + 1
        result = session.execute(update(model).where(model.contact_id == source.id).values(**values)
                                 .execution_options(synchronize_session=False))
        moved[label] = result.rowcount
    taken = {field: getattr(source, field) for field in FILLED
             if getattr(target, field) in (None, "") and getattr(source, field) not in (None, "")}
    if target.vendor_user_id is None and "vendor_user_id" in taken and target.type not in ("contractor", "vendor"):
        taken.pop("vendor_user_id")
    source_name, source_email = source.full_name, source.email
    audit.record("contact", source.id, "deleted", actor_id=actor_id, reason=f"merged into contact #{target.id}",
                 changes={"name": [source_name, None], "email": [source_email, None]})
    signals.send_after_commit(session, signals.contact_deleted, source)
    session.delete(source)
    session.flush()  # the source's email is free before the survivor may take it
    for field, value in taken.items():
        setattr(target, field, value)
    audit.record("contact", target.id, "merged", actor_id=actor_id, reason=f"merged contact #{source.id} ({source_name})",
                 changes={"merged_contact_id": [source.id, None], **{f"moved_{k}": [0, n] for k, n in moved.items()},
                          **{k: [None, str(v)] for k, v in taken.items()}})
    signals.send_after_commit(session, signals.contact_updated, target, changes=sorted(taken) or ["merged"])
    commit()
    return target
