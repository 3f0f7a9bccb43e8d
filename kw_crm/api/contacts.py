"""Contacts API: contacts, bulk actions, timeline, notes, logging activities, attachments."""
from flask import jsonify, request, send_file
from marshmallow import ValidationError

from ..errors import Invalid
from ..guard import current_actor, require_delete_permission
from ..inputs import MULTIPART_OVERHEAD, body_limit
from ..schemas.activities import ActivityOutput, ContactActivityInput
from ..schemas.contacts import (
    AttachmentOutput,
    BulkInput,
    BulkResult,
    ContactFilterArgs,
    ContactInput,
    ContactListArgs,
    ContactOutput,
    NoteInput,
    NoteOutput,
    TimelineEntry,
)
from ..services import activities, attachments
from ..services import contacts as service
from . import api_bp, doc, keyset, list_response, load, page_params, query_args

contact_out = ContactOutput()
activity_out = ActivityOutput()
attachment_out = AttachmentOutput()


def dump_contact(contact, deal_count: int | None = None) -> dict:
    data = contact_out.dump(contact)
    data["deal_count"] = deal_count if deal_count is not None else service.deal_counts([contact.id]).get(contact.id, 0)
    return data


def _filters() -> service.ContactFilters:
    return service.ContactFilters(**query_args(ContactFilterArgs()))


@api_bp.get("/contacts")
@doc("List contacts", query=ContactListArgs, response=ContactOutput, paged=True, headers={
    "X-Next-Cursor": "On a full page: pass it as `after` to read the next page by keyset."})
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
@doc("Create a contact", body=ContactInput, response=ContactOutput, status=201)
def create_contact():
    contact = service.create_contact(load(ContactInput()), actor_id=current_actor().id)
    return jsonify(dump_contact(contact, 0)), 201


@api_bp.get("/contacts/<int:contact_id>")
@doc("Get a contact", response=ContactOutput)
def get_contact(contact_id: int):
    return jsonify(dump_contact(service.get_contact(contact_id)))


@api_bp.patch("/contacts/<int:contact_id>")
@doc("Change a contact", body=ContactInput(partial=True), response=ContactOutput)
def update_contact(contact_id: int):
    contact = service.get_contact(contact_id)
    values = load(ContactInput(), partial=True)
    return jsonify(dump_contact(service.update_contact(contact, values, actor_id=current_actor().id)))


@api_bp.delete("/contacts/<int:contact_id>")
@doc("Delete a contact (needs crm.delete)", status=204)
def delete_contact(contact_id: int):
    contact = service.get_contact(contact_id)
    require_delete_permission()
    service.delete_contact(contact, actor_id=current_actor().id)
    return "", 204


@api_bp.post("/contacts/bulk")
@doc("Re-assign or delete several contacts", body=BulkInput, response=BulkResult)
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
@doc("The contact's timeline", response=TimelineEntry, paged=True)
def timeline(contact_id: int):
    service.get_contact(contact_id)
    limit, offset = page_params()
    entries, total = activities.timeline(contact_id, limit, offset)
    schema = TimelineEntry()
    return list_response([{k: v for k, v in schema.dump(e).items() if k in e} for e in entries], total)


@api_bp.post("/contacts/<int:contact_id>/notes")
@doc("Add a note", body=NoteInput, response=NoteOutput, status=201)
def add_note(contact_id: int):
    contact = service.get_contact(contact_id)
    data = load(NoteInput())
    return jsonify(NoteOutput().dump(activities.add_note(contact, data["body"], actor_id=current_actor().id))), 201


@api_bp.post("/contacts/<int:contact_id>/activities")
@doc("Log an activity", body=ContactActivityInput, response=ActivityOutput, status=201)
def log_activity(contact_id: int):
    contact = service.get_contact(contact_id)
    data = load(ContactActivityInput())
    activity = activities.log_activity(contact, actor_id=current_actor().id, **data)
    return jsonify(activity_out.dump(activity)), 201


@api_bp.get("/contacts/<int:contact_id>/attachments")
@doc("List a contact's attachments", response={"type": "array", "items": AttachmentOutput}, headers={"X-Total-Count": "Number of attachments."})
def list_attachments(contact_id: int):
    service.get_contact(contact_id)
    rows = attachments.list_for(contact_id)
    return list_response([attachment_out.dump(a) for a in rows], len(rows))


@api_bp.post("/contacts/<int:contact_id>/attachments")
@doc("Upload an attachment", files={"file": "The file."}, response=AttachmentOutput, status=201)
@body_limit("CRM_MAX_ATTACHMENT_BYTES", slack=MULTIPART_OVERHEAD)
def upload_attachment(contact_id: int):
    contact = service.get_contact(contact_id)
    upload = request.files.get("file")
    if upload is None:
        raise Invalid({"file": "Send the file as multipart form field 'file'."})
    attachment = attachments.upload(contact, upload.stream, upload.filename, actor_id=current_actor().id)
    return jsonify(attachment_out.dump(attachment)), 201


@api_bp.get("/contacts/<int:contact_id>/attachments/<int:attachment_id>")
@doc("Download an attachment", content_type="application/octet-stream")
def download_attachment(contact_id: int, attachment_id: int):
    return serve_attachment(attachments.get_attachment(contact_id, attachment_id))


@api_bp.delete("/contacts/<int:contact_id>/attachments/<int:attachment_id>")
@doc("Delete an attachment", status=204)
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
