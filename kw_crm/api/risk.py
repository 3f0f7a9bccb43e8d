"""Risk & Health (JSON): duplicate candidates and contact merge."""
from flask import jsonify

from ..guard import current_actor, require_delete_permission
from ..schemas.communications import ContactDuplicatesOut, CustomerDuplicatesOut, MergeInput
from ..schemas.contacts import ContactOutput
from ..services import contact_merge, duplicates
from ..services import contacts as contact_service
from . import api_bp, doc, json_body
from .contacts import dump_contact


@api_bp.get("/customers/duplicates")
@doc("Likely duplicate customers", response={"type": "array", "items": CustomerDuplicatesOut},
     tag="Risk & Health")
def customer_duplicates():
    """Groups of likely duplicate customers with the reason (for review: their record is the host's)."""
    return jsonify(CustomerDuplicatesOut(many=True).dump(duplicates.customer_groups()))


@api_bp.get("/contacts/duplicates")
@doc("Likely duplicate contacts", response={"type": "array", "items": ContactDuplicatesOut},
     tag="Risk & Health")
def contact_duplicates():
    return jsonify(ContactDuplicatesOut(many=True).dump(duplicates.contact_groups()))


@api_bp.post("/contacts/<int:contact_id>/merge")
@doc("Merge a contact into another (needs crm.delete)", body=MergeInput, response=ContactOutput, tag="Risk & Health")
def contact_merge_into(contact_id):
    """Merge this contact into ``into_id`` (deletes this one: needs ``crm.delete``)."""
    contact_service.get_contact(contact_id)  # 404 before 403, like every other id route
    require_delete_permission()
    return jsonify(dump_contact(contact_merge.merge(contact_id, json_body(), actor_id=current_actor().id)))
