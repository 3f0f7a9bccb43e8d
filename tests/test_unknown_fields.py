"""Unknown fields in a JSON body are a 422 on every CRM endpoint: a property of the shared input
base (``StrictSchema``), checked here for every input schema and on the endpoints that used to
drop them."""
import inspect

from marshmallow import RAISE, Schema

from kw_crm.api.openapi import DOC_ATTRIBUTE
from kw_crm.schemas.base import StrictSchema
from tests.support.comms import customer


def input_schemas(app):
    """The schema of every JSON body an API route declares (``@doc(body=...)``): the same
    schemas that validate the requests."""
    found = set()
    for view in app.view_functions.values():
        for operation in getattr(view, DOC_ATTRIBUTE, {}).values():
            body = operation.body
            if isinstance(body, Schema):
                body = type(body)
            if inspect.isclass(body) and issubclass(body, Schema):
                found.add(body)
    return sorted(found, key=lambda schema: schema.__name__)


def test_every_input_schema_is_strict(app):
    schemas = input_schemas(app)
    assert len(schemas) > 10
    for schema in schemas:
        assert issubclass(schema, StrictSchema) and schema().unknown == RAISE, schema.__name__


def test_endpoints_that_dropped_unknown_fields_now_refuse_them(admin_client):
    cid = customer(admin_client)
    for url, body in (("/api/crm/customers", {"name": "Unknown Field Co", "colour": "red"}),
                      (f"/api/crm/customers/{cid}", {"lead_source": "web", "colour": "red"}),
                      (f"/api/crm/customers/{cid}/communications", {"subject": "s", "colour": "red"}),
                      (f"/api/crm/customers/{cid}/archive", {"reason": "r", "colour": "red"})):
        method = "PATCH" if url.endswith(str(cid)) else "POST"
        response = admin_client.open(url, method=method, json=body)
        assert response.status_code == 422, (url, response.get_json())
        assert response.get_json()["error"]["fields"]["colour"] == ["Unknown field."]
    assert admin_client.get(f"/api/crm/customers/{cid}").get_json()["lead_source"] is None


def test_stage_list_wrapper_refuses_unknown_fields(admin_client):
    stages = admin_client.get("/api/crm/stages").get_json()
    response = admin_client.put("/api/crm/stages", json={"stages": stages, "colour": "red"})
    assert response.status_code == 422 and response.get_json()["error"]["fields"]["colour"] == ["Unknown field."]
    assert admin_client.put("/api/crm/stages", json={"stages": stages}).status_code == 200
