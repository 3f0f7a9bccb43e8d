"""Contact pages: the CRM landing list, bulk actions, forms, detail (timeline, deals, host tabs,
notes, logging activities, attachments)."""
from flask import current_app, redirect, request, url_for

from .. import host
from ..db import session
from ..errors import CrmError, Invalid
from ..guard import current_actor, require_delete_permission
from ..inputs import MULTIPART_OVERHEAD, body_limit, parse_id
from ..models import CONTACT_STATUSES, CONTACT_TYPES
from ..services import activities, attachments
from ..services import contacts as service
from . import fail_back, render, web_bp
from .forms import TYPE_LABELS, ActivityForm, AttachmentForm, ConfirmForm, ContactForm, NoteForm
from .notices import notify
from .paging import paging


@web_bp.route("/")
def contacts():
    kind = request.args.get("type") if request.args.get("type") in CONTACT_TYPES else None
    status = request.args.get("status") if request.args.get("status") in CONTACT_STATUSES else None
    q = "".join(ch for ch in (request.args.get("q") or "") if ch >= " ").strip()[:200]
    paged = paging(current_app.config["CRM_PAGE_SIZE"], sizable=True)
    filters = service.ContactFilters(type=kind, status=status, q=q or None)
    rows, total = service.list_contacts(filters, paged.per_page, paged.offset)
    counts = service.type_counts(filters)
    deals = service.deal_counts([c.id for c in rows])
    return render("contacts/list.html", contacts=rows, total=total, type_counts=counts, deal_counts=deals,
                  type_labels=TYPE_LABELS, statuses=CONTACT_STATUSES, kind=kind, status=status, q=q,
                  page=paged.page, pages=paged.pages(total), per_page=paged.per_page,
                  owners=service.tenant_user_choices(),
                  form=ConfirmForm())


def _selected_ids() -> list[int]:
    ids = []
    for raw in request.form.getlist("ids"):
        value = parse_id(raw)
        if value is None:
            raise Invalid({"ids": "Contact ids are whole numbers."})
        ids.append(value)
    return ids


@web_bp.post("/contacts/bulk")
def contacts_bulk():
    form = ConfirmForm()
    action = request.form.get("action")
    back = url_for("crm.contacts")
    try:
        ids = _selected_ids()
        if action == "reassign":
            owner_id = parse_id(request.form.get("owner_id"))
            done = service.bulk_reassign(ids, owner_id, actor_id=current_actor().id)
            notify(f"Re-assigned {done} contact{'s' if done != 1 else ''}.")
        elif action == "delete":
            require_delete_permission()
            if request.form.get("confirm") != "yes":
                chosen = service.contacts_by_ids(ids)
                return render("contacts/confirm_delete.html", contacts=chosen, form=form)
            done = service.bulk_delete(ids, actor_id=current_actor().id)
            notify(f"Deleted {done} contact{'s' if done != 1 else ''}.")
        else:
            raise Invalid({"action": "Pick re-assign or delete."})
    except CrmError as error:
        if error.status == 403:
            raise
        return fail_back(error, back)
    return redirect(back)


def _contact_form(contact=None) -> ContactForm:
    form = ContactForm(obj=contact)
    users = service.tenant_user_choices()
    if contact is not None and contact.owner_id is not None and contact.owner_id not in {u.id for u in users}:
        # Keep a deactivated owner visible (and refused on save) rather than silently picking another.
        users += list(service.users_by_id([contact.owner_id]).values())
    form.fill_choices(session.scalars(host.tenant_customers().order_by(host.customer_model().name)),
                      users, service.vendor_user_choices())
    return form


def _save_contact(form: ContactForm, contact=None):
    if not form.validate_on_submit():
        return None
    try:
        if contact is None:
            return service.create_contact(form.values(), actor_id=current_actor().id)
        return service.update_contact(contact, form.values(), actor_id=current_actor().id)
    except Invalid as error:
        form.show_errors(error.fields)
    except CrmError as error:
        form.show_errors({"customer_id": [error.message]})
    return None


@web_bp.route("/contacts/new", methods=["GET", "POST"])
def contact_new():
    form = _contact_form()
    if request.method == "GET":
        form.owner_id.data = current_actor().id
        customer_id = parse_id(request.args.get("customer_id"))
        if customer_id is not None and host.tenant_customer(customer_id) is not None:
            form.customer_id.data = customer_id
    contact = _save_contact(form)
    if contact is not None:
        notify(f"Created {contact.full_name}.")
        return redirect(url_for("crm.contact_detail", contact_id=contact.id))
    return render("contacts/form.html", 422 if form.errors else 200, form=form, contact=None)


