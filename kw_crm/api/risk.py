"""Risk & Health (JSON): duplicate candidates and contact merge."""
from flask import jsonify

from ..guard import current_actor, require_delete_permission
from ..services import contact_merge, duplicates
from ..services import contacts as contact_service
from . import api_bp, json_body
from .contacts import dump_contact


@api_bp.get("/customers/duplicates")
def customer_duplicates():
    """Groups of likely duplicate customers with the reason (for review: their record is the host's)."""
    return jsonify(duplicates.customer_groups())


@api_bp.get("/contacts/duplicates")
def contact_duplicates():
    return jsonify(duplicates.contact_groups())


@api_bp.post("/contacts/<int:contact_id>/merge")
def contact_merge_into(contact_id):
    """Merge this contact into ``into_id`` (deletes this one: needs ``crm.delete``)."""
    contact_service.get_contact(contact_id)  # 404 before 403, like every other id route
    require_delete_permission()
    return jsonify(dump_contact(contact_merge.merge(contact_id, json_body(), actor_id=current_actor().id)))
