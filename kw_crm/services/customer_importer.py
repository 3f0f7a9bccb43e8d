"""Bulk CSV import of customers (companies): the same file handling as the contact import
(encodings, delimiters, header aliases, preview, skipped-rows report, all or nothing), with the
rules of a customer record.

Columns: **name** (required), lifecycle stage, lead source, billing email, owner email. A row
whose name matches a customer of the tenant (ignoring case) updates that customer's CRM data;
any other row creates the company through the host (``crm_create_customer``) with its CRM
profile. Empty cells never erase stored values; a name repeated in the file is applied in file
order (the last value wins, later rows count as updated). Rows that break a rule are skipped
with their reason: an unknown lifecycle stage, a malformed billing email, an owner email that
is not an active user of the tenant, or an archived customer (archived records accept no
changes). Each created or changed customer gets an audit entry; lifecycle changes go through the
audited transition and signal every other path uses.

Customers are written row by row because the host creates its company records itself; lookups
are per batch (one query for the batch's names, one for its owner emails)."""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .. import db, host
from ..models import LIFECYCLE_STAGES, CustomerProfile
from ..tenancy import require_tenant_id
from . import audit, lifecycle
from .importer import (
    MAX_REPORTED_ERRORS,
    PREVIEW_ROWS,
    ImportFailed,
    ImportResult,
    _compact,
    _SkipLog,
    match_columns,
    open_csv,
)

BATCH_SIZE = 500
FIELDS = ("name", "lifecycle_stage", "lead_source", "billing_email", "owner_email")
REQUIRED = ("name",)
COLUMN_LABELS = {"name": "name", "lifecycle_stage": "lifecyclestage", "lead_source": "leadsource",
                 "billing_email": "billingemail", "owner_email": "owneremail"}
ALIASES = {
    "name": ("name", "customer", "customername", "company", "companyname", "account", "accountname",
             "organisation", "organization"),
    "lifecycle_stage": ("lifecyclestage", "lifecycle", "stage"),
    "lead_source": ("leadsource", "source", "leadorigin"),
    "billing_email": ("billingemail", "email", "invoiceemail", "billingaddress"),
    "owner_email": ("owneremail", "owner", "accountowner", "accountowneremail"),
}
MAX_LENGTHS = {"name": 200, "lifecycle_stage": 20, "lead_source": 100, "billing_email": 255, "owner_email": 255}
_ALIAS_INDEX = {_compact(alias): name for name, aliases in ALIASES.items() for alias in aliases}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LABELS = {"name": "name", "lifecycle_stage": "lifecycle stage", "lead_source": "lead source",
           "billing_email": "billing email", "owner_email": "owner email"}


def map_headers(header: list[str]) -> tuple[list[dict], dict[str, int]]:
    return match_columns(header, _ALIAS_INDEX, REQUIRED, COLUMN_LABELS)


def clean_row(cells: list[str], index: dict[str, int]) -> tuple[dict | None, str | None]:
    """``(values, None)`` or ``(None, reason)``; only non-empty cells are in ``values``."""
    values = {}
    for name, position in index.items():
        value = cells[position].strip() if position < len(cells) else ""
        if value:
            if len(value) > MAX_LENGTHS[name]:
                return None, f"The {_LABELS[name]} is longer than {MAX_LENGTHS[name]} characters."
            values[name] = value
    if "name" not in values:
        return None, "Missing name."
    if "lifecycle_stage" in values:
        stage = values["lifecycle_stage"].lower()
        if stage not in LIFECYCLE_STAGES:
            return None, (f"Unknown lifecycle stage {values['lifecycle_stage']!r} "
                          f"(use one of: {', '.join(LIFECYCLE_STAGES)}).")
        values["lifecycle_stage"] = stage
    for name in ("billing_email", "owner_email"):
        if name in values and not _EMAIL.match(values[name]):
            return None, f"Invalid {_LABELS[name]}: {values[name]}."
    return values, None


def preview(binary, limit: int = PREVIEW_ROWS) -> dict:
    source = open_csv(binary)
    columns, index = map_headers(source.header)
    rows = []
    for row_number, cells in source.records:
        values, reason = clean_row(cells, index)
        shown = values if values is not None else {
            name: cells[i].strip() for name, i in index.items() if i < len(cells)}
        rows.append({"row": row_number, **{name: shown.get(name) or None for name in FIELDS}, "skip_reason": reason})
        if len(rows) >= limit:
            break
    return {"columns": columns, "ignored": [c["header"] for c in columns if c["field"] is None],
            "delimiter": source.delimiter, "rows": rows}