@web_bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def contact_edit(contact_id: int):
    contact = service.get_contact(contact_id)
    form = _contact_form(contact)
    if request.method == "GET" and contact.customer_id is not None:
        form.company.data = ""
    saved = _save_contact(form, contact)
    if saved is not None:
        notify(f"Saved {saved.full_name}.")
        return redirect(url_for("crm.contact_detail", contact_id=saved.id))
    return render("contacts/form.html", 422 if form.errors else 200, form=form, contact=contact)


@web_bp.post("/contacts/<int:contact_id>/delete")
def contact_delete(contact_id: int):
    contact = service.get_contact(contact_id)
    require_delete_permission()
    name = contact.full_name
    service.delete_contact(contact, actor_id=current_actor().id)
    notify(f"Deleted {name}.")
    return redirect(url_for("crm.contacts"))


@web_bp.route("/contacts/<int:contact_id>")
def contact_detail(contact_id: int, note_form=None, activity_form=None, attachment_form=None, status=200):
    contact = service.get_contact(contact_id)
    entries, timeline_total = activities.timeline(contact.id, limit=200)
    deals = service.contact_deals(contact.id)
    people = service.users_by_id([contact.owner_id, contact.vendor_user_id]
                                 + [e.get("owner_id") or e.get("author_id") for e in entries]
                                 + [d.owner_id for d in deals])
    vendor_user = people.get(contact.vendor_user_id)
    customer = host.tenant_customer(contact.customer_id) if contact.customer_id else None
    return render("contacts/detail.html", status, contact=contact, entries=entries, timeline_total=timeline_total,
                  people=people, customer=customer, deals=deals,
                  host_tabs=host.contact_tabs(contact), attachments=attachments.list_for(contact.id),
                  vendor_user=vendor_user, vendor_url=host.user_admin_url(vendor_user) if vendor_user else None,
                  type_labels=TYPE_LABELS, note_form=note_form or NoteForm(),
                  activity_form=activity_form or ActivityForm(), attachment_form=attachment_form or AttachmentForm(),
                  confirm_form=ConfirmForm())


def _detail_with_errors(contact_id: int, **forms):
    return contact_detail(contact_id, status=422, **forms)


@web_bp.post("/contacts/<int:contact_id>/notes")
def contact_add_note(contact_id: int):
    contact = service.get_contact(contact_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            activities.add_note(contact, form.body.data, actor_id=current_actor().id)
            notify("Note added.")
            return redirect(url_for("crm.contact_detail", contact_id=contact.id))
        except CrmError as error:
            form.body.errors = list(form.body.errors) + [error.message if not error.fields else
                                                         "; ".join(sum(error.fields.values(), []))]
    return _detail_with_errors(contact_id, note_form=form)


@web_bp.post("/contacts/<int:contact_id>/activities")
def contact_log_activity(contact_id: int):
    contact = service.get_contact(contact_id)
    form = ActivityForm()
    if form.validate_on_submit():
        try:
            activities.log_activity(contact, type=form.type.data, subject=form.subject.data,
                                    due_date=form.due_date.data, actor_id=current_actor().id)
            notify("Activity logged.")
            return redirect(url_for("crm.contact_detail", contact_id=contact.id))
        except CrmError as error:
            form.subject.errors = list(form.subject.errors) + [error.message if not error.fields else
                                                               "; ".join(sum(error.fields.values(), []))]
    return _detail_with_errors(contact_id, activity_form=form)


@web_bp.post("/contacts/<int:contact_id>/attachments")
@body_limit("CRM_MAX_ATTACHMENT_BYTES", slack=MULTIPART_OVERHEAD)
def contact_upload(contact_id: int):
    contact = service.get_contact(contact_id)
    form = AttachmentForm()
    if form.validate_on_submit():
        try:
            attachments.upload(contact, form.file.data.stream, form.file.data.filename, actor_id=current_actor().id)
            notify("File uploaded.")
            return redirect(url_for("crm.contact_detail", contact_id=contact.id))
        except CrmError as error:
            form.file.errors = list(form.file.errors) + [error.message if error.status == 413 else
                                                         "; ".join(sum((error.fields or {}).values(), []))
                                                         or error.message]
            return contact_detail(contact_id, attachment_form=form, status=error.status)
    return _detail_with_errors(contact_id, attachment_form=form)


@web_bp.get("/contacts/<int:contact_id>/attachments/<int:attachment_id>")
def contact_download(contact_id: int, attachment_id: int):
    from ..api.contacts import serve_attachment

    return serve_attachment(attachments.get_attachment(contact_id, attachment_id))


@web_bp.post("/contacts/<int:contact_id>/attachments/<int:attachment_id>/delete")
def contact_delete_attachment(contact_id: int, attachment_id: int):
    attachment = attachments.get_attachment(contact_id, attachment_id)
    require_delete_permission()
    name = attachment.filename
    attachments.delete(attachment)
    notify(f"Deleted {name}.")
    return redirect(url_for("crm.contact_detail", contact_id=contact_id))
