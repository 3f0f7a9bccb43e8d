"""Contacts API: contacts, bulk actions, timeline, notes, logging activities, attachments."""
from flask import jsonify, request, send_file
from marshmallow import ValidationError

from ..db import MAX_ID
from ..errors import Invalid
from ..guard import current_actor, require_delete_permission
from ..inputs import MULTIPART_OVERHEAD, body_limit, parse_id
from ..models import CONTACT_STATUSES, CONTACT_TYPES
from ..schemas.activities import ActivityOutput, ContactActivityInput
from ..schemas.contacts import (
    AttachmentOutput,
    BulkInput,
    ContactInput,
    ContactOutput,
    NoteInput,
    NoteOutput,
    TimelineEntry,
)
from ..services import activities, attachments
from ..services import contacts as service
from . import api_bp, keyset, list_response, load, page_params

contact_out = ContactOutput()
activity_out = ActivityOutput()
attachment_out = AttachmentOutput()


def dump_contact(contact, deal_count: int | None = None) -> dict:
    data = contact_out.dump(contact)
    data["deal_count"] = deal_count if deal_count is not None else service.deal_counts([contact.id]).get(contact.id, 0)
    return data


def _int_arg(name: str, errors: dict) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    value = parse_id(raw)
    if value is None:
        errors[name] = [f"{name} must be a whole number from 1 to {MAX_ID}."]
    return value


def _filters() -> service.ContactFilters:
    errors: dict = {}
    kind, status = request.args.get("type") or None, request.args.get("status") or None
    if kind and kind not in CONTACT_TYPES:
        errors["type"] = [f"Pick one of: {', '.join(CONTACT_TYPES)}."]
    if status and status not in CONTACT_STATUSES:
        errors["status"] = [f"Pick one of: {', '.join(CONTACT_STATUSES)}."]
    q = request.args.get("q") or None
    if q and len(q) > 200:
        errors["q"] = ["Search text has at most 200 characters."]
    elif q and any(ch < " " for ch in q):
        errors["q"] = ["Control characters are not allowed."]
    filters = service.ContactFilters(type=kind, status=status, q=q, owner_id=_int_arg("owner_id", errors),
                                     customer_id=_int_arg("customer_id", errors))
    if errors:
        raise Invalid(errors)
    return filters


@api_bp.get("/contacts")
def list_contacts():
    """Offset paging as every list, plus keyset paging for deep pages: a full page carries
    ``X-Next-Cursor``; pass it back as ``after`` (instead of ``offset``) for the next page."""
    filters = _filters()
    limit, offset = page_params()
    after = keyset.cursor_arg("after", offset)
    rows, total = service.list_contacts(filters, limit, offset, after=after)
    counts = service.deal_counts([c.id for c in rows])
    response = list_response([dump_contact(c, counts.get(c.id, 0)) for c in rows], total)
    if len(rows) == limit:
        response.headers["X-Next-Cursor"] = keyset.encode(service.sort_key(rows[-1]))
    return response


@api_bp.post("/contacts")
def create_contact():
    contact = service.create_contact(load(ContactInput()), actor_id=current_actor().id)
    return jsonify(dump_contact(contact, 0)), 201


@api_bp.get("/contacts/<int:contact_id>")
def get_contact(contact_id: int):
    return jsonify(dump_contact(service.get_contact(contact_id)))


@api_bp.patch("/contacts/<int:contact_id>")
def update_contact(contact_id: int):
    contact = service.get_contact(contact_id)
    values = load(ContactInput(), partial=True)
    return jsonify(dump_contact(service.update_contact(contact, values, actor_id=current_actor().id)))


@api_bp.delete("/contacts/<int:contact_id>")
def delete_contact(contact_id: int):
    contact = service.get_contact(contact_id)
    require_delete_permission()
    service.delete_contact(contact, actor_id=current_actor().id)
    return "", 204


@api_bp.post("/contacts/bulk")
def bulk():
    data = load(BulkInput())
    if data["action"] == "delete":
        require_delete_permission()
        done = service.bulk_delete(data["ids"], actor_id=current_actor().id)
    else:
        if data.get("owner_id") is None:
            raise ValidationError({"owner_id": ["The new owner is required to re-assign."]})
        done = service.bulk_reassign(data["ids"], data["owner_id"], actor_id=current_actor().id)
    return jsonify(action=data["action"], count=done, ids=sorted(set(data["ids"])))


@api_bp.get("/contacts/<int:contact_id>/timeline")
def timeline(contact_id: int):
    service.get_contact(contact_id)
    limit, offset = page_params()
    entries, total = activities.timeline(contact_id, limit, offset)
    schema = TimelineEntry()
    return list_response([{k: v for k, v in schema.dump(e).items() if k in e} for e in entries], total)


@api_bp.post("/contacts/<int:contact_id>/notes")
def add_note(contact_id: int):
    contact = service.get_contact(contact_id)
    data = load(NoteInput())
    return jsonify(NoteOutput().dump(activities.add_note(contact, data["body"], actor_id=current_actor().id))), 201


@api_bp.post("/contacts/<int:contact_id>/activities")
def log_activity(contact_id: int):
    contact = service.get_contact(contact_id)
    data = load(ContactActivityInput())
    activity = activities.log_activity(contact, actor_id=current_actor().id, **data)
    return jsonify(activity_out.dump(activity)), 201


@api_bp.get("/contacts/<int:contact_id>/attachments")
def list_attachments(contact_id: int):
    service.get_contact(contact_id)
    rows = attachments.list_for(contact_id)
    return list_response([attachment_out.dump(a) for a in rows], len(rows))


@api_bp.post("/contacts/<int:contact_id>/attachments")
@body_limit("CRM_MAX_ATTACHMENT_BYTES", slack=MULTIPART_OVERHEAD)
def upload_attachment(contact_id: int):
    contact = service.get_contact(contact_id)
    upload = request.files.get("file")
    if upload is None:
        raise Invalid({"file": "Send the file as multipart form field 'file'."})
    attachment = attachments.upload(contact, upload.stream, upload.filename, actor_id=current_actor().id)
    return jsonify(attachment_out.dump(attachment)), 201


@api_bp.get("/contacts/<int:contact_id>/attachments/<int:attachment_id>")
def download_attachment(contact_id: int, attachment_id: int):
    return serve_attachment(attachments.get_attachment(contact_id, attachment_id))


@api_bp.delete("/contacts/<int:contact_id>/attachments/<int:attachment_id>")
def delete_attachment(contact_id: int, attachment_id: int):
    attachment = attachments.get_attachment(contact_id, attachment_id)
    require_delete_permission()
    attachments.delete(attachment)
    return "", 204


def serve_attachment(attachment):
    """Always a download (never rendered inline), with the display name safely encoded."""
    response = send_file(attachments.open_file(attachment), mimetype="application/octet-stream",
                         as_attachment=True, download_name=attachment.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
