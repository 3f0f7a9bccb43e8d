"""Files on a contact: stored under generated keys through the storage backend, listed and
served with the client's name kept for display only."""
import mimetypes
import unicodedata

from flask import current_app
from sqlalchemy import select

from ..db import commit, is_valid_id, session
from ..errors import Invalid, NotFound, TooLarge
from ..inputs import strip_unsafe
from ..models import Attachment, Contact
from .storage import TooBig, get_storage, new_key


def display_name(raw: str | None) -> str:
    """The client's file name reduced to a safe label: no directories, no control or
    bidirectional override characters (``invoice\u202egpj.exe`` would display as ``invoiceexe.jpg``)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = strip_unsafe(name).strip().lstrip(".") or "file"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 20 else name[:200]
    return name


def max_bytes() -> int:
    return int(current_app.config["CRM_MAX_ATTACHMENT_BYTES"])


def upload(contact: Contact, stream, filename: str | None, *, actor_id: int | None) -> Attachment:
    """Store ``stream`` for ``contact``; empty files are refused (422), oversize ones 413."""
    if stream is None:
        raise Invalid({"file": "Choose a file to upload."})
    limit = max_bytes()
    storage = get_storage()
    key = new_key()
    try:
        size = storage.save(key, stream, limit)
    except TooBig as exc:
        raise TooLarge(f"Attachments are limited to {limit:,} bytes.", {"file": ["The file is too large."]}) from exc
    if size == 0:
        storage.delete(key)
        raise Invalid({"file": "The file is empty."})
    name = display_name(filename)
    attachment = Attachment(contact_id=contact.id, filename=name, storage_key=key, size_bytes=size,
                            content_type=(mimetypes.guess_type(name)[0] or "application/octet-stream")[:100],
                            uploaded_by_id=actor_id)
    try:
        session.add(attachment)
        commit()
    except Exception:
        session.rollback()
        storage.delete(key)
        raise
    return attachment


def list_for(contact_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.contact_id == contact_id)
                                .order_by(Attachment.created_at.desc(), Attachment.id.desc())))


def get_attachment(contact_id: int, attachment_id: int) -> Attachment:
    if not (is_valid_id(contact_id) and is_valid_id(attachment_id)):
        raise NotFound("No such attachment.")
    attachment = session.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                         Attachment.contact_id == contact_id))
    if attachment is None:
        raise NotFound("No such attachment.")
    return attachment


def open_file(attachment: Attachment):
    try:
        return get_storage().open(attachment.storage_key)
    except FileNotFoundError as exc:
        raise NotFound("The file of this attachment is missing from storage.") from exc


def delete(attachment: Attachment) -> None:
    key = attachment.storage_key
    session.delete(attachment)
    commit()
    get_storage().delete(key)
