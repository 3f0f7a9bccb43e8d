"""Signals other plugins subscribe to. Each is sent after the change is committed (the sender
is the committed record, or the import result); a receiver that raises is logged and isolated.

    from kw_crm import signals

    @signals.deal_won.connect
    def on_won(deal, **extra): ...
"""
import logging

from blinker import Namespace
from sqlalchemy import event
from sqlalchemy.orm import Session

crm_signals = Namespace()

contact_created = crm_signals.signal("contact-created")
contact_updated = crm_signals.signal("contact-updated")
contact_deleted = crm_signals.signal("contact-deleted")
contacts_imported = crm_signals.signal("contacts-imported")
deal_created = crm_signals.signal("deal-created")
deal_updated = crm_signals.signal("deal-updated")
deal_stage_changed = crm_signals.signal("deal-stage-changed")  # old_stage=, new_stage=
deal_won = crm_signals.signal("deal-won")
deal_lost = crm_signals.signal("deal-lost")
deal_archived = crm_signals.signal("deal-archived")
customer_lifecycle_changed = crm_signals.signal("customer-lifecycle-changed")  # old_stage=, new_stage=
# a deal was converted: the customer's contract for a product changed (subscription=, contract_snapshot=)
product_contract_changed = crm_signals.signal("product-contract-changed")
# a communication was logged by hand on a customer (sender: the communication)
communication_logged = crm_signals.signal("communication-logged")
# a captured message was stored (status="linked"|"review", review_id=) or a waiting one was linked
# by operator review (status="linked", review_id=); sender: the communication. Repeats send nothing.
communication_captured = crm_signals.signal("communication-captured")

log = logging.getLogger("kw_crm.signals")
_PENDING = "kw_crm_pending_signals"
_COMMITTED = "kw_crm_committed_signals"


_recorders: list = []


def record_in_transaction(recorder) -> None:
    """Have ``recorder(session, signal, sender, kwargs)`` called for every signal as it is
    queued, inside the transaction that causes it (the webhooks write their deliveries so).
    Registered once per process; it must only add rows to ``session``, never commit."""
    if recorder not in _recorders:
        _recorders.append(recorder)


def send_after_commit(session: Session, signal, sender, **kwargs) -> None:
    """Queue ``signal`` on the session; it goes out once the transaction commits (through
    :func:`kw_crm.db.commit` or at the end of the request) and is dropped on rollback."""
    session.info.setdefault(_PENDING, []).append((signal, sender, kwargs))
    for recorder in _recorders:
        recorder(session, signal, sender, kwargs)


def event_name(signal) -> str:
    """The public name of a signal (webhook events): ``deal-won`` -> ``deal_won``."""
    return signal.name.replace("-", "_")


def event_names() -> list[str]:
    """Every signal of the namespace, including ones other modules add later."""
    return sorted(event_name(signal) for signal in crm_signals.values())


def send_committed(session: Session) -> None:
    """Send the signals of transactions that have committed. Runs outside the transaction so
    receivers can read (and lazy-load) the stored records."""
    ready = session.info.pop(_COMMITTED, [])
    for signal, sender, kwargs in ready:
        for receiver in signal.receivers_for(sender):
            try:
                receiver(sender, **kwargs)
            except Exception:  # noqa: BLE001 - a receiver must never undo or break the change
                log.exception("receiver %r of signal %s failed", receiver, signal.name)


def _mark_committed(session: Session) -> None:
    session.info.setdefault(_COMMITTED, []).extend(session.info.pop(_PENDING, []))


def _drop_pending(session: Session, _previous_transaction=None) -> None:
    session.info.pop(_PENDING, None)


def _send_committed_of_shared_session() -> None:
    from .db import session

    send_committed(session)


def install() -> None:
    from .db import on_commit

    on_commit(_send_committed_of_shared_session)
    if not event.contains(Session, "after_commit", _mark_committed):
        event.listen(Session, "after_commit", _mark_committed)
        event.listen(Session, "after_soft_rollback", _drop_pending)