def import_customers(binary, *, actor_id: int | None = None, batch_size: int = BATCH_SIZE, progress=None,
                     before_commit=None) -> ImportResult:
    """Import the CSV in ``binary`` into the bound tenant in one transaction and commit.
    ``progress(rows_read, result)`` after each batch; ``before_commit(result)`` inside the
    transaction, just before it commits (an import job records its outcome there)."""
    tenant_id = require_tenant_id()
    source = open_csv(binary)
    columns, index = map_headers(source.header)
    result = ImportResult(tenant_id=tenant_id, ignored_columns=[c["header"] for c in columns if c["field"] is None])
    skips = _SkipLog(source.header)
    writer = _CustomerWriter(actor_id)
    batch: list[tuple[int, dict, list[str]]] = []
    last_row = 1

    def skip(row_number: int, reason: str, cells: list[str]) -> None:
        result.skipped += 1
        skips.add(row_number, reason, cells)
        if len(result.errors) < MAX_REPORTED_ERRORS:
            result.errors.append({"row": row_number, "message": reason})
        else:
            result.errors_truncated = True

    try:
        for row_number, cells in source.records:
            last_row = row_number
            values, reason = clean_row(cells, index)
            if values is None:
                skip(row_number, reason, cells)
                continue
            batch.append((row_number, values, cells))
            if len(batch) >= batch_size:
                writer.write(batch, result, skip)
                batch = []
                if progress:
                    progress(row_number, result)
        if batch:
            writer.write(batch, result, skip)
        if progress:
            progress(last_row, result)
        result.skipped_csv = skips.close()
        if before_commit:
            before_commit(result)
        db.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        raise ImportFailed(f"The import stopped near row {last_row} and nothing was imported: {detail}") from exc
    except BaseException:
        db.session.rollback()
        raise
    return result


class _CustomerWriter:
    """Per batch: one query for the customers (and profiles) named in it, one for its owners."""

    def __init__(self, actor_id: int | None):
        self.actor_id = actor_id
        self.seen: set[str] = set()  # lower-cased names already applied from this file

    def write(self, batch, result: ImportResult, skip) -> None:
        Customer = host.customer_model()
        names = {values["name"].lower() for _row, values, _cells in batch}
        found = db.session.execute(
            host.tenant_customers().with_only_columns(Customer.id, Customer.name)
            .where(func.lower(Customer.name).in_(names))).all()
        customers = {name.lower(): customer_id for customer_id, name in found}
        profiles = {p.customer_id: p for p in db.session.scalars(
            select(CustomerProfile).where(CustomerProfile.customer_id.in_(customers.values())))} if customers else {}
        owner_emails = {values["owner_email"].lower() for _row, values, _cells in batch if "owner_email" in values}
        owners = {}
        if owner_emails:
            User = host.user_model()
            owners = {email.lower(): user_id for user_id, email in db.session.execute(
                host.tenant_users().with_only_columns(User.id, User.email)
                .where(func.lower(User.email).in_(owner_emails), User.active.is_(True)))}
        for row_number, values, cells in batch:
            fields = {k: values[k] for k in ("lifecycle_stage", "lead_source", "billing_email") if k in values}
            if "owner_email" in values:
                owner_id = owners.get(values["owner_email"].lower())
                if owner_id is None:
                    skip(row_number, f"No active user with the email {values['owner_email']} in your organisation.",
                         cells)
                    continue
                fields["owner_id"] = owner_id
            key = values["name"].lower()
            customer_id = customers.get(key)
            if customer_id is None:
                customer = host.create_customer(values["name"], email=fields.get("billing_email"))
                customers[key] = customer.id
                profile = CustomerProfile(customer_id=customer.id, lifecycle_stage=fields.get("lifecycle_stage", "prospect"),
                                          lead_source=fields.get("lead_source"), billing_email=fields.get("billing_email"),
                                          owner_id=fields.get("owner_id", self.actor_id))
                db.session.add(profile)
                profiles[customer.id] = profile
                audit.record("customer", customer.id, "imported", actor_id=self.actor_id,
                             changes={k: [None, v] for k, v in fields.items()})
                result.created += 1
                self.seen.add(key)
                continue
            profile = profiles.get(customer_id)
            if profile is not None and profile.archived_at is not None:
                skip(row_number, f"The customer {values['name']} is archived and accepts no changes.", cells)
                continue
            if profile is None:
                profile = lifecycle.get_or_create_profile(customer_id, owner_id=self.actor_id)
                profiles[customer_id] = profile
            new_stage = fields.pop("lifecycle_stage", None)
            changes = {k: [getattr(profile, k), v] for k, v in fields.items() if getattr(profile, k) != v}
            for name, (_old, new) in changes.items():
                setattr(profile, name, new)
            if changes:
                audit.record("customer", customer_id, "updated", actor_id=self.actor_id, changes=changes,
                             reason="CSV import")
            if new_stage is not None:
                lifecycle.change_stage(profile, new_stage, actor_id=self.actor_id, reason="CSV import")
            result.updated += 1
            if key in self.seen:
                result.duplicates += 1
            self.seen.add(key)
        db.session.flush()
